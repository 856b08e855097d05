package io.iotmeter.sink;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.iotmeter.bus.BusAddress;
import io.iotmeter.protocol.AcceptedMessage;
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
  private static final Duration OFTEN = Duration.ofMillis(5);
  private static final Duration LEASE = Duration.ofSeconds(30);
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
  /** What happened, in order: claims, loads, writes, cursor moves, quarantines, readiness. */
  private final List<String> events = new CopyOnWriteArrayList<>();
  private final FakeJournal journal = new FakeJournal(events);
  /** How long stop() waits for the batch under way: production's, except where a drain is to time out. */
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

  /** Starts the feed, waits until it holds the cursor, and forgets the claim's event. */
  private void started(JournalFeed.Options options, SinkWriter writer) {
    start(options, writer);
    Eventually.within(WAIT, () -> assertThat(events).contains("claimed"));
    quiet(); // the claim's first read, of an empty journal, is over
    events.clear();
  }

  // --- a cursor that cannot be saved after the store took the batch

  @Test
  void aCursorThatCannotBeSavedAfterAStoredWriteIsRetriedNotRewrittenAndTheSinkIsReadyAgain() {
    // The store is away once (the sink reports itself not ready), then takes the batch; the
    // journal database then refuses to move the cursor three times.
    started(options(100, GATHER, 1000, 64L << 20, NEVER), new Script(failed("connection refused"), ok()));
    journal.failAdvances(3);
    List<AcceptedMessage> messages = journal.append(3);
    List<Long> ids = ids(messages);
    publish(messages);

    Eventually.within(WAIT, () -> assertThat(events).contains("advanced 3"));
    quiet();
    assertThat(events).containsExactly(
        "write failed " + ids, "ready false",
        "stored " + ids, "ready true",
        "advance failed 3", "advance failed 3", "advance failed 3",
        "advanced 3");
    assertThat(attempts).as("one failed write, one stored write, no rewrite").containsExactly(ids, ids);
    assertThat(journal.pendingIds()).isEmpty();
    assertThat(feed.ready()).isTrue();
    assertThat(feed.lastError()).isNull();
    assertThat(feed.heldCount()).isZero();
  }

  // --- stop(): the batch under way, and a drain that times out

  @Test
  void aStopLetsTheBatchUnderWayFinishThenGivesTheCursorUpAndStartsNoOther() {
    Promise<Void> firstWrite = Promise.promise();
    started(options(2, Duration.ZERO, 1000, 64L << 20, NEVER), new Script(held(firstWrite), ok()));
    List<AcceptedMessage> messages = journal.append(5);
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
    assertThat(attempts).as("the batch under way, and no other").containsExactly(ids.subList(0, 2));
    assertThat(events).endsWith("advanced 2", "released");
    assertThat(journal.pendingIds()).as("the rest waits in the journal for the next start")
        .containsExactlyElementsOf(ids.subList(2, 5));
  }

  @Test
  void aStopWhoseDrainTimesOutLeavesTheBatchInTheJournalLogsAndStillCompletes() {
    // The store never answers: the batch hangs in flight.
    drainTimeout = Duration.ofMillis(50);
    started(options(100, Duration.ZERO, 1000, 64L << 20, NEVER), new Script(held(Promise.promise())));
    List<AcceptedMessage> messages = journal.append(3);
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
    assertThat(events).noneMatch(e -> e.startsWith("advanced")).endsWith("released");
    assertThat(logged.list).extracting(ILoggingEvent::getFormattedMessage)
        .containsExactly("timeseries sink stopped with a batch unwritten; it stays in the journal");
  }

  // --- a full buffer: the batch loads the rest from the journal

  @Test
  void messagesBeyondMaxBufferAreLoadedFromTheJournalByTheirBatch() {
    beyondAFullBufferTheBatchLoadsFromTheJournal(options(100, Duration.ZERO, 3, 64L << 20, NEVER));
  }

  @Test
  void messagesBeyondMaxBufferBytesAreLoadedFromTheJournalByTheirBatch() {
    // Exactly three messages' heap fits; the fourth would pass the bound by its own size.
    long footprint = message(1).footprint();
    assertThat(message(6).footprint()).isEqualTo(footprint);
    beyondAFullBufferTheBatchLoadsFromTheJournal(options(100, Duration.ZERO, 1000, 3 * footprint, NEVER));
  }

  private void beyondAFullBufferTheBatchLoadsFromTheJournal(JournalFeed.Options options) {
    Promise<Void> firstWrite = Promise.promise();
    started(options, new Script(held(firstWrite), ok()));
    // Message 1 in flight (its batch holds it, not the buffer); 2..4 fill the buffer, 5 and 6 find it full.
    List<AcceptedMessage> first = journal.append(1);
    publish(first);
    Eventually.within(WAIT, () -> assertThat(attempts).hasSize(1));
    List<AcceptedMessage> rest = journal.append(5);
    publish(rest);
    Eventually.within(WAIT, () -> assertThat(feed.heldCount()).isEqualTo(3));
    onLoop(() -> {
      firstWrite.complete();
      return Future.succeededFuture();
    });

    Eventually.within(WAIT, () -> assertThat(journal.pendingIds()).isEmpty());
    quiet();
    assertThat(attempts).containsExactly(List.of(1L), List.of(2L, 3L, 4L, 5L, 6L));
    assertThat(events).contains("loaded [5, 6]").noneMatch(e -> e.startsWith("loaded [1") || e.startsWith("loaded [2"));
    assertThat(registry.get("mqtt_collector.journal.read.back").tag("sink", "timeseries").counter().count()).isEqualTo(2.0);
  }

  // --- the archive's window

  @Test
  void aWindowGathersWhatArrivesWithinItIntoOneBatchAndTheLooksIntoTheJournalDoNotCutIt() {
    // The window is 300 ms; the feed looks into the journal every 5 ms all the same.
    started(options(100, Duration.ofMillis(300), 1000, 64L << 20, OFTEN), new Script(ok()));
    List<AcceptedMessage> first = journal.append(2);
    publish(first);
    pause(Duration.ofMillis(100));
    List<AcceptedMessage> second = journal.append(2);
    publish(second);
    Eventually.within(WAIT, () -> assertThat(journal.pendingIds()).isEmpty());
    quiet();
    assertThat(attempts).containsExactly(List.of(1L, 2L, 3L, 4L));
  }

  @Test
  void aWindowStaysOpenWhileMessagesKeepComingClosesAtItsEndAndAfterALingerOfQuiet() {
    // Window 400 ms, linger 150 ms: a message every 50 ms keeps the window open until its end.
    started(windowed(Duration.ofMillis(150), Duration.ofMillis(400)), new Script(ok()));
    long first = System.nanoTime();
    List<Long> sentAtMs = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      publish(journal.append(1));
      sentAtMs.add((System.nanoTime() - first) / 1_000_000);
      pause(Duration.ofMillis(50));
    }
    Eventually.within(WAIT, () -> assertThat(journal.pendingIds()).isEmpty());
    assertThat(attempts).as("the window closed once while the messages kept coming").hasSizeGreaterThanOrEqualTo(2);
    // Measured against when each was sent, not against the loop's nominal 50 ms (a busy machine
    // stretches it): the linger never closed the window early, and the window held no more than
    // its 400 ms (with room for the feed's own look, every 25 ms here).
    int firstBatch = attempts.get(0).size();
    // A linger counted from the window's opening (not from the last message) would cut at 150 ms:
    // everything sent before 200 ms is in the first batch.
    long early = sentAtMs.stream().filter(ms -> ms < 200).count();
    assertThat((long) firstBatch).as("the linger (150 ms) did not close a window whose messages came every ~50 ms: sent at %s",
        sentAtMs).isGreaterThanOrEqualTo(early);
    assertThat(sentAtMs.get(firstBatch - 1)).as("the first batch's last message was sent within the window: sent at %s",
        sentAtMs).isLessThan(400 + 150);
    assertThat(attempts.stream().flatMap(List::stream).toList()).containsExactlyElementsOf(journal.allIds());

    // Quiet: a lone message goes after the linger, not after the window.
    attempts.clear();
    long started = System.nanoTime();
    publish(journal.append(1));
    Eventually.within(WAIT, () -> assertThat(attempts).hasSize(1));
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofMillis(400));
  }

  @Test
  void aFullBufferClosesTheWindowEarly() {
    started(options(100, NEVER, 3, 64L << 20, NEVER), new Script(ok()));
    List<AcceptedMessage> messages = journal.append(5);
    publish(messages);
    Eventually.within(WAIT, () -> assertThat(journal.pendingIds()).isEmpty());
    assertThat(attempts).as("the fourth found the buffer full: the batch went at once").containsExactly(ids(messages));
  }

  // --- a publication that arrives after its row was read

  @Test
  void aMessagePublishedAfterItsRowWasStoredIsForgottenNotWrittenAgain() {
    started(options(100, Duration.ZERO, 1000, 64L << 20, OFTEN), new Script(ok()));
    List<AcceptedMessage> messages = journal.append(2);
    // Read from the journal before their publication arrives.
    Eventually.within(WAIT, () -> assertThat(events).contains("advanced 2"));
    publish(messages);

    Eventually.within(WAIT, () -> assertThat(feed.heldCount()).isZero());
    quiet();
    assertThat(attempts).containsExactly(ids(messages));
  }

  // --- quarantine

  @Test
  void aMessageAnotherNodeQuarantinedFirstIsNotCountedAndTheMessagesBehindFlow() {
    // Found by the first read after the claim, and loaded from the journal.
    List<AcceptedMessage> messages = journal.append(3);
    long poison = messages.get(1).journalId();
    journal.quarantinedElsewhere(poison);
    start(options(100, GATHER, 1000, 64L << 20, NEVER), refusing(poison));

    Eventually.within(WAIT, () -> assertThat(journal.pendingIds()).isEmpty());
    quiet();
    List<Long> rest = List.of(messages.get(0).journalId(), messages.get(2).journalId());
    assertThat(events).containsExactly("claimed", "loaded " + ids(messages), "write failed " + ids(messages),
        "nothing to quarantine " + poison,
        "stored " + rest, "ready true", "advanced 3");
    assertThat(journal.quarantined()).isEmpty();
    assertThat(quarantinedCount()).isZero();
  }

  @Test
  void aQuarantineWhileTheJournalDatabaseIsAwayIsRetriedAndTheMessagesBehindFlow() {
    List<AcceptedMessage> messages = journal.append(3);
    long poison = messages.get(1).journalId();
    journal.failQuarantines(3);
    start(options(100, GATHER, 1000, 64L << 20, NEVER), refusing(poison));

    Eventually.within(WAIT, () -> assertThat(journal.pendingIds()).isEmpty());
    quiet();
    List<Long> rest = List.of(messages.get(0).journalId(), messages.get(2).journalId());
    assertThat(events).containsExactly("claimed", "loaded " + ids(messages), "write failed " + ids(messages),
        "quarantine failed " + poison, "quarantine failed " + poison, "quarantine failed " + poison,
        "quarantined " + poison, "stored " + rest, "ready true", "advanced 3");
    assertThat(journal.quarantined()).containsExactly(Map.entry(poison, "value is NaN"));
    assertThat(quarantinedCount()).isEqualTo(1.0);
  }

  // --- the cursor's lease

  @Test
  void whileAnotherNodeHoldsTheCursorNothingIsWrittenOrHeldHereAndOnceFreeItIsTakenOver() {
    journal.heldElsewhere(true);
    start(options(100, Duration.ZERO, 1000, 64L << 20, OFTEN), new Script(ok()));
    List<AcceptedMessage> messages = journal.append(3);
    publish(messages);
    quiet();
    assertThat(attempts).isEmpty();
    assertThat(feed.heldCount()).isZero();

    journal.heldElsewhere(false);
    Eventually.within(WAIT, () -> assertThat(journal.pendingIds()).isEmpty());
    assertThat(attempts).as("read from the journal, once").containsExactly(ids(messages));
    assertThat(events).contains("claimed", "loaded " + ids(messages));
  }

  @Test
  void aFeedThatLostTheCursorStopsWritingAndHoldsNothing() {
    started(options(100, GATHER, 1000, 64L << 20, NEVER), new Script(ok()));
    journal.loseOnNextAdvance();
    List<AcceptedMessage> first = journal.append(3);
    publish(first);
    Eventually.within(WAIT, () -> assertThat(events).contains("lost"));
    List<AcceptedMessage> later = journal.append(2);
    publish(later);
    quiet();

    assertThat(attempts).as("stored once; the new owner goes on from its own cursor").containsExactly(ids(first));
    assertThat(feed.owning()).isFalse();
    assertThat(feed.heldCount()).isZero();
  }

  @Test
  void anUnfinishedBatchIsRebuiltExactlyBeforeAnythingElseAndEveryNewBatchIsRecordedBeforeItsWrite() {
    journal.append(5);
    journal.unfinishedUpTo(2);
    start(options(100, Duration.ZERO, 1000, 64L << 20, NEVER), new Script(ok()), true);

    Eventually.within(WAIT, () -> assertThat(events).contains("advanced 5"));
    quiet();
    assertThat(attempts).containsExactly(List.of(1L, 2L), List.of(3L, 4L, 5L));
    assertThat(events).containsExactly("claimed",
        "loaded [1, 2]", "stored [1, 2]", "ready true", "advanced 2",
        "loaded [3, 4, 5]", "begun 5", "stored [3, 4, 5]", "ready true", "advanced 5");
  }

  // --- the harness

  private static JournalFeed.Options options(int maxBatch, Duration linger, int maxBuffer, long maxBufferBytes,
                                             Duration recoveryInterval) {
    return new JournalFeed.Options(maxBatch, linger, maxBuffer, maxBufferBytes, recoveryInterval, LEASE,
        Duration.ofMillis(1), Duration.ofMillis(4));
  }

  private static JournalFeed.Options windowed(Duration linger, Duration window) {
    return new JournalFeed.Options(1000, linger, 1000, 64L << 20, OFTEN, LEASE, Duration.ofMillis(1), Duration.ofMillis(4),
        window);
  }

  private void start(JournalFeed.Options options, SinkWriter writer) {
    start(options, writer, false);
  }

  private void start(JournalFeed.Options options, SinkWriter writer, boolean rebuildsBatches) {
    SinkWriter recording = new SinkWriter() {
      @Override
      public Future<Void> write(List<AcceptedMessage> batch) {
        List<Long> ids = ids(batch);
        attempts.add(ids);
        return writer.write(batch)
            .onSuccess(v -> events.add("stored " + ids))
            .onFailure(e -> events.add("write failed " + ids));
      }

      @Override
      public boolean rebuildsBatches() {
        return rebuildsBatches;
      }
    };
    feed = new JournalFeed(vertx, journal, SinkKind.TIMESERIES, recording, options, "this-node", Future::succeededFuture,
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
   * The journal of one sink in memory: its rows (a row's position is its id), the sink's cursor
   * and its lease, and failures on request. Called by the feed on its loop and read by the test
   * thread, hence synchronized.
   */
  static final class FakeJournal implements FeedJournal {
    private final List<String> events;
    private final TreeMap<Long, AcceptedMessage> rows = new TreeMap<>();
    private final Map<Long, String> quarantined = new LinkedHashMap<>();
    private final java.util.Set<Long> quarantinedElsewhere = new java.util.HashSet<>();
    private Journal.Position cursor = Journal.Position.START;
    private Journal.Position batchEnd;
    private String holder;
    private boolean heldElsewhere;
    private boolean loseOnNextAdvance;
    private int advancesToFail;
    private int quarantinesToFail;

    FakeJournal(List<String> events) {
      this.events = events;
    }

    /** {@code count} more rows for the sink (as the intake appends them), numbered on from the last. */
    synchronized List<AcceptedMessage> append(int count) {
      List<AcceptedMessage> messages = new ArrayList<>();
      long next = rows.isEmpty() ? 1 : rows.lastKey() + 1;
      for (long id = next; id < next + count; id++) {
        messages.add(message(id));
        rows.put(id, messages.get(messages.size() - 1));
      }
      return messages;
    }

    synchronized void quarantinedElsewhere(long id) {
      quarantinedElsewhere.add(id);
    }

    synchronized void heldElsewhere(boolean held) {
      heldElsewhere = held;
    }

    synchronized void loseOnNextAdvance() {
      loseOnNextAdvance = true;
    }

    synchronized void unfinishedUpTo(long id) {
      batchEnd = new Journal.Position(id, id);
    }

    synchronized void failAdvances(int times) {
      advancesToFail = times;
    }

    synchronized void failQuarantines(int times) {
      quarantinesToFail = times;
    }

    synchronized List<Long> allIds() {
      return List.copyOf(rows.keySet());
    }

    /** The rows after the cursor, in order. */
    synchronized List<Long> pendingIds() {
      return List.copyOf(rows.tailMap(cursor.id(), false).keySet());
    }

    synchronized Map<Long, String> quarantined() {
      return Map.copyOf(quarantined);
    }

    @Override
    public synchronized Future<java.util.Optional<Journal.Claim>> claim(SinkKind sink, String owner, Duration lease) {
      if (heldElsewhere) {
        return Future.succeededFuture(java.util.Optional.empty());
      }
      holder = owner;
      events.add("claimed");
      return Future.succeededFuture(java.util.Optional.of(new Journal.Claim(cursor, batchEnd)));
    }

    @Override
    public synchronized Future<List<Journal.Position>> next(SinkKind sink, Journal.Position after, Journal.Position until,
                                                            int limit) {
      return Future.succeededFuture(rows.tailMap(after.id(), false).keySet().stream()
          .filter(id -> until == null || id <= until.id()).limit(limit).map(id -> new Journal.Position(id, id)).toList());
    }

    @Override
    public synchronized Future<Map<Long, AcceptedMessage>> messages(java.util.Collection<Long> ids) {
      if (!ids.isEmpty()) {
        events.add("loaded " + ids);
      }
      Map<Long, AcceptedMessage> found = new LinkedHashMap<>();
      ids.forEach(id -> found.put(id, rows.get(id)));
      return Future.succeededFuture(found);
    }

    @Override
    public synchronized Future<Boolean> beginBatch(SinkKind sink, String owner, Journal.Position end, Duration lease) {
      if (!owner.equals(holder)) {
        return Future.succeededFuture(false);
      }
      batchEnd = end;
      events.add("begun " + end.id());
      return Future.succeededFuture(true);
    }

    @Override
    public synchronized Future<Boolean> advance(SinkKind sink, String owner, Journal.Position to, Duration lease) {
      if (to == null) {
        return Future.succeededFuture(owner.equals(holder));
      }
      if (advancesToFail > 0) {
        advancesToFail--;
        events.add("advance failed " + to.id());
        return Future.failedFuture(new IllegalStateException("Connection refused"));
      }
      if (loseOnNextAdvance) {
        loseOnNextAdvance = false;
        heldElsewhere = true;
        holder = "another-node";
        events.add("lost");
      }
      if (!owner.equals(holder)) {
        return Future.succeededFuture(false);
      }
      cursor = to;
      batchEnd = null;
      events.add("advanced " + to.id());
      return Future.succeededFuture(true);
    }

    @Override
    public synchronized Future<Void> release(SinkKind sink, String owner) {
      if (owner.equals(holder)) {
        holder = null;
        events.add("released");
      }
      return Future.succeededFuture();
    }

    @Override
    public synchronized Future<Journal.Backlog> backlog(SinkKind sink) {
      return Future.succeededFuture(new Journal.Backlog(pendingIds().size(), null));
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
      if (quarantinedElsewhere.contains(journalId) || !rows.containsKey(journalId)) {
        events.add("nothing to quarantine " + journalId);
        return Future.succeededFuture(false);
      }
      quarantined.put(journalId, reason);
      events.add("quarantined " + journalId);
      return Future.succeededFuture(true);
    }
  }
}
