package io.iotmeter.sink;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.iotmeter.bus.BusAddress;
import io.iotmeter.journal.AcceptedMessage;
import io.iotmeter.journal.Journal;
import io.iotmeter.journal.SinkKind;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.protocol.Category;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The failure branches of {@link JournalFeed} in milliseconds: an in-memory journal with scripted
 * failures ({@link FakeJournal}), a scripted writer, back-off of 1–4 ms and, where a stop is
 * to time out, a drain timeout of 50 ms. {@link JournalFeedTest} runs the same feed against a real journal in PostgreSQL.
 *
 * <p>Everything the feed does runs on one event loop; the fakes only record, and the test thread
 * reads what they recorded. Steps are ordered through that loop ({@link #onLoop}), not by sleeping.
 */
@Timeout(20)
class JournalFeedFailureTest {

  private static final Duration WAIT = Duration.ofSeconds(5);
  /** Long enough to see a late copy: a retry comes after 1–4 ms of back-off. */
  private static final Duration QUIET = Duration.ofMillis(150);
  private static final Duration NEVER = Duration.ofHours(1);
  /**
   * A linger that lets the messages published together go as one batch (they are all delivered
   * before its timer fires); without linger the first message goes alone at once, which the
   * tests with a write held in flight use.
   */
  private static final Duration GATHER = Duration.ofMillis(5);
  private static final String ADDRESS = BusAddress.ACCEPTED.address(Category.TELEMETRY.categoryName());

  private Vertx vertx;
  private Context loop;
  private JournalFeed feed;
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  /** What happened, in order: writes, clears, quarantines, readiness. */
  private final List<String> events = new CopyOnWriteArrayList<>();
  private final FakeJournal journal = new FakeJournal(events);
  /** How long stop() waits for its last writes: production's, except where a drain is to time out. */
  private Duration drainTimeout = JournalFeed.DRAIN_TIMEOUT;
  /** Every write the feed attempted, as journal ids. */
  private final List<List<Long>> attempts = new CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    loop = vertx.getOrCreateContext();
  }

  @AfterEach
  void tearDown() {
    vertx.close().await();
  }

  // --- a clear that fails after the store took the batch

  @Test
  void aClearThatFailsAfterAStoredWriteIsRetriedNotRewrittenAndTheSinkIsReadyAgain() {
    List<AcceptedMessage> messages = journal.append(3);
    List<Long> ids = ids(messages);
    // The store is away once (the sink reports itself not ready), then takes the batch; the
    // journal database then refuses to clear its bits three times.
    Script writes = new Script(failed("connection refused"), ok());
    journal.failClears(3);
    start(options(100, GATHER, 1000, 64L << 20, NEVER), writes);

    publish(messages);

    Eventually.within(WAIT, () -> assertThat(events).contains("ready true"));
    quiet();
    assertThat(events).containsExactly(
        "write failed " + ids, "ready false",
        "stored " + ids,
        "clear failed " + ids, "clear failed " + ids, "clear failed " + ids,
        "cleared " + ids, "ready true");
    assertThat(attempts).as("one failed write, one stored write, no rewrite").containsExactly(ids, ids);
    assertThat(journal.pendingIds()).isEmpty();
    assertThat(feed.ready()).isTrue();
    assertThat(feed.lastError()).isNull();
  }

  // --- stop(): one attempt each, and a drain that times out

  @Test
  void aStopGivesWhatIsBufferedOneAttemptEachAndWhatFailsStaysPending() {
    List<AcceptedMessage> messages = journal.append(5);
    Promise<Void> firstWrite = Promise.promise();
    // The first batch (message 1) is in flight while 2..5 gather behind it, two per batch.
    Script writes = new Script(held(firstWrite), failed("connection refused"), ok());
    start(options(2, Duration.ZERO, 1000, 64L << 20, NEVER), writes);
    publish(messages);
    Eventually.within(WAIT, () -> assertThat(attempts).hasSize(1));

    CompletableFuture<Void> stopped = onLoopLater(feed::stop);
    pause(QUIET);
    assertThat(stopped).as("the stop waits for the write in flight").isNotDone();
    onLoop(() -> {
      firstWrite.complete();
      return Future.succeededFuture();
    });
    join(stopped);

    quiet();
    List<Long> ids = ids(messages);
    assertThat(attempts).as("one attempt each, no retry while stopping")
        .containsExactly(ids.subList(0, 1), ids.subList(1, 3), ids.subList(3, 5));
    assertThat(journal.pendingIds()).as("the batch that failed waits in the journal for the next start")
        .containsExactlyElementsOf(ids.subList(1, 3));
  }

  @Test
  void aStopWhoseDrainTimesOutLeavesTheMessagesPendingLogsAndStillCompletes() {
    List<AcceptedMessage> messages = journal.append(3);
    // The store never answers: message 1 hangs in flight, 2 and 3 wait behind it.
    Script writes = new Script(held(Promise.promise()));
    drainTimeout = Duration.ofMillis(50);
    start(options(100, Duration.ZERO, 1000, 64L << 20, NEVER), writes);
    publish(messages);
    Eventually.within(WAIT, () -> assertThat(attempts).hasSize(1));

    Logger log = (Logger) LoggerFactory.getLogger(JournalFeed.class);
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.start();
    log.addAppender(logged);
    try {
      long started = System.nanoTime();
      onLoop(feed::stop);
      assertThat(Duration.ofNanos(System.nanoTime() - started)).as("the injected 50 ms, not 10 s")
          .isLessThan(Duration.ofSeconds(2));
    } finally {
      log.detachAppender(logged);
    }

    assertThat(journal.pendingIds()).containsExactlyElementsOf(ids(messages));
    assertThat(events).noneMatch(e -> e.startsWith("cleared"));
    assertThat(logged.list).extracting(ILoggingEvent::getFormattedMessage)
        .containsExactly("timeseries sink stopped with 3 messages unwritten; they stay in the journal");
  }

  // --- a full buffer

  @Test
  void offersBeyondMaxBufferAreDroppedFromMemoryAndRecoveryBringsThemBack() {
    offersBeyondAFullBufferAreDroppedAndRecovered(options(100, Duration.ZERO, 3, 64L << 20, Duration.ofMillis(5)));
  }

  @Test
  void offersBeyondMaxBufferBytesAreDroppedFromMemoryAndRecoveryBringsThemBack() {
    // Exactly three messages' heap fits; the fourth would pass the bound by its own size.
    long footprint = message(1).footprint();
    assertThat(message(6).footprint()).isEqualTo(footprint);
    offersBeyondAFullBufferAreDroppedAndRecovered(options(100, Duration.ZERO, 1000, 3 * footprint, Duration.ofMillis(5)));
  }

  private void offersBeyondAFullBufferAreDroppedAndRecovered(JournalFeed.Options options) {
    List<AcceptedMessage> messages = journal.append(6);
    List<Long> ids = ids(messages);
    Promise<Void> firstWrite = Promise.promise();
    // Message 1 in flight, 2..4 fill the buffer, 5 and 6 find it full.
    Script writes = new Script(held(firstWrite), ok());
    start(options, writes);
    publish(messages);
    Eventually.within(WAIT, () -> assertThat(attempts).hasSize(1));
    onLoop(() -> {
      firstWrite.complete();
      return Future.succeededFuture();
    });

    // Recovery scans run but see nothing yet (the rows are within recovery_grace): 5 and 6
    // were not kept in memory, so nothing writes them.
    Eventually.within(WAIT, () -> assertThat(journal.pendingIds()).containsExactlyElementsOf(ids.subList(4, 6)));
    int scans = journal.scans();
    Eventually.within(WAIT, () -> assertThat(journal.scans()).isGreaterThan(scans + 3));
    assertThat(attempts).containsExactly(ids.subList(0, 1), ids.subList(1, 4));

    journal.graceOver();
    Eventually.within(WAIT, () -> assertThat(journal.pendingIds()).isEmpty());
    quiet();
    // Recovered one at a time: without linger each offer is written at once.
    assertThat(attempts).containsExactly(ids.subList(0, 1), ids.subList(1, 4), ids.subList(4, 5), ids.subList(5, 6));
  }

  // --- a recovery scan that races the fast path

  @Test
  void aRowStoredWhileARecoveryScanReadItIsNotWrittenAgain() {
    List<AcceptedMessage> messages = journal.append(2);
    AcceptedMessage fast = messages.get(0);
    AcceptedMessage missed = messages.get(1);
    journal.graceOver();
    // The first scan (at start) reads both rows as pending; its answer is held back while the
    // fast path stores and clears the first.
    journal.holdNextScan();
    start(options(100, Duration.ZERO, 1000, 64L << 20, Duration.ofMillis(5)), new Script(ok()));
    Eventually.within(WAIT, () -> assertThat(journal.heldSnapshot()).containsExactly(fast.journalId(), missed.journalId()));

    publish(List.of(fast));
    Eventually.within(WAIT, () -> assertThat(events).contains("cleared " + List.of(fast.journalId())));
    int scans = journal.scans();
    onLoop(() -> {
      journal.releaseHeldScan();
      return Future.succeededFuture();
    });

    // Later scans run only after the held one was handled: by then any copy is written.
    Eventually.within(WAIT, () -> assertThat(journal.scans()).isGreaterThan(scans + 2));
    Eventually.within(WAIT, () -> assertThat(journal.pendingIds()).isEmpty());
    quiet();
    assertThat(attempts).as("the stored row once; the row the fast path missed, recovered")
        .containsExactly(List.of(fast.journalId()), List.of(missed.journalId()));
  }

  // --- quarantine

  @Test
  void quarantiningARowPrunedMeanwhileQuarantinesAndCountsNothingAndTheMessagesBehindFlow() {
    List<AcceptedMessage> messages = journal.append(3);
    long poison = messages.get(1).journalId();
    // Another node quarantined it first and the journal pruned the row.
    journal.prune(poison);
    start(options(100, GATHER, 1000, 64L << 20, NEVER), refusing(poison));

    publish(messages);

    Eventually.within(WAIT, () -> assertThat(journal.pendingIds()).isEmpty());
    quiet();
    List<Long> rest = List.of(messages.get(0).journalId(), messages.get(2).journalId());
    assertThat(events).containsExactly("write failed " + ids(messages), "nothing to quarantine " + poison,
        "stored " + rest, "cleared " + rest, "ready true");
    assertThat(journal.quarantined()).isEmpty();
    assertThat(quarantinedCount()).isZero();
  }

  @Test
  void aQuarantineWhileTheJournalDatabaseIsAwayIsRetriedAndTheMessagesBehindFlow() {
    List<AcceptedMessage> messages = journal.append(3);
    long poison = messages.get(1).journalId();
    journal.failQuarantines(3);
    start(options(100, GATHER, 1000, 64L << 20, NEVER), refusing(poison));

    publish(messages);

    Eventually.within(WAIT, () -> assertThat(journal.pendingIds()).isEmpty());
    quiet();
    List<Long> rest = List.of(messages.get(0).journalId(), messages.get(2).journalId());
    assertThat(events).containsExactly("write failed " + ids(messages),
        "quarantine failed " + poison, "quarantine failed " + poison, "quarantine failed " + poison,
        "quarantined " + poison, "stored " + rest, "cleared " + rest, "ready true");
    assertThat(journal.quarantined()).containsExactly(Map.entry(poison, "value is NaN"));
    assertThat(quarantinedCount()).isEqualTo(1.0);
  }

  // --- the harness

  private static JournalFeed.Options options(int maxBatch, Duration linger, int maxBuffer, long maxBufferBytes,
                                             Duration recoveryInterval) {
    return new JournalFeed.Options(maxBatch, linger, maxBuffer, maxBufferBytes, recoveryInterval, Duration.ZERO,
        Duration.ofMillis(1), Duration.ofMillis(4));
  }

  private void start(JournalFeed.Options options, SinkWriter writer) {
    SinkWriter recording = batch -> {
      List<Long> ids = ids(batch);
      attempts.add(ids);
      return writer.write(batch)
          .onSuccess(v -> events.add("stored " + ids))
          .onFailure(e -> events.add("write failed " + ids));
    };
    feed = new JournalFeed(vertx, journal, SinkKind.TIMESERIES, recording, options, Future::succeededFuture,
        IngestMetrics.of(registry), ready -> events.add("ready " + ready), drainTimeout);
    onLoop(feed::start);
  }

  /** Publishes as the intake does; the deliveries are queued on the loop before any later {@link #onLoop} step. */
  private void publish(List<AcceptedMessage> messages) {
    onLoop(() -> {
      messages.forEach(m -> vertx.eventBus().publish(ADDRESS, m.toJson()));
      return Future.succeededFuture();
    });
  }

  private <T> T onLoop(Supplier<Future<T>> step) {
    return join(onLoopLater(step));
  }

  private <T> CompletableFuture<T> onLoopLater(Supplier<Future<T>> step) {
    CompletableFuture<T> result = new CompletableFuture<>();
    loop.runOnContext(v -> step.get().onComplete(done -> {
      if (done.succeeded()) {
        result.complete(done.result());
      } else {
        result.completeExceptionally(done.cause());
      }
    }));
    return result;
  }

  private static <T> T join(CompletableFuture<T> future) {
    try {
      return future.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static void quiet() {
    pause(QUIET);
  }

  private static void pause(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private double quarantinedCount() {
    return registry.get("mqtt_collector.messages.errors").tag("error_type", "quarantined").counter().count();
  }

  private static List<Long> ids(List<AcceptedMessage> messages) {
    return messages.stream().map(AcceptedMessage::journalId).toList();
  }

  static AcceptedMessage message(long id) {
    Instant received = Datagrams.T0.plusSeconds(id);
    return new AcceptedMessage(id, "dc-meter-001", Category.TELEMETRY, 0, id, received, received,
        "iot/dc-meter-001/telemetry", "endpoint", Datagrams.telemetry("dc-meter-001", id).encode());
  }

  private static Function<List<AcceptedMessage>, Future<Void>> ok() {
    return batch -> Future.succeededFuture();
  }

  private static Function<List<AcceptedMessage>, Future<Void>> failed(String error) {
    return batch -> Future.failedFuture(new IllegalStateException(error));
  }

  private static Function<List<AcceptedMessage>, Future<Void>> held(Promise<Void> answer) {
    return batch -> answer.future();
  }

  /** A store that refuses every batch holding {@code poison}, naming it. */
  private static SinkWriter refusing(long poison) {
    return batch -> batch.stream().anyMatch(m -> m.journalId() == poison)
        ? Future.failedFuture(new SinkRefusal("1 message cannot be written", Map.of(poison, "value is NaN")))
        : Future.succeededFuture();
  }

  /** A writer that answers its calls in turn; the last answer repeats. */
  private static final class Script implements SinkWriter {
    private final List<Function<List<AcceptedMessage>, Future<Void>>> answers;
    private int calls;

    @SafeVarargs
    Script(Function<List<AcceptedMessage>, Future<Void>>... answers) {
      this.answers = List.of(answers);
    }

    @Override
    public Future<Void> write(List<AcceptedMessage> batch) {
      return answers.get(Math.min(calls++, answers.size() - 1)).apply(batch);
    }
  }

  /**
   * The journal of one sink in memory: its pending rows, and failures on request. Called by the
   * feed on its loop and read by the test thread, hence synchronized.
   */
  static final class FakeJournal implements FeedJournal {
    private final List<String> events;
    private final Map<Long, AcceptedMessage> pending = new TreeMap<>();
    private final Map<Long, String> quarantined = new LinkedHashMap<>();
    /** False: every row is younger than recovery_grace, so the scans find nothing. */
    private boolean graceOver;
    private boolean holdNextScan;
    private final AtomicReference<Promise<List<AcceptedMessage>>> heldScan = new AtomicReference<>();
    private List<AcceptedMessage> heldSnapshot = List.of();
    private int scans;
    private int clearsToFail;
    private int quarantinesToFail;

    FakeJournal(List<String> events) {
      this.events = events;
    }

    /** Rows 1..count, pending for the sink (as the intake appends them). */
    synchronized List<AcceptedMessage> append(int count) {
      List<AcceptedMessage> messages = new ArrayList<>();
      for (long id = 1; id <= count; id++) {
        messages.add(message(id));
        pending.put(id, messages.get(messages.size() - 1));
      }
      return messages;
    }

    synchronized void prune(long id) {
      pending.remove(id);
    }

    synchronized void graceOver() {
      graceOver = true;
    }

    synchronized void failClears(int times) {
      clearsToFail = times;
    }

    synchronized void failQuarantines(int times) {
      quarantinesToFail = times;
    }

    /** The next scan reads the rows then, and answers when {@link #releaseHeldScan} is called. */
    synchronized void holdNextScan() {
      holdNextScan = true;
    }

    synchronized List<Long> heldSnapshot() {
      return ids(heldSnapshot);
    }

    /** On the feed's loop: the held scan answers with what it read. */
    void releaseHeldScan() {
      List<AcceptedMessage> snapshot;
      synchronized (this) {
        snapshot = heldSnapshot;
      }
      heldScan.get().complete(snapshot);
    }

    /** The rows still pending, in id order. */
    synchronized List<Long> pendingIds() {
      return List.copyOf(pending.keySet());
    }

    synchronized Map<Long, String> quarantined() {
      return Map.copyOf(quarantined);
    }

    synchronized int scans() {
      return scans;
    }

    @Override
    public synchronized Future<List<AcceptedMessage>> pending(SinkKind sink, Duration olderThan, int limit) {
      scans++;
      List<AcceptedMessage> snapshot = graceOver ? pending.values().stream().limit(limit).toList() : List.of();
      if (holdNextScan) {
        holdNextScan = false;
        heldSnapshot = snapshot;
        heldScan.set(Promise.promise());
        return heldScan.get().future();
      }
      return Future.succeededFuture(snapshot);
    }

    @Override
    public synchronized Future<Void> clear(SinkKind sink, List<Long> journalIds) {
      if (clearsToFail > 0) {
        clearsToFail--;
        events.add("clear failed " + journalIds);
        return Future.failedFuture(new IllegalStateException("Connection refused"));
      }
      journalIds.forEach(pending::remove);
      events.add("cleared " + journalIds);
      return Future.succeededFuture();
    }

    @Override
    public synchronized Future<Journal.Backlog> backlog(SinkKind sink) {
      return Future.succeededFuture(new Journal.Backlog(pending.size(), null));
    }

    @Override
    public Future<Void> ping() {
      return Future.succeededFuture();
    }

    @Override
    public synchronized Future<Boolean> quarantine(SinkKind sink, long journalId, String reason) {
      if (quarantinesToFail > 0) {
        quarantinesToFail--;
        events.add("quarantine failed " + journalId);
        return Future.failedFuture(new IllegalStateException("Connection refused"));
      }
      if (pending.remove(journalId) == null) {
        events.add("nothing to quarantine " + journalId);
        return Future.succeededFuture(false);
      }
      quarantined.put(journalId, reason);
      events.add("quarantined " + journalId);
      return Future.succeededFuture(true);
    }
  }
}
