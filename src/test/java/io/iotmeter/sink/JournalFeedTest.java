package io.iotmeter.sink;

import io.iotmeter.support.MigratedDatabase;
import io.iotmeter.journal.SinkKind;
import io.iotmeter.bus.BusAddress;
import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.protocol.Category;
import io.iotmeter.store.Database;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.TestPostgres;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The failure branches of {@link JournalFeed} against a real journal (PostgreSQL) and writers
 * that fail on purpose: a message the store refuses is isolated and quarantined, every other
 * message is stored exactly once, and a store that is away quarantines nothing.
 */
@Timeout(60)
class JournalFeedTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final JournalFeed.Options OPTIONS = new JournalFeed.Options(100, Duration.ZERO, 1000, 64L << 20,
      Duration.ofMillis(100), Duration.ofSeconds(10), Duration.ofMillis(5), Duration.ofMillis(40));

  private Vertx vertx;
  private Pool pool;
  private JsonObject postgres;
  private JournalFeed feed;
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  /** Journal id → how often a successful write held it. */
  private final Map<Long, AtomicInteger> stored = new ConcurrentHashMap<>();

  @RegisterExtension
  final MigratedDatabase db = new MigratedDatabase("feed-test");

  @BeforeEach
  void setUp() {
    vertx = db.vertx();
    postgres = db.postgres();
    pool = db.pool();
  }

  @AfterEach
  void tearDown() {
    if (feed != null) {
      vertx.runOnContext(v -> feed.stop());
    }
  }

  private List<AcceptedMessage> journal(int count) {
    List<io.iotmeter.journal.Journal.Entry> entries = new ArrayList<>();
    Instant received = Instant.now();
    for (int seq = 0; seq < count; seq++) {
      entries.add(new io.iotmeter.journal.Journal.Entry("dc-meter-001", "telemetry", 0, (long) seq, received,
          "iot/dc-meter-001/telemetry", Datagrams.telemetry("dc-meter-001", seq).encode(), 2, "endpoint", received,
          (short) (SinkKind.TIMESERIES.bit() | SinkKind.ARCHIVE.bit())));
    }
    List<Long> ids = pool.withTransaction(conn -> io.iotmeter.journal.Journal.append(conn, entries)).await();
    List<AcceptedMessage> messages = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      io.iotmeter.journal.Journal.Entry e = entries.get(i);
      messages.add(new AcceptedMessage(ids.get(i), e.deviceId(), Category.TELEMETRY, 0, e.seq(), received, received,
          e.topic(), e.source(), e.payload()));
    }
    return messages;
  }

  private void startFeed(SinkWriter writer, Future<Void> pingResult) {
    startFeed(writer, () -> pingResult);
  }

  private void startFeed(SinkWriter writer, java.util.function.Supplier<Future<Void>> ping) {
    startFeed(writer, ping, pool);
  }

  private void startFeed(SinkWriter writer, java.util.function.Supplier<Future<Void>> ping, Pool feedPool) {
    SinkWriter counting = batch -> {
      return writer.write(batch).onSuccess(v -> batch.forEach(m -> stored.computeIfAbsent(m.journalId(), id -> new AtomicInteger()).incrementAndGet()));
    };
    feed = new JournalFeed(vertx, feedPool, SinkKind.TIMESERIES, counting, OPTIONS, "test-node", ping, IngestMetrics.of(registry),
        ready -> { });
    vertx.runOnContext(v -> feed.start());
  }

  private void publish(List<AcceptedMessage> messages) {
    // Queued behind start() on the same context, so the feed's consumers are registered first.
    vertx.runOnContext(v -> messages.forEach(m ->
        vertx.eventBus().publish(BusAddress.ACCEPTED.address("telemetry"), m.toJson())));
  }

  /** What the time series sink has still to store: the rows after its cursor. */
  private long pendingTimeseries() {
    return io.iotmeter.journal.Journal.backlog(pool, SinkKind.TIMESERIES).await().messages();
  }

  private void assertStoredOnceExcept(List<AcceptedMessage> messages, Set<Long> poison) {
    for (AcceptedMessage m : messages) {
      if (poison.contains(m.journalId())) {
        assertThat(stored).doesNotContainKey(m.journalId());
      } else {
        assertThat(stored.get(m.journalId())).as("message %d", m.journalId()).isNotNull();
        assertThat(stored.get(m.journalId()).get()).as("writes of message %d", m.journalId()).isEqualTo(1);
      }
    }
  }

  @Test
  void aBatchTheStoreRefusesIsSplitUntilThePoisonIsQuarantinedAndTheRestIsStoredOnce() {
    List<AcceptedMessage> messages = journal(20);
    long poison = messages.get(13).journalId();
    startFeed(batch -> batch.stream().anyMatch(m -> m.journalId() == poison)
        ? Future.failedFuture(new SinkRefusal("HTTP 400 bad line", Map.of())) : Future.succeededFuture(), Future.succeededFuture());
    publish(messages);

    Eventually.within(WAIT, () -> assertThat(pendingTimeseries()).isZero());
    assertStoredOnceExcept(messages, Set.of(poison));
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM message_quarantine WHERE kind = 'quarantined' AND sink = 'timeseries' "
        + "AND journal_id = " + poison + " AND reason LIKE '%HTTP 400 bad line%' AND seq = 13")).isEqualTo(1);
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM message_quarantine")).isEqualTo(1);
    // Only the sink that failed gave the message up: the archive still waits for all of them.
    assertThat(io.iotmeter.journal.Journal.backlog(pool, SinkKind.ARCHIVE).await().messages()).isEqualTo(20);
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM device_alerts WHERE alert_type = 'message_quarantined'")).isEqualTo(1);
    assertThat(registry.get("mqtt_collector.messages.errors").tag("error_type", "quarantined").counter().count()).isEqualTo(1.0);
  }

  @Test
  void namedOffendersAreQuarantinedAtOnceWithoutSplitting() {
    List<AcceptedMessage> messages = journal(10);
    long poison = messages.get(4).journalId();
    AtomicInteger attemptsWithPoison = new AtomicInteger();
    startFeed(batch -> {
      if (batch.stream().anyMatch(m -> m.journalId() == poison)) {
        attemptsWithPoison.incrementAndGet();
        return Future.failedFuture(new SinkRefusal("1 message cannot be written", Map.of(poison, "value is NaN")));
      }
      return Future.succeededFuture();
    }, Future.succeededFuture());
    publish(messages);

    Eventually.within(WAIT, () -> assertThat(pendingTimeseries()).isZero());
    assertStoredOnceExcept(messages, Set.of(poison));
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM message_quarantine WHERE reason = 'value is NaN'")).isEqualTo(1);
    assertThat(attemptsWithPoison.get()).as("no split: the named message is taken out at once").isEqualTo(1);
  }

  @Test
  void aBatchThatKeepsFailingWhileTheStoreAnswersIsIsolated() {
    List<AcceptedMessage> messages = journal(16);
    long poison = messages.get(3).journalId();
    startFeed(batch -> batch.stream().anyMatch(m -> m.journalId() == poison)
        ? Future.failedFuture(new IllegalStateException("unexpected answer")) : Future.succeededFuture(), Future.succeededFuture());
    publish(messages);

    Eventually.within(WAIT, () -> assertThat(pendingTimeseries()).isZero());
    assertStoredOnceExcept(messages, Set.of(poison));
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM message_quarantine WHERE journal_id = " + poison
        + " AND reason LIKE 'failed % times while the store answers: unexpected answer'")).isEqualTo(1);
  }

  @Test
  void aFullDiskWhileTheStoreAnswersItsPingQuarantinesNothing() {
    List<AcceptedMessage> messages = journal(10);
    AtomicInteger failures = new AtomicInteger();
    // Pings (SELECT 1, a HEAD) still work on a full disk; every write fails for a while.
    startFeed(batch -> failures.incrementAndGet() <= 3 * JournalFeed.SUSPECT_AFTER
        ? Future.failedFuture(new io.vertx.pgclient.PgException(
            "could not extend file \"base/16384/16484\": No space left on device", "ERROR", "53100", null))
        : Future.succeededFuture(), Future.succeededFuture());
    publish(messages);

    Eventually.within(WAIT, () -> assertThat(pendingTimeseries()).isZero());
    assertStoredOnceExcept(messages, Set.of());
    assertThat(failures.get()).isGreaterThan(3 * JournalFeed.SUSPECT_AFTER);
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM message_quarantine")).isZero();
  }

  @Test
  void storeTroubleIsToldFromAMessageAtFault() {
    assertThat(StoreTrouble.is(new io.vertx.pgclient.PgException("canceling statement due to statement timeout", "ERROR", "57014",
        null))).isTrue();
    assertThat(StoreTrouble.is(new RuntimeException("put failed", new java.io.IOException("No space left on device")))).isTrue();
    assertThat(StoreTrouble.is(new IllegalStateException("S3 error: XMinioStorageFull"))).isTrue();
    assertThat(StoreTrouble.is(new io.vertx.pgclient.PgException("invalid byte sequence", "ERROR", "22021", null))).isFalse();
    assertThat(StoreTrouble.is(new IllegalStateException("unexpected answer"))).isFalse();
  }

  @Test
  void aWriterThatThrowsIsolatesTheMessageItThrowsFor() {
    List<AcceptedMessage> messages = journal(8);
    long poison = messages.get(7).journalId();
    startFeed(batch -> {
      if (batch.stream().anyMatch(m -> m.journalId() == poison)) {
        throw new ArithmeticException("overflow");
      }
      return Future.succeededFuture();
    }, Future.succeededFuture());
    publish(messages);

    Eventually.within(WAIT, () -> assertThat(pendingTimeseries()).isZero());
    assertStoredOnceExcept(messages, Set.of(poison));
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM message_quarantine WHERE journal_id = " + poison
        + " AND reason LIKE '%ArithmeticException: overflow%'")).isEqualTo(1);
  }

  @Test
  void aStoreThatIsAwayQuarantinesNothingAndGetsEverythingOnceWhenBack() {
    List<AcceptedMessage> messages = journal(12);
    AtomicBoolean down = new AtomicBoolean(true);
    AtomicInteger failures = new AtomicInteger();
    startFeed(batch -> {
      if (down.get()) {
        failures.incrementAndGet();
        return Future.failedFuture(new IllegalStateException("connection refused"));
      }
      return Future.succeededFuture();
    }, () -> down.get() ? Future.failedFuture("connection refused") : Future.succeededFuture());
    publish(messages);

    Eventually.within(WAIT, () -> assertThat(failures.get()).isGreaterThan(JournalFeed.SUSPECT_AFTER * 3));
    assertThat(pendingTimeseries()).isEqualTo(12);
    down.set(false);
    Eventually.within(WAIT, () -> assertThat(pendingTimeseries()).isZero());
    assertStoredOnceExcept(messages, Set.of());
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM message_quarantine")).isZero();
  }

  @Test
  void aJournalOutageWhileTheStoreAnswersNeverLooksLikeAPoison() {
    List<AcceptedMessage> messages = journal(10);
    io.iotmeter.support.TcpProxy proxy = io.iotmeter.support.TcpProxy.start(vertx, postgres.getInteger("port"));
    Pool journal = Database.pool(vertx, postgres.copy().put("port", proxy.port()), "feed-via-proxy");
    AtomicBoolean journalDown = new AtomicBoolean(true);
    AtomicInteger failures = new AtomicInteger();
    // The journal goes away once the feed has read the batch: the writer fails (as one that needs
    // the journal too would) while the store itself answers its ping.
    startFeed(batch -> {
      if (journalDown.get()) {
        failures.incrementAndGet();
        return Future.failedFuture(new IllegalStateException("Failed to read any response from the server"));
      }
      return Future.succeededFuture();
    }, Future::succeededFuture, journal);
    publish(messages);
    Eventually.within(WAIT, () -> assertThat(failures.get()).isPositive());
    proxy.cut();
    Eventually.within(WAIT, () -> assertThat(failures.get()).isGreaterThan(JournalFeed.SUSPECT_AFTER * 3));
    proxy.reopen();
    journalDown.set(false);
    Eventually.within(WAIT, () -> assertThat(pendingTimeseries()).isZero());
    assertStoredOnceExcept(messages, Set.of());
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM message_quarantine")).isZero();
    journal.close().await();
    proxy.close();
  }

  /**
   * The cursor's promise under concurrency: four writers append in transactions that overlap
   * (some held open while others commit), a fifth transaction keeps the horizon moving, half of
   * the messages come by the bus and half are read back, batches are small — and every appended
   * row is stored exactly once, none passed by.
   */
  @Test
  void everyRowOfOverlappingTransactionsIsStoredOnceAndNonePassedBy() throws Exception {
    Map<Long, AtomicInteger> written = new ConcurrentHashMap<>();
    JournalFeed.Options small = new JournalFeed.Options(7, Duration.ofMillis(2), 1000, 64L << 20, Duration.ofMillis(20),
        Duration.ofSeconds(10), Duration.ofMillis(5), Duration.ofMillis(40));
    feed = new JournalFeed(vertx, pool, SinkKind.TIMESERIES, batch -> {
      batch.forEach(m -> written.computeIfAbsent(m.journalId(), id -> new AtomicInteger()).incrementAndGet());
      return Future.succeededFuture();
    }, small, "test-node", Future::succeededFuture, IngestMetrics.of(registry), ready -> { });
    vertx.runOnContext(v -> feed.start());
    Set<Long> appended = ConcurrentHashMap.newKeySet();
    java.util.Random random = new java.util.Random(7);
    List<java.util.concurrent.CompletableFuture<Void>> writers = new ArrayList<>();
    for (int w = 0; w < 4; w++) {
      int writer = w;
      long seed = random.nextLong();
      writers.add(java.util.concurrent.CompletableFuture.runAsync(() -> {
        java.util.Random r = new java.util.Random(seed);
        for (int i = 0; i < 60; i++) {
          Instant now = Instant.now();
          io.iotmeter.journal.Journal.Entry entry = new io.iotmeter.journal.Journal.Entry("dc-meter-00" + writer, "telemetry",
              0, (long) i, now, "iot/dc-meter-00" + writer + "/telemetry", Datagrams.telemetry("dc-meter-00" + writer, i).encode(),
              1, "endpoint", now, (short) SinkKind.TIMESERIES.bit());
          int hold = r.nextInt(4) == 0 ? r.nextInt(30) : 0;
          List<Long> ids = pool.withTransaction(conn -> conn.query("SELECT pg_current_xact_id()").execute()
              .compose(x -> io.iotmeter.journal.Journal.append(conn, List.of(entry)))
              .compose(got -> hold == 0 ? Future.succeededFuture(got)
                  : Future.<List<Long>>future(p -> vertx.setTimer(hold, t -> p.complete(got))))).await();
          appended.addAll(ids);
          if (r.nextBoolean()) {
            vertx.eventBus().publish(BusAddress.ACCEPTED.address("telemetry"), new AcceptedMessage(ids.get(0),
                entry.deviceId(), Category.TELEMETRY, 0, entry.seq(), now, now, entry.topic(), entry.source(),
                entry.payload()).toJson());
          }
        }
      }));
    }
    for (var w : writers) {
      w.get(60, java.util.concurrent.TimeUnit.SECONDS);
    }
    Eventually.within(WAIT, () -> assertThat(pendingTimeseries()).isZero());
    assertThat(written.keySet()).as("every appended row, and nothing else").isEqualTo(appended);
    assertThat(written.values()).allSatisfy(n -> assertThat(n.get()).isEqualTo(1));
  }

  @Test
  void twoPoisonMessagesOfOneDeviceRaiseOneAlertPerHour() {
    List<AcceptedMessage> messages = journal(6);
    Set<Long> poison = Set.of(messages.get(1).journalId(), messages.get(4).journalId());
    startFeed(batch -> batch.stream().anyMatch(m -> poison.contains(m.journalId()))
        ? Future.failedFuture(new SinkRefusal("refused", Map.of())) : Future.succeededFuture(), Future.succeededFuture());
    publish(messages);

    Eventually.within(WAIT, () -> assertThat(pendingTimeseries()).isZero());
    assertStoredOnceExcept(messages, poison);
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM message_quarantine WHERE kind = 'quarantined'")).isEqualTo(2);
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM device_alerts WHERE alert_type = 'message_quarantined'")).isEqualTo(1);
  }
}
