package io.iotmeter.journal;

import io.iotmeter.journal.Journal.Position;
import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.support.MigratedDatabase;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Transaction;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The journal's API against a real PostgreSQL: append, what a sink reads after its cursor and in
 * which order, the cursor's lease, the backlog, and partitions made ahead and dropped behind.
 */
@Timeout(60)
class JournalTest {

  private static final Instant T = Instant.parse("2026-12-01T10:00:00Z");
  private static final short ALL = (short) (SinkKind.ARCHIVE.bit() | SinkKind.TIMESERIES.bit() | SinkKind.REGISTRY.bit());
  private static final Duration LEASE = Duration.ofSeconds(30);
  private Pool pool;
  private JsonObject postgres;

  @RegisterExtension
  final MigratedDatabase db = new MigratedDatabase("journal-test");

  @BeforeEach
  void setUp() {
    postgres = db.postgres();
    pool = db.pool();
  }

  private static Journal.Entry entry(String deviceId, long seq, String payload, short sinks) {
    return new Journal.Entry(deviceId, "telemetry", 0, seq, T.plusSeconds(seq), "iot/" + deviceId + "/telemetry", payload, 1,
        "endpoint", T, sinks);
  }

  private static Journal.Entry entry(String deviceId, long seq) {
    return entry(deviceId, seq, "{\"seq\":" + seq + "}", ALL);
  }

  private List<Long> append(Journal.Entry... entries) {
    return pool.withTransaction(conn -> Journal.append(conn, List.of(entries))).await();
  }

  private List<Long> ids(List<Position> positions) {
    return positions.stream().map(Position::id).toList();
  }

  @Test
  void everyEntryGetsTheIdOfItsOwnRow() {
    List<Journal.Entry> entries = List.of(entry("dc-meter-001", 5), entry("dc-meter-002", 3), entry("dc-meter-001", 6));
    List<Long> ids = pool.withTransaction(conn -> Journal.append(conn, entries)).await();
    assertThat(ids).hasSize(3).doesNotHaveDuplicates();
    for (int i = 0; i < 3; i++) {
      assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM journal WHERE id = " + ids.get(i) + " AND device_id = '"
          + entries.get(i).deviceId() + "' AND seq = " + entries.get(i).seq() + " AND sinks = 7")).isEqualTo(1);
    }
  }

  @Test
  void aBatchTheDatabaseRefusesLeavesNoRowBehind() {
    // PostgreSQL text cannot hold NUL: the whole transaction fails, the good entry with it.
    List<Journal.Entry> entries = List.of(entry("dc-meter-001", 1), entry("dc-meter-001", 2, "{\"a\":\"\u0000\"}", ALL));
    assertThatThrownBy(() -> pool.withTransaction(conn -> Journal.append(conn, entries)).await()).hasMessageContaining("0x00");
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM journal")).isZero();
  }

  @Test
  void aSinkReadsAfterItsCursorInOrderOnlyWhatIsForIt() {
    List<Long> first = append(entry("dc-meter-001", 1), entry("dc-meter-001", 2, "{}", (short) SinkKind.ARCHIVE.bit()));
    List<Long> second = append(entry("dc-meter-002", 1));

    List<Position> timeseries = Journal.next(pool, SinkKind.TIMESERIES, Position.START, null, 10).await();
    assertThat(ids(timeseries)).as("the archive's row is not the time series'").containsExactly(first.get(0), second.get(0));
    assertThat(ids(Journal.next(pool, SinkKind.ARCHIVE, Position.START, null, 10).await()))
        .containsExactly(first.get(0), first.get(1), second.get(0));
    assertThat(ids(Journal.next(pool, SinkKind.TIMESERIES, timeseries.get(0), null, 10).await())).containsExactly(second.get(0));
    assertThat(ids(Journal.next(pool, SinkKind.TIMESERIES, Position.START, null, 1).await())).containsExactly(first.get(0));
    assertThat(Journal.next(pool, SinkKind.TIMESERIES, timeseries.get(1), null, 10).await()).isEmpty();
    assertThat(ids(Journal.next(pool, SinkKind.ARCHIVE, Position.START, timeseries.get(0), 10).await()))
        .as("up to a batch's end, not beyond").containsExactly(first.get(0));

    Map<Long, AcceptedMessage> messages = Journal.messages(pool, List.of(first.get(0), second.get(0))).await();
    assertThat(messages).containsOnlyKeys(first.get(0), second.get(0));
    AcceptedMessage message = messages.get(first.get(0));
    assertThat(message.deviceId()).isEqualTo("dc-meter-001");
    assertThat(message.seq()).isEqualTo(1);
    assertThat(message.deviceTs()).isEqualTo(T.plusSeconds(1));
    assertThat(message.payload()).isEqualTo("{\"seq\":1}");
  }

  /**
   * The property the cursor rests on: a row is read only once nothing can appear before it. A
   * transaction that began writing first and commits last has its rows read first, and none of
   * the rows after it is read while it is open — else a cursor would pass them by.
   */
  @Test
  void rowsBehindATransactionStillOpenWaitForItAndThenComeAfterIt() {
    SqlConnection conn = pool.getConnection().await();
    try {
      Transaction open = conn.begin().await();
      conn.query("SELECT pg_current_xact_id()").execute().await(); // it has its transaction id now
      List<Long> committed = append(entry("dc-meter-002", 1));
      assertThat(Journal.next(pool, SinkKind.REGISTRY, Position.START, null, 10).await())
          .as("committed, but behind a transaction that may still write").isEmpty();
      List<Long> late = Journal.append(conn, List.of(entry("dc-meter-001", 1))).await();
      open.commit().await();
      assertThat(late.get(0)).isGreaterThan(committed.get(0));
      assertThat(ids(Journal.next(pool, SinkKind.REGISTRY, Position.START, null, 10).await()))
          .as("in the order of the transactions, not of the ids").containsExactly(late.get(0), committed.get(0));
    } finally {
      conn.close().await();
    }
  }

  /**
   * Transaction ids are numbers, not text: a row of transaction 9,999 comes before one of 10,000
   * (sorted as text it came after, and a cursor at 10,000 passed it by — a message lost).
   */
  @Test
  void rowsAreReadInTheNumericOrderOfTheirTransactionsAcrossAPowerOfTen() {
    TestPostgres.execute(postgres, "CREATE PROCEDURE burn_xids(n int) LANGUAGE plpgsql AS $$ BEGIN "
        + "FOR i IN 1..n LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$");
    long next = TestPostgres.count(postgres, "SELECT pg_current_xact_id()::text::bigint") + 1;
    long boundary = (long) Math.pow(10, String.valueOf(next).length());
    // The next transactions: burn up to two below the boundary, then one row on each side of it.
    TestPostgres.execute(postgres, "CALL burn_xids(" + (boundary - next - 2) + ")");
    long before = append(entry("dc-meter-001", 1)).get(0);
    TestPostgres.execute(postgres, "CALL burn_xids(1)");
    long after = append(entry("dc-meter-001", 2)).get(0);
    List<Position> read = Journal.next(pool, SinkKind.ARCHIVE, Position.START, null, 10).await();
    assertThat(read.get(0).tx()).as("the first row's transaction").isLessThan(boundary);
    assertThat(read.get(1).tx()).as("the second row's transaction").isGreaterThanOrEqualTo(boundary);
    assertThat(ids(read)).containsExactly(before, after);
    assertThat(ids(Journal.next(pool, SinkKind.ARCHIVE, read.get(0), null, 1).await())).containsExactly(after);
  }

  @Test
  void oneOwnerHoldsACursorUntilItsLeaseRunsOutOrItGivesItUp() {
    Journal.Claim claim = Journal.claim(pool, SinkKind.ARCHIVE, "node-a", LEASE).await().orElseThrow();
    assertThat(claim).isEqualTo(new Journal.Claim(Position.START, null));
    assertThat(Journal.claim(pool, SinkKind.ARCHIVE, "node-b", LEASE).await()).as("held by node-a").isEmpty();
    assertThat(Journal.claim(pool, SinkKind.TIMESERIES, "node-b", LEASE).await()).as("another sink's cursor").isPresent();

    Position end = new Position(7, 42);
    assertThat(Journal.beginBatch(pool, SinkKind.ARCHIVE, "node-b", end, LEASE).await()).isFalse();
    assertThat(Journal.beginBatch(pool, SinkKind.ARCHIVE, "node-a", end, LEASE).await()).isTrue();
    assertThat(Journal.claim(pool, SinkKind.ARCHIVE, "node-a", LEASE).await())
        .as("the owner claiming again finds its unfinished batch").contains(new Journal.Claim(Position.START, end));
    assertThat(Journal.advance(pool, SinkKind.ARCHIVE, "node-b", end, LEASE).await()).isFalse();
    assertThat(Journal.advance(pool, SinkKind.ARCHIVE, "node-a", end, LEASE).await()).isTrue();

    TestPostgres.execute(postgres, "UPDATE journal_cursor SET lease_until = now() - interval '1 second' WHERE sink = 'archive'");
    assertThat(Journal.claim(pool, SinkKind.ARCHIVE, "node-b", LEASE).await())
        .as("a lease run out: node-b goes on from where node-a stood").contains(new Journal.Claim(end, null));
    assertThat(Journal.advance(pool, SinkKind.ARCHIVE, "node-a", null, LEASE).await()).as("node-a lost it").isFalse();

    Journal.release(pool, SinkKind.ARCHIVE, "node-b").await();
    assertThat(Journal.claim(pool, SinkKind.ARCHIVE, "node-a", LEASE).await()).as("given up: taken at once").isPresent();
  }

  @Test
  void theBacklogIsWhatLiesAfterTheCursor() {
    append(entry("dc-meter-001", 1), entry("dc-meter-001", 2), entry("dc-meter-001", 3, "{}", (short) SinkKind.ARCHIVE.bit()));
    assertThat(Journal.backlog(pool, SinkKind.REGISTRY).await().messages()).as("no cursor yet: everything").isEqualTo(2);
    List<Position> registry = Journal.next(pool, SinkKind.REGISTRY, Position.START, null, 10).await();
    Journal.claim(pool, SinkKind.REGISTRY, "node-a", LEASE).await();
    Journal.advance(pool, SinkKind.REGISTRY, "node-a", registry.get(0), LEASE).await();
    Journal.Backlog backlog = Journal.backlog(pool, SinkKind.REGISTRY).await();
    assertThat(backlog.messages()).isEqualTo(1);
    assertThat(backlog.oldest()).isNotNull();
    Journal.advance(pool, SinkKind.REGISTRY, "node-a", registry.get(1), LEASE).await();
    assertThat(Journal.backlog(pool, SinkKind.REGISTRY).await()).isEqualTo(new Journal.Backlog(0, null));
    assertThat(Journal.backlog(pool, SinkKind.ARCHIVE).await().messages()).isEqualTo(3);
  }

  /**
   * Beyond EXACT_BACKLOG rows the backlog is estimated from the ids after the cursor (a bounded
   * scan instead of a count of everything): here exact all the same, as no id was lost to a
   * rollback; and the oldest row's time is still given.
   */
  @Test
  void aBacklogBeyondTheExactBoundIsEstimatedFromTheIds() {
    int rows = Journal.EXACT_BACKLOG + 50;
    Journal.Entry[] entries = new Journal.Entry[rows];
    for (int i = 0; i < rows; i++) {
      entries[i] = entry("dc-meter-001", i + 1);
    }
    List<Long> ids = append(entries);
    Journal.Backlog all = Journal.backlog(pool, SinkKind.REGISTRY).await();
    assertThat(all.messages()).isEqualTo(ids.get(ids.size() - 1)).isGreaterThanOrEqualTo(rows);
    assertThat(all.oldest()).isNotNull();
    List<Position> first = Journal.next(pool, SinkKind.REGISTRY, Position.START, null, 100).await();
    Journal.claim(pool, SinkKind.REGISTRY, "node-a", LEASE).await();
    Journal.advance(pool, SinkKind.REGISTRY, "node-a", first.get(99), LEASE).await();
    assertThat(Journal.backlog(pool, SinkKind.REGISTRY).await().messages()).as("within the bound: counted").isEqualTo(rows - 100);
  }

  /** The view operators and tests read writes the sinks' bits out: it must name each as {@link SinkKind} does. */
  @Test
  void theWaitingViewNamesEverySinkByItsBit() {
    for (SinkKind sink : SinkKind.values()) {
      long id = append(entry("dc-meter-001", sink.bit(), "{}", (short) sink.bit())).get(0);
      assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM journal_waiting WHERE id = " + id + " AND sink = '"
          + sink.configName() + "'")).as(sink.configName()).isEqualTo(1);
      assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM journal_waiting WHERE id = " + id)).isEqualTo(1);
    }
  }

  @Test
  void partitionsAreMadeAheadAndDroppedOnceEverySinkHasPassedThem() {
    long width = Journal.PARTITION_IDS;
    List<Long> old = append(entry("dc-meter-001", 1));
    assertThat(old.get(0)).isLessThan(width);
    // The ids jump two partitions ahead: the next append lands beyond what the migration made.
    TestPostgres.execute(postgres, "SELECT setval('journal_id_seq', " + (2 * width + 10) + ")");
    assertThat(Journal.maintain(pool).await()).as("the sinks still need the first").isZero();
    List<Long> recent = append(entry("dc-meter-001", 2));
    assertThat(recent.get(0)).isGreaterThan(2 * width);
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM pg_class WHERE relname = 'journal_p" + (4 * width) + "_"
        + (5 * width) + "'")).as("two widths ahead of the ids drawn").isEqualTo(1);

    for (SinkKind sink : List.of(SinkKind.ARCHIVE, SinkKind.TIMESERIES)) {
      Position first = Journal.next(pool, sink, Position.START, null, 1).await().get(0);
      Journal.claim(pool, sink, "node-a", LEASE).await();
      Journal.advance(pool, sink, "node-a", first, LEASE).await();
    }
    assertThat(Journal.maintain(pool).await()).as("the registry has not stored it yet").isZero();
    Position first = Journal.next(pool, SinkKind.REGISTRY, Position.START, null, 1).await().get(0);
    Journal.claim(pool, SinkKind.REGISTRY, "node-a", LEASE).await();
    Journal.advance(pool, SinkKind.REGISTRY, "node-a", first, LEASE).await();

    assertThat(Journal.maintain(pool).await()).as("the first partition, and the empty one after it").isEqualTo(2);
    assertThat(Journal.read(pool, old.get(0)).await()).isEmpty();
    assertThat(Journal.read(pool, recent.get(0)).await()).as("not passed yet").isPresent();
    assertThat(Journal.maintain(pool).await()).as("the partition still taking ids stays").isZero();
  }
}
