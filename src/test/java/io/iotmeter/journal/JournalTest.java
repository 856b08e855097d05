package io.iotmeter.journal;

import io.iotmeter.support.MigratedDatabase;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The journal's API against a real PostgreSQL: append, what a sink finds pending and clears, its
 * backlog, pruning, reading one row back, and the archive's object keys.
 */
@Timeout(60)
class JournalTest {

  private static final Instant T = Instant.parse("2026-12-01T10:00:00Z");
  private static final short ALL = (short) (SinkKind.ARCHIVE.bit() | SinkKind.TIMESERIES.bit() | SinkKind.REGISTRY.bit());
  private Vertx vertx;
  private Pool pool;
  private JsonObject postgres;

  @RegisterExtension
  final MigratedDatabase db = new MigratedDatabase("journal-test");

  @BeforeEach
  void setUp() {
    vertx = db.vertx();
    postgres = db.postgres();
    pool = db.pool();
  }


  private static Journal.Entry entry(String deviceId, long seq, String payload) {
    return new Journal.Entry(deviceId, "telemetry", 0, seq, T.plusSeconds(seq), "iot/" + deviceId + "/telemetry", payload, 1,
        "endpoint", T, ALL);
  }

  private List<Long> append(Journal.Entry... entries) {
    return pool.withTransaction(conn -> Journal.append(conn, List.of(entries))).await();
  }

  @Test
  void everyEntryGetsTheIdOfItsOwnRow() {
    List<Journal.Entry> entries = List.of(entry("dc-meter-001", 5, "{\"seq\":5}"), entry("dc-meter-002", 3, "{\"seq\":3}"),
        entry("dc-meter-001", 6, "{\"seq\":6}"));
    List<Long> ids = pool.withTransaction(conn -> Journal.append(conn, entries)).await();
    assertThat(ids).hasSize(3).doesNotHaveDuplicates();
    for (int i = 0; i < 3; i++) {
      assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM intake_journal WHERE id = " + ids.get(i) + " AND device_id = '"
          + entries.get(i).deviceId() + "' AND seq = " + entries.get(i).seq() + " AND pending = 7")).isEqualTo(1);
    }
  }

  @Test
  void aBatchTheDatabaseRefusesLeavesNoRowBehind() {
    // PostgreSQL text cannot hold NUL: the whole transaction fails, the good entry with it.
    List<Journal.Entry> entries = List.of(entry("dc-meter-001", 1, "{\"seq\":1}"), entry("dc-meter-001", 2, "{\"a\":\"\u0000\"}"));
    assertThatThrownBy(() -> pool.withTransaction(conn -> Journal.append(conn, entries)).await()).hasMessageContaining("0x00");
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM intake_journal")).isZero();
  }

  @Test
  void aSinkFindsWhatIsPendingForItUntilItClearsItsBit() {
    List<Long> ids = append(entry("dc-meter-001", 1, "{\"seq\":1}"), entry("dc-meter-001", 2, "{\"seq\":2}"));
    List<AcceptedMessage> pending = Journal.pending(pool, SinkKind.REGISTRY, Duration.ZERO, 10).await();
    assertThat(pending).extracting(AcceptedMessage::journalId).containsExactlyElementsOf(ids);
    AcceptedMessage first = pending.get(0);
    assertThat(first.deviceId()).isEqualTo("dc-meter-001");
    assertThat(first.seq()).isEqualTo(1);
    assertThat(first.deviceTs()).isEqualTo(T.plusSeconds(1));
    assertThat(first.payload()).isEqualTo("{\"seq\":1}");
    assertThat(Journal.pending(pool, SinkKind.REGISTRY, Duration.ofMinutes(1), 10).await())
        .as("a message younger than the grace is left to the bus").isEmpty();
    assertThat(Journal.pending(pool, SinkKind.REGISTRY, Duration.ZERO, 1).await()).hasSize(1);

    Journal.clear(pool, SinkKind.REGISTRY, List.of(ids.get(0))).await();
    assertThat(Journal.pending(pool, SinkKind.REGISTRY, Duration.ZERO, 10).await())
        .extracting(AcceptedMessage::journalId).containsExactly(ids.get(1));
    assertThat(Journal.pending(pool, SinkKind.ARCHIVE, Duration.ZERO, 10).await()).as("other sinks still wait").hasSize(2);
    Journal.Backlog backlog = Journal.backlog(pool, SinkKind.REGISTRY).await();
    assertThat(backlog.messages()).isEqualTo(1);
    assertThat(backlog.oldest()).isNotNull();
    assertThat(Journal.backlog(pool, SinkKind.TIMESERIES).await().messages()).isEqualTo(2);
  }

  @Test
  void pruningRemovesOnlyRowsNoSinkWaitsFor() {
    List<Long> ids = append(entry("dc-meter-001", 1, "{}"), entry("dc-meter-001", 2, "{}"));
    for (SinkKind sink : SinkKind.values()) {
      Journal.clear(pool, sink, List.of(ids.get(0))).await();
    }
    Journal.clear(pool, SinkKind.ARCHIVE, List.of(ids.get(1))).await();
    assertThat(Journal.prune(pool).await()).isEqualTo(1);
    assertThat(Journal.read(pool, ids.get(0)).await()).isEmpty();
    Journal.Entry kept = Journal.read(pool, ids.get(1)).await().orElseThrow();
    assertThat(kept.pending()).isEqualTo((short) (SinkKind.TIMESERIES.bit() | SinkKind.REGISTRY.bit()));
    assertThat(kept.seq()).isEqualTo(2);
    assertThat(kept.receivedAt()).isEqualTo(T);
    assertThat(Journal.backlog(pool, SinkKind.ARCHIVE).await()).isEqualTo(new Journal.Backlog(0, null));
  }

  @Test
  void anArchiveKeyOnceGivenIsKeptAndAWrittenObjectIsNotOfferedAgain() {
    List<Long> ids = append(entry("dc-meter-001", 1, "{}"), entry("dc-meter-001", 2, "{}"), entry("dc-meter-002", 1, "{}"));
    Map<Long, String> keys = new LinkedHashMap<>();
    keys.put(ids.get(0), "a");
    keys.put(ids.get(1), "a");
    pool.withTransaction(conn -> Journal.lockWithoutArchiveKey(conn, ids.subList(0, 2))
        .compose(unassigned -> {
          assertThat(unassigned).containsExactlyElementsOf(ids.subList(0, 2));
          return Journal.setArchiveKeys(conn, keys);
        })).await();
    assertThat(pool.withTransaction(conn -> Journal.lockWithoutArchiveKey(conn, ids)).await())
        .as("only the message without a key").containsExactly(ids.get(2));

    Map<String, List<AcceptedMessage>> objects = Journal.unwrittenArchiveObjects(pool, List.of(ids.get(1))).await();
    assertThat(objects).containsOnlyKeys("a");
    assertThat(objects.get("a")).as("every message of the object, not only the one asked for")
        .extracting(AcceptedMessage::journalId).containsExactlyElementsOf(ids.subList(0, 2));

    Journal.markArchiveWritten(pool, List.of("a")).await();
    assertThat(Journal.unwrittenArchiveObjects(pool, ids.subList(0, 2)).await()).isEmpty();
  }
}
