package io.iotmeter.support;

import java.time.Duration;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Waits for effects that land asynchronously (a sink writing after the MQTT acknowledgement,
 * QuestDB's write-ahead log), polling instead of sleeping a fixed time that is either too short
 * on a busy machine or wasted on an idle one.
 */
public final class Eventually {

  private static final Duration INTERVAL = Duration.ofMillis(50);

  private Eventually() {
  }

  /** Retries {@code assertion} until it holds; after {@code timeout} its last failure is thrown. */
  public static void within(Duration timeout, Runnable assertion) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      try {
        assertion.run();
        return;
      } catch (AssertionError e) {
        if (System.nanoTime() - deadline > 0 || !pause()) {
          throw e;
        }
      }
    }
  }

  /**
   * The first value that satisfies {@code done}, or the last one seen when {@code timeout}
   * passes: assert on the result, so a timeout fails with the actual value in the message.
   */
  public static <T> T value(Duration timeout, Supplier<T> probe, Predicate<? super T> done) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      T value = probe.get();
      if (done.test(value) || System.nanoTime() - deadline > 0 || !pause()) {
        return value;
      }
    }
  }

  /**
   * For absence checks ("nothing else arrived", "stored once"): the first value that satisfies
   * {@code ready} and then stays the same (by {@code equals}) for {@code settle} — so a late
   * copy arriving within that interval is seen before the caller counts exactly. Any change
   * restarts the interval. When {@code timeout} passes, the last value seen: assert on the
   * result, so a failure shows the actual value.
   *
   * <p>Choose {@code settle} longer than whatever could still deliver a copy (a sink's linger
   * plus its recovery interval, a scan interval, a broker's redelivery).
   */
  public static <T> T settled(Duration timeout, Duration settle, Supplier<T> probe, Predicate<? super T> ready) {
    long deadline = System.nanoTime() + timeout.toNanos();
    T last = probe.get();
    long stableSince = System.nanoTime();
    while (true) {
      if (!ready.test(last)) {
        stableSince = System.nanoTime();
      } else if (System.nanoTime() - stableSince >= settle.toNanos()) {
        return last;
      }
      if (System.nanoTime() - deadline > 0 || !pause()) {
        return last;
      }
      T value = probe.get();
      if (!java.util.Objects.equals(value, last)) {
        stableSince = System.nanoTime();
      }
      last = value;
    }
  }

  private static boolean pause() {
    try {
      Thread.sleep(INTERVAL.toMillis());
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
