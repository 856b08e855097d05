package io.iotmeter.ops;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential back-off between retries of something that is down (a store, a broker): the
 * delay doubles from {@code min} up to {@code max}, with ±25 % jitter so that many retrying
 * parties do not hit a recovering server at the same instant. Not thread-safe: one per caller,
 * used on its event loop.
 */
public final class Backoff {

  private final Duration min;
  private final Duration max;
  private Duration current = Duration.ZERO;

  public Backoff(Duration min, Duration max) {
    this.min = min;
    this.max = max;
  }

  /** The delay before the next attempt. */
  public Duration next() {
    current = current.isZero() ? min : current.multipliedBy(2).compareTo(max) > 0 ? max : current.multipliedBy(2);
    long jittered = (long) (current.toMillis() * (0.75 + 0.5 * ThreadLocalRandom.current().nextDouble()));
    return Duration.ofMillis(Math.max(1, jittered));
  }

  /** After a success: the next failure starts again at {@code min}. */
  public void reset() {
    current = Duration.ZERO;
  }
}
