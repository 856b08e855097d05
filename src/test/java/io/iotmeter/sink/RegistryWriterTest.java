package io.iotmeter.sink;

import io.iotmeter.support.MigratedDatabase;
import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.protocol.Category;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.TestPostgres;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The registry sink against a real registry: a batch written twice, or late, changes nothing. */
@Timeout(60)
class RegistryWriterTest {

  private static final String CMD = "00000000-0000-0000-0000-0000000000aa";

  private Vertx vertx;
  private Pool pool;
  private JsonObject postgres;
  private RegistryWriter writer;
  private long journalId = 1000;

  @RegisterExtension
  final MigratedDatabase db = new MigratedDatabase("registry-test");

  @BeforeEach
  void setUp() {
    vertx = db.vertx();
    postgres = db.postgres();
    pool = db.pool();
    writer = new RegistryWriter(pool, IngestMetrics.of(new SimpleMeterRegistry()));
    TestPostgres.execute(postgres, "INSERT INTO device_commands (cmd_id, device_id, cmd, params) VALUES ('" + CMD
        + "', 'dc-meter-001', 'reboot', '{}')");
  }


  private AcceptedMessage message(Category category, JsonObject payload, Instant receivedAt) {
    return new AcceptedMessage(journalId++, "dc-meter-001", category, 0, payload.getLong("seq"), receivedAt, receivedAt,
        "iot/dc-meter-001/" + category.topicSuffix(), "endpoint", payload.encode());
  }

  private String deviceColumn(String column) {
    return TestPostgres.count(postgres, "SELECT count(*) FROM devices WHERE device_id = 'dc-meter-001' AND " + column) == 1
        ? "yes" : "no";
  }

  @Test
  void aBatchReplayedLateNeverTurnsTheRegistryBack() {
    Instant t1 = Instant.parse("2026-12-01T10:00:00Z");
    Instant t2 = t1.plusSeconds(60);
    List<AcceptedMessage> old = List.of(
        message(Category.STATUS, Datagrams.status("dc-meter-001", "offline", t1), t1),
        message(Category.HELLO, Datagrams.hello("dc-meter-001", 1, t1, "1.0.0", 5), t1));
    List<AcceptedMessage> newer = List.of(
        message(Category.HELLO, Datagrams.hello("dc-meter-001", 2, t2, "2.0.0", 5), t2),
        message(Category.COMMAND_ACK, Datagrams.ack("dc-meter-001", 3, CMD, "accepted", "done"), t2));
    writer.write(newer).await();
    writer.write(newer).await(); // a batch written twice
    writer.write(old).await(); // and one late: from the journal after a restart, say

    assertThat(deviceColumn("connection_status = 'online'")).isEqualTo("yes");
    assertThat(deviceColumn("last_seen = '" + t2 + "'")).isEqualTo("yes");
    assertThat(deviceColumn("fw_version = '2.0.0'")).as("a late hello keeps the newer firmware").isEqualTo("yes");
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM device_commands WHERE status = 'accepted' AND ack_detail = 'done'"))
        .isEqualTo(1);
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM device_alerts WHERE alert_type = 'device_offline'"))
        .as("the late offline status of an online device raises no alert").isZero();
  }

  @Test
  void withinOneBatchTheNewestFactsWinWhateverTheirOrder() {
    Instant t1 = Instant.parse("2026-12-01T10:00:00Z");
    Instant t2 = t1.plusSeconds(60);
    // The journal hands a batch in commit order, which copies through two brokers can reverse.
    writer.write(List.of(
        message(Category.STATUS, Datagrams.status("dc-meter-001", "offline", t2.plusSeconds(1)), t2.plusSeconds(1)),
        message(Category.HELLO, Datagrams.hello("dc-meter-001", 2, t2, "2.0.0", 5), t2),
        message(Category.HELLO, Datagrams.hello("dc-meter-001", 1, t1, "1.0.0", 5), t1))).await();

    assertThat(deviceColumn("connection_status = 'offline'")).as("the older hellos do not turn an offline device online")
        .isEqualTo("yes");
    assertThat(deviceColumn("fw_version = '2.0.0'")).as("nor the older firmware back").isEqualTo("yes");
    assertThat(deviceColumn("last_seen = '" + t2 + "'")).as("an offline status is the broker's word, not a sighting")
        .isEqualTo("yes");
  }

  /**
   * The columns written for every message are in no index, and the tables leave room on their
   * pages, so PostgreSQL can update those rows in place (HOT: no index entries per message).
   */
  @Test
  void theRowsWrittenForEveryMessageCanBeUpdatedInPlace() {
    for (String column : List.of("last_seen", "connection_status", "connection_status_at", "fw_version")) {
      assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
          + "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'devices'::regclass AND a.attname = '" + column + "'"))
          .as("indexes on devices." + column).isZero();
    }
    for (String table : List.of("devices", "device_seq_tracking")) {
      assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM pg_class WHERE relname = '" + table
          + "' AND 'fillfactor=50' = ANY(reloptions)")).as(table + " leaves room on its pages").isEqualTo(1);
    }
  }
}
