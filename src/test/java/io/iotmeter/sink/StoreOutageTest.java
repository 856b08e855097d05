package io.iotmeter.sink;

import io.iotmeter.archive.ObjectStore;
import io.iotmeter.archive.ObjectStores;
import io.iotmeter.audit.AckLedger;
import io.iotmeter.audit.AuditReport;
import io.iotmeter.audit.DatagramsLayout;
import io.iotmeter.audit.StoreAudit;
import io.iotmeter.embedded.EmbeddedS3Server;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.FreePorts;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.SettledStores;
import io.iotmeter.support.TestMeter;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Nothing lost, nothing doubled, while a store is down: messages are acknowledged from the
 * journal, wait there through the outage and a platform restart, and are archived exactly once
 * when the store is back.
 */
@Timeout(180)
class StoreOutageTest {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final DatagramsLayout LAYOUT = new DatagramsLayout();

  @Test
  void messagesAcceptedWhileTheArchiveIsDownAreArchivedOnceWhenItIsBack(@TempDir Path s3Data) {
    int s3Port = FreePorts.next();
    JsonObject config = RunningPlatform.ingestConfig();
    config.getJsonObject("s3").put("embedded", false).put("endpoint", "http://127.0.0.1:" + s3Port);

    RunningPlatform platform = RunningPlatform.start(config);
    AckLedger ledger = new AckLedger();
    try (TestMeter meter = TestMeter.connect(platform.vertx(), platform.mqttPort(), "dc-meter-001", false)) {
      for (long seq = 0; seq < 10; seq++) {
        meter.sendTelemetry(ledger, "endpoint", "dc-meter-001", seq, 2);
      }
    }
    // Acknowledged although the archive is unreachable: the journal holds them.
    Eventually.within(WAIT, () -> assertThat(platform.get("/readyz").json().getJsonArray("failed").getList()).contains("archive"));
    assertThat(TestPostgres.count(platform.postgres(), "SELECT count(*) FROM journal_waiting WHERE sink = 'archive'")).isEqualTo(10);
    assertThat(platform.get("/api/devices/dc-meter-001/raw-data").status()).as("listing a store that is down").isEqualTo(503);
    JsonObject effective = platform.config();
    platform.close();

    try (EmbeddedS3Server s3 = EmbeddedS3Server.start(s3Data, s3Port, "minioadmin", "minioadmin123")) {
      RunningPlatform restarted = RunningPlatform.start(effective);
      try {
        // Counted once the stores are quiet and stayed so past a recovery scan: a late second copy would show.
        SettledStores stores = SettledStores.of(restarted.config());
        stores.await();
        List<String> records = archived(effective);
        assertThat(records).hasSize(10);
        assertThat(records.stream().map(r -> new JsonObject(r).getJsonObject("data").getLong("seq")).toList())
            .containsExactlyInAnyOrder(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
        // Per key in every store: each acknowledged message archived once, its points in the time
        // series once, the registry's last_seen at least its send.
        AuditReport report = stores.audit(ledger, LAYOUT, List.of("dc-meter-001"));
        assertThat(report.clean()).as(report.detail()).isTrue();
        assertThat(report.store(StoreAudit.ARCHIVE).stored()).as(report.detail()).isEqualTo(10);
        assertThat(report.store(StoreAudit.TIME_SERIES).stored()).as(report.detail()).isEqualTo(10);
        assertThat(report.store(StoreAudit.REGISTRY).expected()).as(report.detail()).isEqualTo(1);
        Eventually.within(WAIT, () -> assertThat(TestPostgres.count(effective.getJsonObject("postgres"),
            "SELECT count(*) FROM journal_waiting")).isZero());
        Eventually.within(WAIT, () -> assertThat(restarted.get("/readyz").status()).isEqualTo(200));
      } finally {
        restarted.close();
      }
    }
  }

  private static List<String> archived(JsonObject config) {
    List<String> records = new ArrayList<>();
    try (ObjectStore store = ObjectStores.open(config.getJsonObject("s3"))) {
      store.list("dc-meter-001/", 1000).forEach(o ->
          records.addAll(new String(store.get(o.key()), StandardCharsets.UTF_8).lines().toList()));
    }
    return records;
  }
}
