package io.iotmeter.security;

import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Slows down guessing: after {@link #FREE} failed authentications from one address within a
 * minute, each further failure is answered only after a delay that doubles (250 ms, 500 ms, …)
 * up to 10 s. A success from the address clears it. Bounded in size; event-loop confined.
 */
public final class FailedLogins {

  static final int FREE = 5;
  private static final Duration WINDOW = Duration.ofMinutes(1);
  private static final Duration FIRST_DELAY = Duration.ofMillis(250);
  private static final Duration MAX_DELAY = Duration.ofSeconds(10);
  private static final int MAX_ADDRESSES = 10_000;

  private record Failures(int count, long since) {
  }

  private final Map<String, Failures> byAddress = new LinkedHashMap<>();

  /** Records a failure from {@code address}; returns how long to wait before answering it. */
  public Duration failed(String address) {
    long now = System.nanoTime();
    Failures previous = byAddress.remove(address);
    Failures now1 = previous == null || now - previous.since() > WINDOW.toNanos()
        ? new Failures(1, now) : new Failures(previous.count() + 1, previous.since());
    if (byAddress.size() >= MAX_ADDRESSES) {
      Iterator<String> oldest = byAddress.keySet().iterator();
      oldest.next();
      oldest.remove();
    }
    byAddress.put(address, now1);
    int over = now1.count() - FREE;
    if (over <= 0) {
      return Duration.ZERO;
    }
    long millis = FIRST_DELAY.toMillis() << Math.min(over - 1, 10);
    return Duration.ofMillis(Math.min(millis, MAX_DELAY.toMillis()));
  }

  public void succeeded(String address) {
    byAddress.remove(address);
  }
}
