package io.iotmeter.support;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** What {@link SettledStores} derives from a configuration and a ledger, without any store. */
class SettledStoresTest {

  private static JsonObject sink(long lingerMs, long recoveryMs) {
    return new JsonObject().put("linger_ms", lingerMs).put("recovery_interval_ms", recoveryMs);
  }

  @Test
  void theSettleIntervalOutlastsEverySinksLingerAndRecoveryInterval() {
    JsonObject config = new JsonObject().put("sinks", new JsonObject().put("archive", sink(100, 500))
        .put("timeseries", sink(300, 500)).put("registry", sink(50, 2000)));
    // The registry's 2,050 ms is the longest; the rest is the margin for the write itself.
    assertThat(SettledStores.interval(config)).isEqualTo(Duration.ofMillis(2050 + 250));
  }

  @Test
  void theArchivesWindowCountsAsItsLinger() {
    JsonObject config = new JsonObject().put("sinks", new JsonObject()
        .put("archive", sink(100, 500).put("window_s", 2.5))
        .put("registry", sink(50, 2000)));
    assertThat(SettledStores.interval(config)).isEqualTo(Duration.ofMillis(3000 + 250));
  }
}
