package io.iotmeter.intake;

import io.iotmeter.store.Database;
import io.iotmeter.store.SchemaMigrations;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The intake's SQL against a real PostgreSQL: each entry gets its own journal id, a batch the
 * database refuses leaves nothing behind (so nothing is acknowledged that was not written),
 * registration does not consume ids, de-duplication state and the exact-copy record round-trip.
 */
@Timeout(60)
class IntakeJournalTest {

  private static final Instant T = Instant.parse("2026-12-01T10:00:00Z");
  private Vertx vertx;
  private Pool pool;
  private JsonObject postgres;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    postgres = TestPostgres.freshDatabase();
    pool = Database.pool(vertx, postgres, "journal-test");
    SchemaMigrations.migrate(vertx, pool).await();
  }

  @AfterEach
  void tearDown() {
    pool.close().await();
    vertx.close().await();
  }

  private static IntakeJournal.Entry entry(String deviceId, long seq, String payload) {
    return new IntakeJournal.Entry(deviceId, "telemetry", 0, seq, T.plusSeconds(seq), "iot/" + deviceId + "/telemetry", payload, 1,
        "endpoint", T, (short) 7);
  }

  @Test
  void everyEntryGetsTheIdOfItsOwnRow() {
    List<IntakeJournal.Entry> entries = List.of(entry("dc-meter-001", 5, "{\"seq\":5}"), entry("dc-meter-002", 3, "{\"seq\":3}"),
        entry("dc-meter-001", 6, "{\"seq\":6}"));
    List<Long> ids = pool.withTransaction(conn -> IntakeJournal.append(conn, entries)).await();
    assertThat(ids).hasSize(3).doesNotHaveDuplicates();
    for (int i = 0; i < 3; i++) {
      assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM intake_journal WHERE id = " + ids.get(i) + " AND device_id = '"
          + entries.get(i).deviceId() + "' AND seq = " + entries.get(i).seq() + " AND pending = 7")).isEqualTo(1);
    }
  }

  @Test
  void aBatchTheDatabaseRefusesLeavesNoRowBehind() {
    // PostgreSQL text cannot hold NUL: the whole transaction fails, the good entry with it.
    List<IntakeJournal.Entry> entries = List.of(entry("dc-meter-001", 1, "{\"seq\":1}"), entry("dc-meter-001", 2, "{\"a\":\"\u0000\"}"));
    assertThatThrownBy(() -> pool.withTransaction(conn -> IntakeJournal.registerUnknown(conn, List.of("dc-meter-009"))
        .compose(v -> IntakeJournal.append(conn, entries))).await()).hasMessageContaining("0x00");
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM intake_journal")).isZero();
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM devices WHERE device_id = 'dc-meter-009'")).isZero();
  }

  @Test
  void registeringKnownDevicesReturnsOnlyTheNewOnesAndConsumesNoIds() {
    Set<String> first = pool.withTransaction(conn -> IntakeJournal.registerUnknown(conn, List.of("new-001", "dc-meter-001"))).await();
    assertThat(first).containsExactly("new-001");
    long before = TestPostgres.count(postgres, "SELECT last_value FROM devices_id_seq");
    Set<String> again = pool.withTransaction(conn -> IntakeJournal.registerUnknown(conn, List.of("new-001", "dc-meter-001"))).await();
    assertThat(again).isEmpty();
    assertThat(TestPostgres.count(postgres, "SELECT last_value FROM devices_id_seq")).isEqualTo(before);
    assertThat(pool.withTransaction(conn -> IntakeJournal.known(conn, List.of("new-001", "nobody"))).await()).containsExactly("new-001");
  }

  @Test
  void sequenceStateRoundTripsThroughItsRow() {
    Map<String, SequenceState> created = pool.withTransaction(conn -> IntakeJournal.lockStates(conn, List.of("dc-meter-001"))).await();
    SequenceState state = created.get("dc-meter-001");
    assertThat(state.lastSeq()).isEqualTo(-1);
    state.lastSeq = 41;
    state.epoch = 2;
    state.lastTs = T;
    state.missing.add(new GapRange(2, 30, 35, T, false));
    state.recentStatus.add("online");
    pool.withTransaction(conn -> IntakeJournal.saveStates(conn, created)).await();
    SequenceState read = pool.withTransaction(conn -> IntakeJournal.lockStates(conn, List.of("dc-meter-001"))).await()
        .get("dc-meter-001");
    assertThat(read.lastSeq()).isEqualTo(41);
    assertThat(read.epoch()).isEqualTo(2);
    assertThat(read.lastTs).isEqualTo(T);
    assertThat(read.missing()).containsExactly(new GapRange(2, 30, 35, T, false));
    assertThat(read.recentStatus).containsExactly("online");
  }

  @Test
  void theExactCopyRecordKnowsWhatWasSeenAndIgnoresASecondSave() {
    List<IntakeJournal.SeenKey> keys = List.of(new IntakeJournal.SeenKey("dc-meter-001", 7, T),
        new IntakeJournal.SeenKey("dc-meter-001", 7, T.plusSeconds(600)));
    pool.withTransaction(conn -> IntakeJournal.saveSeen(conn, keys)).await();
    pool.withTransaction(conn -> IntakeJournal.saveSeen(conn, keys)).await(); // a replayed batch
    Map<String, Map<Long, Set<Instant>>> seen = pool.withTransaction(conn -> IntakeJournal.seen(conn,
        List.of(new IntakeJournal.SeenKey("dc-meter-001", 7, T), new IntakeJournal.SeenKey("dc-meter-001", 8, T)))).await();
    assertThat(seen.get("dc-meter-001")).containsOnlyKeys(7L);
    assertThat(seen.get("dc-meter-001").get(7L)).containsExactlyInAnyOrder(T, T.plusSeconds(600));
  }
}
