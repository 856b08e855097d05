package io.iotmeter.support;

import java.time.Duration;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Polls a probe until its value satisfies a condition or a deadline passes — for stores that
 * apply writes asynchronously (QuestDB's write-ahead log), where a fixed sleep is either too
 * short on a busy machine or wastes time on an idle one.
 */
public final class Eventually {

  private static final Duration INTERVAL = Duration.ofMillis(50);

  private Eventually() {
  }

  /**
   * The first value that satisfies {@code done}, or the last one seen when {@code timeout}
   * passes: assert on the result, so a timeout fails with the actual value in the message.
   */
  public static <T> T value(Duration timeout, Supplier<T> probe, Predicate<? super T> done) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      T value = probe.get();
      if (done.test(value) || System.nanoTime() - deadline > 0) {
        return value;
      }
      try {
        Thread.sleep(INTERVAL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return value;
      }
    }
  }
}
