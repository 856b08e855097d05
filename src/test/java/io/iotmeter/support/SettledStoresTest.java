package io.iotmeter.support;

import io.iotmeter.audit.AckLedger;
import io.iotmeter.audit.MessageKey;
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
  void theRegistryIsJudgedByEachMessagesFirstCopy() {
    AckLedger ledger = new AckLedger();
    MessageKey first = new MessageKey("m-1", 0);
    MessageKey second = new MessageKey("m-1", 1);
    // Each message through connection a, then its copy through b once a acknowledged it.
    ledger.acked("a", first, 100, 110);
    ledger.acked("b", first, 120, 130);
    ledger.acked("a", second, 140, 150);
    ledger.acked("b", second, 160, 170);
    ledger.published("c", new MessageKey("m-1", 2)); // never acknowledged

    AckLedger registry = SettledStores.firstCopies(ledger);

    assertThat(registry.acked()).containsExactlyInAnyOrder(first, second);
    assertThat(registry.newestAckedSend()).containsEntry("m-1", 140L);
    assertThat(registry.acked("a")).containsOnlyKeys(first, second);
    assertThat(registry.acked("b")).isEmpty();
    assertThat(registry.published()).isEqualTo(ledger.published());
  }

  @Test
  void withOnePathTheLedgerIsUnchanged() {
    AckLedger ledger = new AckLedger();
    ledger.acked("endpoint", new MessageKey("m-2", 0), 10, 20);
    ledger.acked("endpoint", new MessageKey("m-2", 1), 30, 40);
    AckLedger registry = SettledStores.firstCopies(ledger);
    assertThat(registry.acked("endpoint")).isEqualTo(ledger.acked("endpoint"));
    assertThat(registry.newestAckedSend()).isEqualTo(ledger.newestAckedSend());
  }
}
