package io.iotmeter.sink;

import io.iotmeter.support.MigratedDatabase;
import io.iotmeter.archive.ObjectStore;
import io.iotmeter.archive.ObjectStores;
import io.iotmeter.archive.StoredObject;
import io.iotmeter.embedded.EmbeddedS3Server;
import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.journal.Journal;
import io.iotmeter.journal.SinkKind;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.support.Eventually;
import io.vertx.core.Promise;
import io.iotmeter.protocol.Category;
import io.iotmeter.support.Datagrams;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The archive's promise, against real S3 (S3Proxy) and a real journal: one object per device and
 * category of a batch, and every record archived once — also when a node that lost the sink's
 * cursor finishes its write after the new owner wrote the same messages.
 */
@Timeout(60)
class ArchiveWriterTest {

  @TempDir
  Path s3Data;

  private Vertx vertx;
  private Pool pool;
  private EmbeddedS3Server s3;
  private ObjectStore store;
  private WorkerExecutor workers;
  private final Timer timer = Timer.builder("t").register(new SimpleMeterRegistry());
  private final List<JournalFeed> feeds = new ArrayList<>();

  @RegisterExtension
  final MigratedDatabase db = new MigratedDatabase("archive-test");

  @BeforeEach
  void setUp() {
    vertx = db.vertx();
    pool = db.pool();
    s3 = EmbeddedS3Server.start(s3Data, 0, "minioadmin", "minioadmin123");
    store = ObjectStores.open(new JsonObject().put("endpoint", s3.endpoint()).put("access_key", "minioadmin")
        .put("secret_key", "minioadmin123").put("bucket", "iot-data"));
    workers = vertx.createSharedWorkerExecutor("archive-test", 4);
  }

  @AfterEach
  void tearDown() {
    feeds.forEach(f -> vertx.runOnContext(v -> f.stop()));
    store.close();
    s3.close();
    workers.close().await();
  }

  private ArchiveWriter writer() {
    return new ArchiveWriter(store, workers, timer, vertx, 4, java.time.Duration.ZERO, ArchiveWriter.MIN_PUTS_PER_S);
  }

  /** Messages of {@code device}, seqs from..to, appended to the journal for the archive. */
  private List<AcceptedMessage> journal(String device, long from, long to) {
    Instant received = Instant.now();
    List<Journal.Entry> entries = new ArrayList<>();
    for (long seq = from; seq <= to; seq++) {
      entries.add(new Journal.Entry(device, "telemetry", 0, seq, received, "iot/" + device + "/telemetry",
          Datagrams.telemetry(device, seq).encode(), 2, "endpoint", received, (short) SinkKind.ARCHIVE.bit()));
    }
    List<Long> ids = pool.withTransaction(conn -> Journal.append(conn, entries)).await();
    List<AcceptedMessage> messages = new ArrayList<>();
    for (int i = 0; i < entries.size(); i++) {
      Journal.Entry e = entries.get(i);
      messages.add(new AcceptedMessage(ids.get(i), device, Category.TELEMETRY, 0, e.seq(), received, received, e.topic(),
          e.source(), e.payload()));
    }
    return messages;
  }

  /** Every archived record's seq, by object key, of one device. */
  private Map<String, List<Long>> archive(String device) {
    Map<String, List<Long>> objects = new HashMap<>();
    for (StoredObject o : store.list(device + "/", 1000)) {
      List<Long> seqs = new ArrayList<>();
      new String(store.get(o.key()), StandardCharsets.UTF_8).lines()
          .forEach(line -> seqs.add(new JsonObject(line).getJsonObject("data").getLong("seq")));
      objects.put(o.key(), seqs);
    }
    return objects;
  }

  private List<Long> allRecords(String device) {
    return archive(device).values().stream().flatMap(List::stream).sorted().toList();
  }

  @Test
  void aBatchIsOneObjectPerDeviceAndCategoryNamedAfterItsFirstRecordAndWritingItAgainChangesNothing() {
    List<AcceptedMessage> batch = new ArrayList<>(journal("dc-meter-001", 1, 3));
    batch.addAll(journal("dc-meter-002", 1, 2));
    batch.add(journal("dc-meter-001", 4, 4).get(0));
    writer().write(batch).await();
    Map<String, List<Long>> first = archive("dc-meter-001");
    assertThat(first).containsOnlyKeys(ArchiveRecord.key(batch.get(0)));
    assertThat(first.values()).containsExactly(List.of(1L, 2L, 3L, 4L));
    assertThat(archive("dc-meter-002")).containsOnlyKeys(ArchiveRecord.key(batch.get(3)));

    writer().write(batch).await();
    assertThat(archive("dc-meter-001")).isEqualTo(first);
  }

  /** Writes a batch on an event-loop context, as the feed does, and waits for it. */
  private long writeOnContext(ArchiveWriter writer, List<AcceptedMessage> batch) {
    long begin = System.nanoTime();
    Promise<Void> written = Promise.promise();
    vertx.runOnContext(v -> writer.write(batch).onComplete(written));
    written.future().await();
    return (System.nanoTime() - begin) / 1_000_000;
  }

  /** One message of each of {@code devices} meters: a batch of that many objects. */
  private List<AcceptedMessage> oneEach(String prefix, int devices) {
    List<AcceptedMessage> batch = new ArrayList<>();
    for (int d = 0; d < devices; d++) {
      batch.addAll(journal(prefix + d, 1, 1));
    }
    return batch;
  }

  /**
   * Beyond the burst, a batch's objects start evenly over the spread: 12 objects, 2 at once and
   * the other 10 over 1.5 s, so the twelfth starts 1.25 s after the first (unpaced the batch
   * takes a few tens of milliseconds here). Every object is written all the same. With a spread
   * longer than the slowest pace allows, the pace is the slowest: 12 objects, 10 of them at
   * 10 a second, in a second.
   */
  @Test
  void aBatchBeyondTheBurstIsWrittenOverTheSpreadAndWhole() {
    ArchiveWriter paced = new ArchiveWriter(store, workers, timer, vertx, 2, java.time.Duration.ofMillis(1500), 1);
    long ms = writeOnContext(paced, oneEach("paced-", 12));
    assertThat(ms).isGreaterThanOrEqualTo(1200);
    for (int d = 0; d < 12; d++) {
      assertThat(archive("paced-" + d)).hasSize(1);
    }
    ArchiveWriter atSlowestPace = new ArchiveWriter(store, workers, timer, vertx, 2, java.time.Duration.ofSeconds(60), 10);
    assertThat(writeOnContext(atSlowestPace, oneEach("slowest-", 12))).isBetween(900L, 5000L);
    // A batch within the burst goes at once.
    assertThat(writeOnContext(paced, oneEach("small-", 2))).isLessThan(1000);
  }

  /**
   * A record that cannot be made (a payload read back from the journal, spanning lines, that is no
   * JSON) refuses exactly its device's messages, named by journal id; the other objects are written.
   */
  @Test
  void aRecordThatCannotBeMadeRefusesExactlyItsMessages() {
    List<AcceptedMessage> batch = new ArrayList<>(journal("good-meter", 1, 2));
    AcceptedMessage good = batch.get(0);
    AcceptedMessage broken = new AcceptedMessage(good.journalId() + 1_000_000, "broken-meter", Category.TELEMETRY, 0, 1L,
        good.deviceTs(), good.receivedAt(), "iot/broken-meter/telemetry", good.source(), "not\njson");
    batch.add(broken);
    Throwable failure = writer().write(batch).toCompletionStage().toCompletableFuture().handle((r, e) -> e).join();
    if (failure instanceof java.util.concurrent.CompletionException wrapped) {
      failure = wrapped.getCause();
    }
    assertThat(failure).isInstanceOf(SinkRefusal.class);
    assertThat(((SinkRefusal) failure).offenders()).containsOnlyKeys(broken.journalId());
    Eventually.within(java.time.Duration.ofSeconds(10), () -> assertThat(archive("good-meter")).hasSize(1));
  }

  /** A write that fails fails the batch, and the writes not yet started are not started. */
  @Test
  void aFailedWriteStopsTheRestOfAPacedBatch() throws InterruptedException {
    java.util.concurrent.atomic.AtomicInteger puts = new java.util.concurrent.atomic.AtomicInteger();
    ObjectStore failingThird = new ObjectStore() {
      @Override public void ensureBucket() { store.ensureBucket(); }
      @Override public void put(String key, byte[] content, String contentType) {
        if (puts.incrementAndGet() == 3) {
          throw new io.iotmeter.archive.ObjectStoreException("refused for the test", null);
        }
        store.put(key, content, contentType);
      }
      @Override public List<StoredObject> list(String prefix, int limit) { return store.list(prefix, limit); }
      @Override public byte[] get(String key) { return store.get(key); }
      @Override public void ping() { store.ping(); }
      @Override public void close() { }
    };
    ArchiveWriter paced = new ArchiveWriter(failingThird, workers, timer, vertx, 1, java.time.Duration.ofMillis(1000), 1);
    List<AcceptedMessage> batch = oneEach("fails-", 10);
    Promise<Void> written = Promise.promise();
    vertx.runOnContext(v -> paced.write(batch).onComplete(written));
    assertThat(written.future().toCompletionStage().toCompletableFuture().handle((r, e) -> e).join())
        .hasMessageContaining("refused for the test");
    Thread.sleep(1200); // the rest of the spread: nothing more starts
    assertThat(puts.get()).isEqualTo(3);
  }

  /**
   * Node A begins a batch and stalls before its write; its lease runs out and node B, which cuts
   * smaller batches, takes the cursor over. B first rebuilds A's batch exactly (its end was
   * recorded), so when A's late write lands it replaces B's object with the very same records.
   * Without the recorded end, B would write records 1–4 under A's key and 5–10 under others, and
   * A's late write would bring 5–10 back a second time.
   */
  @Test
  void aStalledOwnersLateWriteDoublesNothingBecauseTheNewOwnerRebuildsItsBatch() {
    List<AcceptedMessage> messages = journal("dc-meter-001", 1, 10);
    Promise<Void> stalled = Promise.promise();
    SinkWriter real = writer();
    SinkWriter late = new SinkWriter() {
      @Override
      public Future<Void> write(List<AcceptedMessage> batch) {
        return stalled.future().compose(v -> real.write(batch));
      }

      @Override
      public boolean rebuildsBatches() {
        return true;
      }
    };
    // Node A looks once only: its rows must be readable by then — the journal reads a row once no
    // transaction older than it still runs (a busy machine may have one open for a moment).
    Eventually.within(java.time.Duration.ofSeconds(10), () -> assertThat(io.iotmeter.support.TestPostgres.count(db.postgres(),
        "SELECT count(*) FROM journal WHERE tx >= pg_snapshot_xmin(pg_current_snapshot())")).isZero());
    // Node A stalls: after its first look it neither writes nor renews its lease.
    feed("node-a", late, 100, java.time.Duration.ofHours(1));
    Eventually.within(java.time.Duration.ofSeconds(10), () -> assertThat(io.iotmeter.support.TestPostgres.count(db.postgres(),
        "SELECT count(*) FROM journal_cursor WHERE owner = 'node-a' AND batch_id IS NOT NULL")).isEqualTo(1));

    feed("node-b", real, 4, java.time.Duration.ofMillis(100));
    Eventually.within(java.time.Duration.ofSeconds(10),
        () -> assertThat(Journal.backlog(pool, SinkKind.ARCHIVE).await().messages()).isZero());
    assertThat(archive("dc-meter-001")).as("node B rebuilt node A's batch: one object of ten")
        .containsOnlyKeys(ArchiveRecord.key(messages.get(0)));

    vertx.runOnContext(v -> stalled.complete());
    Eventually.within(java.time.Duration.ofSeconds(10), () -> assertThat(timer.count()).isEqualTo(2));
    assertThat(allRecords("dc-meter-001")).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L);
  }

  private void feed(String owner, SinkWriter writer, int maxBatch, java.time.Duration interval) {
    JournalFeed.Options options = new JournalFeed.Options(maxBatch, java.time.Duration.ZERO, 1000, 64L << 20,
        interval, java.time.Duration.ofMillis(300), java.time.Duration.ofMillis(5),
        java.time.Duration.ofMillis(40));
    JournalFeed feed = new JournalFeed(vertx, FeedJournal.on(pool), SinkKind.ARCHIVE, writer, options, owner,
        Future::succeededFuture, IngestMetrics.of(new SimpleMeterRegistry()), ready -> { }, JournalFeed.DRAIN_TIMEOUT);
    feeds.add(feed);
    vertx.runOnContext(v -> feed.start());
  }
}
