package io.iotmeter.intake;

import io.iotmeter.support.MigratedDatabase;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The intake's own SQL against a real PostgreSQL: registration does not consume ids,
 * de-duplication state and the exact-copy record round-trip.
 */
@Timeout(60)
class IntakeStoreTest {

  private static final Instant T = Instant.parse("2026-12-01T10:00:00Z");
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


  @Test
  void registeringKnownDevicesReturnsOnlyTheNewOnesAndConsumesNoIds() {
    Set<String> first = pool.withTransaction(conn -> IntakeStore.registerUnknown(conn, List.of("new-001", "dc-meter-001"))).await();
    assertThat(first).containsExactly("new-001");
    long before = TestPostgres.count(postgres, "SELECT last_value FROM devices_id_seq");
    Set<String> again = pool.withTransaction(conn -> IntakeStore.registerUnknown(conn, List.of("new-001", "dc-meter-001"))).await();
    assertThat(again).isEmpty();
    assertThat(TestPostgres.count(postgres, "SELECT last_value FROM devices_id_seq")).isEqualTo(before);
    assertThat(pool.withTransaction(conn -> IntakeStore.known(conn, List.of("new-001", "nobody"))).await()).containsExactly("new-001");
  }

  @Test
  void sequenceStateRoundTripsThroughItsRow() {
    Map<String, SequenceState> created = pool.withTransaction(conn -> IntakeStore.lockStates(conn, List.of("dc-meter-001"))).await();
    SequenceState state = created.get("dc-meter-001");
    assertThat(state.lastSeq()).isEqualTo(-1);
    state.lastSeq = 41;
    state.epoch = 2;
    state.lastTs = T;
    state.missing.add(new GapRange(2, 30, 35, T, false));
    state.recentStatus.add("online");
    pool.withTransaction(conn -> IntakeStore.saveStates(conn, created)).await();
    SequenceState read = pool.withTransaction(conn -> IntakeStore.lockStates(conn, List.of("dc-meter-001"))).await()
        .get("dc-meter-001");
    assertThat(read.lastSeq()).isEqualTo(41);
    assertThat(read.epoch()).isEqualTo(2);
    assertThat(read.lastTs).isEqualTo(T);
    assertThat(read.missing()).containsExactly(new GapRange(2, 30, 35, T, false));
    assertThat(read.recentStatus).containsExactly("online");
  }

  @Test
  void theExactCopyRecordKnowsWhatWasSeenAndIgnoresASecondSave() {
    List<IntakeStore.SeenKey> keys = List.of(new IntakeStore.SeenKey("dc-meter-001", 7, T),
        new IntakeStore.SeenKey("dc-meter-001", 7, T.plusSeconds(600)));
    pool.withTransaction(conn -> IntakeStore.saveSeen(conn, keys)).await();
    pool.withTransaction(conn -> IntakeStore.saveSeen(conn, keys)).await(); // a replayed batch
    Map<String, Map<Long, Set<Instant>>> seen = pool.withTransaction(conn -> IntakeStore.seen(conn,
        List.of(new IntakeStore.SeenKey("dc-meter-001", 7, T), new IntakeStore.SeenKey("dc-meter-001", 8, T)))).await();
    assertThat(seen.get("dc-meter-001")).containsOnlyKeys(7L);
    assertThat(seen.get("dc-meter-001").get(7L)).containsExactlyInAnyOrder(T, T.plusSeconds(600));
  }
}
