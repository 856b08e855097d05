package io.iotmeter.support;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link Eventually#settled}: what an absence check counts is the value once it stopped
 * changing, never the first sample that reached a lower bound. Values change on a fake schedule
 * of probes (50 ms apart), so each test takes a few hundred milliseconds.
 */
class EventuallyTest {

  /** Returns {@code values[i]} on the i-th probe, and the last value from then on. */
  private static Supplier<Integer> probes(int... values) {
    AtomicInteger calls = new AtomicInteger();
    return () -> values[Math.min(calls.getAndIncrement(), values.length - 1)];
  }

  @Test
  void aLateCopyAfterTheValueWasFirstReadyIsCounted() {
    // Ready (>= 1) from the first probe, and a second copy arrives on the third.
    Integer value = Eventually.settled(Duration.ofSeconds(5), Duration.ofMillis(300), probes(1, 1, 2), n -> n >= 1);
    assertThat(value).isEqualTo(2);
  }

  @Test
  void itReturnsOnlyAfterTheValueStayedTheSameForTheSettleInterval() {
    long start = System.nanoTime();
    Integer value = Eventually.settled(Duration.ofSeconds(5), Duration.ofMillis(300), probes(0, 0, 3), n -> n >= 3);
    assertThat(value).isEqualTo(3);
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
  }

  @Test
  void aValueThatNeverSettlesIsReturnedAsLastSeenWhenTheTimeoutPasses() {
    AtomicInteger counter = new AtomicInteger();
    Integer value = Eventually.settled(Duration.ofMillis(400), Duration.ofSeconds(10), counter::incrementAndGet, n -> n >= 1);
    assertThat(value).as("the last value seen, to fail the caller's assertion with").isEqualTo(counter.get()).isGreaterThan(2);
  }

  @Test
  void aValueNeverReadyIsWaitedForUntilTheTimeoutAndReturnedAsLastSeen() {
    long start = System.nanoTime();
    assertThat(Eventually.settled(Duration.ofMillis(200), Duration.ofMillis(50), () -> 4, n -> n >= 5)).isEqualTo(4);
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(200));
  }
}
