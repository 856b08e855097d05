package io.iotmeter.security;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The slow-down of guessing: free attempts, then doubling delays up to a cap, per address. */
class FailedLoginsTest {

  @Test
  void afterTheFreeAttemptsEachFailureWaitsTwiceAsLongUpToTenSeconds() {
    FailedLogins logins = new FailedLogins();
    List<Duration> delays = new ArrayList<>();
    for (int i = 0; i < FailedLogins.FREE + 8; i++) {
      delays.add(logins.failed("10.0.0.1"));
    }
    assertThat(delays.subList(0, FailedLogins.FREE)).containsOnly(Duration.ZERO);
    assertThat(delays.subList(FailedLogins.FREE, FailedLogins.FREE + 8)).containsExactly(Duration.ofMillis(250),
        Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(4), Duration.ofSeconds(8),
        Duration.ofSeconds(10), Duration.ofSeconds(10));
  }

  @Test
  void addressesAreCountedApartAndASuccessClearsOne() {
    FailedLogins logins = new FailedLogins();
    for (int i = 0; i < FailedLogins.FREE; i++) {
      logins.failed("10.0.0.1");
    }
    assertThat(logins.failed("10.0.0.2")).as("another address").isZero();
    assertThat(logins.failed("10.0.0.1")).isPositive();
    logins.succeeded("10.0.0.1");
    assertThat(logins.failed("10.0.0.1")).isZero();
  }
}
