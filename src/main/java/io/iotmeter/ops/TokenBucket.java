package io.iotmeter.ops;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A rate limit of {@code perSecond} messages with a burst of one second's worth, kept as the
 * single "theoretical arrival time" of the generic cell rate algorithm. One compare-and-set and
 * no lock: the bus interceptor calls it from every event loop at once and must never wait.
 */
public final class TokenBucket {

  private static final long SECOND_NANOS = 1_000_000_000L;

  private final long intervalNanos;
  private final long burstNanos;
  private final AtomicLong theoreticalArrival;

  public TokenBucket(int perSecond, long nowNanos) {
    if (perSecond < 1) {
      throw new IllegalArgumentException("rate must be at least 1 per second");
    }
    this.intervalNanos = SECOND_NANOS / perSecond;
    this.burstNanos = intervalNanos * perSecond;
    this.theoreticalArrival = new AtomicLong(nowNanos);
  }

  /** Takes one token if there is one. */
  public boolean tryTake(long nowNanos) {
    while (true) {
      long arrival = theoreticalArrival.get();
      long next = (arrival - nowNanos > 0 ? arrival : nowNanos) + intervalNanos;
      if (next - nowNanos > burstNanos) {
        return false;
      }
      if (theoreticalArrival.compareAndSet(arrival, next)) {
        return true;
      }
    }
  }
}
