package io.iotmeter.sink;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.journal.Journal;
import io.iotmeter.journal.Journal.Position;
import io.iotmeter.journal.SinkKind;
import io.iotmeter.ops.Backoff;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.protocol.Category;
import io.iotmeter.quarantine.QuarantineStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.sqlclient.Pool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Feeds one sink from the intake journal. The sink reads the journal after its cursor, in the
 * journal's order, one batch at a time, and moves its cursor once the batch is stored: nothing
 * is skipped, and a restart goes on where the cursor stands. The fast path only spares the reads:
 * what the intake publishes as it commits is held here (bounded, in count and bytes), and a batch
 * loads from the journal only the payloads it does not hold — after a restart, a full buffer or
 * rows another node accepted.
 *
 * <p>One node feeds a sink at a time: the feed holds the sink's cursor under a lease, renewed as
 * it goes and given up when it stops; another node's feed takes over when the lease runs out.
 * While a batch is being written new messages gather, so batches grow with the load. A failed
 * batch is retried with exponential back-off, and the sink reports itself not ready until a
 * write succeeds again.
 *
 * <p>A message the store cannot take never stops the sink: a batch the store refuses is split
 * until the message at fault is found, and that message goes to the quarantine
 * ({@link QuarantineStore}: kept with its reason, archived, counted, alerted, replayable) while
 * every message behind it keeps flowing.
 */
public final class JournalFeed {

  private static final Logger LOG = LoggerFactory.getLogger(JournalFeed.class);

  /**
   * Tuning of a feed. {@code window}: a batch waits at most this long for more messages — as long
   * as they keep coming (the archive's objects hold what a device sent over a window); zero: a
   * batch waits {@code linger} once a message is there.
   */
  public record Options(int maxBatch, Duration linger, int maxBuffer, long maxBufferBytes, Duration recoveryInterval,
                        Duration lease, Duration minBackoff, Duration maxBackoff, Duration window) {

    /** A feed without a window. */
    public Options(int maxBatch, Duration linger, int maxBuffer, long maxBufferBytes, Duration recoveryInterval,
                   Duration lease, Duration minBackoff, Duration maxBackoff) {
      this(maxBatch, linger, maxBuffer, maxBufferBytes, recoveryInterval, lease, minBackoff, maxBackoff, Duration.ZERO);
    }

    /** A sink's section ({@code sinks.<sink>}), over its defaults; the archive's has a {@code window_s}. */
    public static Options of(io.iotmeter.config.Settings sink) {
      return new Options(
          sink.integer("max_batch"),
          sink.millis("linger_ms"),
          sink.integer("max_buffer"),
          sink.whole("max_buffer_bytes"),
          sink.millis("recovery_interval_ms"),
          sink.millis("lease_ms"),
          sink.millis("min_backoff_ms"),
          sink.millis("max_backoff_ms"),
          sink.json().containsKey("window_s") ? Duration.ofMillis(Math.round(sink.number("window_s") * 1000)) : Duration.ZERO);
    }

    /** The longest a message waits for its batch to start. */
    Duration longestWait() {
      return window.compareTo(linger) > 0 ? window : linger;
    }
  }

  /** Failures of one batch after which the store is pinged: if it answers, the batch holds a message at fault. */
  static final int SUSPECT_AFTER = 3;

  /** How long stop() waits for the batch under way. */
  static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(10);

  private final Vertx vertx;
  private final FeedJournal journal;
  private final Duration drainTimeout;
  private final Supplier<Future<Void>> ping;
  private final IngestMetrics metrics;
  private final SinkKind kind;
  private final SinkWriter writer;
  private final Options options;
  private final String owner;
  private final java.util.function.Consumer<Boolean> readiness;
  /** What the intake published that no batch has taken yet, by journal id (the fast path). */
  private final Map<Long, AcceptedMessage> held = new LinkedHashMap<>();
  /** Heap of {@link #held}, about ({@link AcceptedMessage#footprint}; bounded by {@code max_buffer_bytes}). */
  private long heldBytes;
  private final List<MessageConsumer<?>> consumers = new ArrayList<>();
  /** Whether this feed holds the sink's cursor. */
  private boolean owning;
  /** Every row up to here is stored (valid while {@link #owning}). */
  private Position cursor;
  /** The end of a batch that was begun and not finished: the next batch is exactly that one. */
  private Position unfinished;
  /** A claim, a read or a batch is under way: one at a time. */
  private boolean busy;
  private boolean lingering;
  /** When the batch now lingering began to wait, and when the last message came (nanoseconds). */
  private long windowOpenedAt;
  private long lastOfferAt;
  private long renewedAt;
  /** When the last read for a batch began (nanoseconds). */
  private long batchStartedAt;
  /** Set by stop(): no new batches; the one under way gets its chance to finish. */
  private boolean stopping;
  private final Backoff backoff;
  private long tickTimer = -1;
  private long backlogTimer = -1;
  private volatile String lastError;

  /**
   * @param owner     this feed's name in the cursor's lease (unique per node)
   * @param ping      whether the store answers (asked when a batch keeps failing)
   * @param readiness told after each write whether the store took it
   */
  public JournalFeed(Vertx vertx, Pool pool, SinkKind kind, SinkWriter writer, Options options, String owner,
                     Supplier<Future<Void>> ping, IngestMetrics metrics, java.util.function.Consumer<Boolean> readiness) {
    this(vertx, FeedJournal.on(pool), kind, writer, options, owner, ping, metrics, readiness, DRAIN_TIMEOUT);
  }

  /**
   * The seam of the fast tests (JournalFeedFailureTest): a fake journal, and a drain timeout of
   * their own. Production uses the public constructor.
   */
  JournalFeed(Vertx vertx, FeedJournal journal, SinkKind kind, SinkWriter writer, Options options, String owner,
              Supplier<Future<Void>> ping, IngestMetrics metrics, java.util.function.Consumer<Boolean> readiness,
              Duration drainTimeout) {
    this.vertx = vertx;
    this.journal = journal;
    this.drainTimeout = drainTimeout;
    this.ping = ping;
    this.metrics = metrics;
    this.kind = kind;
    this.writer = writer;
    this.options = options;
    this.owner = owner;
    this.readiness = readiness;
    this.backoff = new Backoff(options.minBackoff(), options.maxBackoff());
  }

  public Future<Void> start() {
    for (Category category : kind.categories()) {
      // Node-local: each node's sinks take what its own intake accepted (the journal has the rest).
      MessageConsumer<Object> consumer = vertx.eventBus().localConsumer(
          BusAddress.ACCEPTED.address(category.categoryName()), msg -> offer(AcceptedMessage.of(msg.body())));
      consumers.add(consumer);
    }
    tickTimer = vertx.setPeriodic(0, options.recoveryInterval().toMillis(), id -> tick());
    backlogTimer = io.iotmeter.ops.Periodic.every(vertx, BACKLOG_INTERVAL.toMillis(), kind.configName() + " journal backlog", LOG,
        this::measureBacklog);
    return Future.all(consumers.stream().map(MessageConsumer::completion).toList()).mapEmpty();
  }

  private static final Duration BACKLOG_INTERVAL = Duration.ofSeconds(10);

  /** What this sink has still to store, for {@code mqtt_collector_journal_pending{sink}} and the age of its oldest message. */
  private Future<?> measureBacklog() {
    return journal.backlog(kind).onSuccess(backlog -> metrics.journalBacklog(kind.configName(), backlog.messages(),
        backlog.oldest() == null ? 0 : Math.max(0, Duration.between(backlog.oldest(), java.time.Instant.now()).toSeconds())));
  }

  /** Stops taking batches, lets the one under way finish (for a while) and gives the cursor up. */
  public Future<Void> stop() {
    stopping = true;
    vertx.cancelTimer(tickTimer);
    vertx.cancelTimer(backlogTimer);
    return Future.all(consumers.stream().map(MessageConsumer::unregister).toList())
        .compose(v -> idle())
        .recover(e -> {
          LOG.warn("{} sink stopped with a batch unwritten; it stays in the journal", kind.configName());
          return Future.succeededFuture();
        })
        .compose(v -> owning ? journal.release(kind, owner).recover(e -> Future.succeededFuture()) : Future.succeededFuture())
        .onComplete(v -> {
          owning = false;
          clearHeld();
        });
  }

  public boolean ready() {
    return lastError == null;
  }

  public String lastError() {
    return lastError;
  }

  /** Whether this feed holds the sink's cursor (the tests ask). */
  boolean owning() {
    return owning;
  }

  /** How many published messages this feed holds for its next batches (the tests ask). */
  int heldCount() {
    return held.size();
  }

  private Future<Void> idle() {
    if (!busy) {
      return Future.succeededFuture();
    }
    return Future.future(promise -> {
      long timer = vertx.setPeriodic(20, id -> {
        if (!busy) {
          vertx.cancelTimer(id);
          promise.tryComplete();
        }
      });
      vertx.setTimer(drainTimeout.toMillis(), id -> {
        vertx.cancelTimer(timer);
        promise.tryFail("drain timed out");
      });
    });
  }

  // ---------------------------------------------------------------- the cursor and its lease

  /** Every recovery interval: claims the cursor if nobody holds it, renews the lease, reads what came meanwhile. */
  private void tick() {
    if (stopping) {
      return;
    }
    if (!owning) {
      claim();
      return;
    }
    long now = System.nanoTime();
    if (now - renewedAt > options.lease().toNanos() / 3) {
      // Also while a batch is retried through a store outage: the outage is the same for every node.
      renewedAt = now;
      journal.advance(kind, owner, null, options.lease()).onSuccess(held -> {
        if (!held) {
          lost();
        }
      }).onFailure(e -> LOG.debug("{} sink: renewing the lease failed: {}", kind.configName(), e.getMessage()));
    }
    // What the fast path did not bring (another node's rows, a full buffer) — but not more often
    // than a batch waits: the archive's objects stay a window long.
    if (now - batchStartedAt >= options.longestWait().toNanos()) {
      pull();
    }
  }

  private void claim() {
    if (busy) {
      return;
    }
    busy = true;
    journal.claim(kind, owner, options.lease()).onComplete(claimed -> {
      busy = false;
      if (claimed.failed()) {
        LOG.warn("{} sink: claiming the journal cursor failed: {}", kind.configName(), claimed.cause().getMessage());
        return;
      }
      Optional<Journal.Claim> claim = claimed.result();
      if (claim.isEmpty()) {
        return; // another node feeds this sink
      }
      owning = true;
      renewedAt = System.nanoTime();
      cursor = claim.get().cursor();
      unfinished = claim.get().batchEnd();
      LOG.info("{} sink: feeding from the journal after {}{}", kind.configName(), cursor,
          unfinished == null ? "" : ", first the unfinished batch up to " + unfinished);
      pull();
    });
  }

  /** Another node holds the cursor now: what is held here is its business (it reads it from the journal). */
  private void lost() {
    if (owning) {
      LOG.warn("{} sink: another node took over the journal cursor", kind.configName());
    }
    owning = false;
    clearHeld();
  }

  // ---------------------------------------------------------------- the fast path

  private void offer(AcceptedMessage message) {
    if (stopping || !owning) {
      return;
    }
    // A writer that does not read the parsed measurements is not made to hold them (the archive
    // holds its window: the payload alone is a third of the heap).
    AcceptedMessage kept = writer.usesParsed() ? message : message.withoutParsed();
    if (held.size() >= options.maxBuffer() || heldBytes + kept.footprint() > options.maxBufferBytes()) {
      pull(); // full: the batch goes now; this message is loaded from the journal
      return;
    }
    if (held.putIfAbsent(kept.journalId(), kept) == null) {
      heldBytes += kept.footprint();
    }
    lastOfferAt = System.nanoTime();
    schedule();
  }

  /**
   * Starts the next batch at once when one is full, else once the linger has passed — with a
   * window, once messages stopped coming for a linger, or the window has passed: one write of many
   * messages costs the store (and the shared CPU) far less than many writes of one, and a quiet
   * platform still writes at once.
   */
  private void schedule() {
    if (busy || lingering) {
      return;
    }
    if (held.size() >= options.maxBatch() || options.linger().isZero() || nearlyFull()) {
      pull();
      return;
    }
    lingering = true;
    windowOpenedAt = System.nanoTime();
    vertx.setTimer(options.linger().toMillis(), id -> lingered());
  }

  private void lingered() {
    long now = System.nanoTime();
    long quietFor = now - lastOfferAt;
    long open = now - windowOpenedAt;
    long linger = options.linger().toNanos();
    long window = options.window().toNanos();
    if (quietFor >= linger || open >= window) {
      lingering = false;
      pull();
      return;
    }
    long next = Math.max(1, Math.min(linger - quietFor, window - open) / 1_000_000);
    vertx.setTimer(next, id -> lingered());
  }

  private boolean nearlyFull() {
    return held.size() * 10L >= options.maxBuffer() * 9L || heldBytes * 10 >= options.maxBufferBytes() * 9;
  }

  private void clearHeld() {
    held.clear();
    heldBytes = 0;
  }

  private void release(List<Long> ids) {
    for (Long id : ids) {
      AcceptedMessage message = held.remove(id);
      if (message != null) {
        heldBytes -= message.footprint();
      }
    }
  }

  // ---------------------------------------------------------------- batches

  /** Reads the next batch after the cursor and stores it; goes on while full batches come. */
  private void pull() {
    if (busy || !owning || stopping) {
      return;
    }
    busy = true;
    batchStartedAt = System.nanoTime();
    Position until = unfinished;
    int limit = until == null ? options.maxBatch() : Integer.MAX_VALUE;
    List<Long> heldBefore = new ArrayList<>(held.keySet());
    journal.next(kind, cursor, until, limit)
        .compose(positions -> {
          if (positions.isEmpty()) {
            forgetPassed(heldBefore, Set.of());
            if (until != null) {
              return moveCursor(until).map(false);
            }
            return Future.succeededFuture(false);
          }
          if (positions.size() < limit) {
            // Held messages the read should have found but did not are behind the cursor already
            // (read from the journal before their publication arrived): nothing will take them.
            Set<Long> found = new HashSet<>();
            positions.forEach(p -> found.add(p.id()));
            forgetPassed(heldBefore, found);
          }
          // A full batch, or the unfinished one rebuilt: more may be waiting behind it.
          return batch(positions, until != null).map(positions.size() == limit || until != null);
        })
        .onComplete(done -> {
          busy = false;
          if (done.failed()) {
            if (!stopping) {
              LOG.warn("{} sink: reading the journal failed ({}); trying again in {} ms", kind.configName(),
                  done.cause().getMessage(), options.recoveryInterval().toMillis());
            }
          } else if (done.result()) {
            pull(); // more is waiting
          } else if (!held.isEmpty()) {
            schedule(); // what came during the write: the next batch (held messages found behind the cursor are forgotten then)
          }
        });
  }

  private void forgetPassed(List<Long> heldBefore, Set<Long> found) {
    List<Long> passed = new ArrayList<>();
    for (Long id : heldBefore) {
      if (!found.contains(id)) {
        passed.add(id);
      }
    }
    release(passed);
  }

  /**
   * One batch: the held messages and the rest from the journal, its end recorded first where the
   * writer needs its batches rebuilt exactly, stored, then the cursor moved past it.
   */
  private Future<Void> batch(List<Position> positions, boolean rebuilding) {
    List<Long> ids = new ArrayList<>(positions.size());
    List<Long> missing = new ArrayList<>();
    for (Position p : positions) {
      ids.add(p.id());
      if (!held.containsKey(p.id())) {
        missing.add(p.id());
      }
    }
    Position end = positions.get(positions.size() - 1);
    return journal.messages(missing).compose(loaded -> {
      List<AcceptedMessage> batch = new ArrayList<>(ids.size());
      for (Long id : ids) {
        AcceptedMessage message = held.containsKey(id) ? held.get(id) : loaded.get(id);
        if (message == null) {
          // Never pass a row unwritten: the batch is read again (the cursor has not moved).
          LOG.error("{} sink: journal row {} of a batch was neither held nor found; reading the batch again",
              kind.configName(), id);
          return Future.failedFuture(new IllegalStateException("journal row " + id + " not found"));
        }
        batch.add(message);
      }
      // The batch holds them now: the buffer takes what arrives while it is written.
      release(ids);
      if (!missing.isEmpty()) {
        metrics.journalReadBack(kind.configName(), missing.size());
      }
      Future<Boolean> begun = writer.rebuildsBatches() && !rebuilding
          ? journal.beginBatch(kind, owner, end, options.lease())
          : Future.succeededFuture(true);
      return begun.compose(stillOwner -> {
        if (!stillOwner) {
          lost();
          return Future.succeededFuture();
        }
        unfinished = writer.rebuildsBatches() ? end : null;
        return store(batch, 0).compose(v -> moveCursor(end));
      });
    });
  }

  /** Every row up to {@code to} is stored: the cursor moves there, retried while the journal database is away. */
  private Future<Void> moveCursor(Position to) {
    return journal.advance(kind, owner, to, options.lease()).transform(moved -> {
      if (moved.succeeded()) {
        if (moved.result()) {
          cursor = to;
          unfinished = null;
          renewedAt = System.nanoTime();
        } else {
          lost(); // stored all the same; the new owner writes it again, which changes nothing
        }
        return Future.succeededFuture();
      }
      if (stopping) {
        return Future.failedFuture(moved.cause()); // stored; the next start writes it again, which changes nothing
      }
      unfinished = to;
      Duration delay = backoff.next();
      LOG.warn("{} sink: saving the journal cursor failed ({}); retrying in {} ms", kind.configName(),
          moved.cause().getMessage(), delay.toMillis());
      return later(delay).compose(v -> moveCursor(to));
    });
  }

  /**
   * Stores the batch; retries with back-off while the store is away. A batch
   * the store refuses ({@link SinkRefusal}), or one that keeps failing while the store answers
   * its ping, holds a message at fault: it is isolated ({@link #isolate}) instead of blocking
   * the sink for every device.
   *
   * @param failures how often this batch failed already (at {@link #SUSPECT_AFTER} the store is pinged)
   */
  private Future<Void> store(List<AcceptedMessage> batch, int failures) {
    return attemptWrite(batch).transform(written -> {
      if (written.succeeded()) {
        return stored(batch);
      }
      Throwable e = written.cause();
      if (e instanceof SinkRefusal refusal && !stopping) {
        return isolate(batch, refusal); // the store works; a message does not
      }
      lastError = kind.configName() + " store: " + e.getMessage();
      readiness.accept(false);
      if (stopping) {
        return Future.failedFuture(e); // the journal keeps it for the next start
      }
      int failed = failures + 1;
      if (failed < SUSPECT_AFTER || StoreTrouble.is(e)) {
        return retryLater(batch, Math.min(failed, SUSPECT_AFTER), e);
      }
      return suspect(batch, failed, e);
    });
  }

  /**
   * The same batch keeps failing. If the store and the journal both answer (writers use the
   * journal too: a journal outage must never look like a poison) one more write tells a passing
   * outage — it succeeds now — from a message at fault: only a write that fails while everything
   * answers isolates the batch.
   */
  private Future<Void> suspect(List<AcceptedMessage> batch, int failed, Throwable e) {
    return bothAnswer().transform(pinged -> {
      if (pinged.failed()) {
        return retryLater(batch, failed, e);
      }
      return attemptWrite(batch).transform(again -> {
        if (again.succeeded()) {
          return stored(batch);
        }
        Throwable cause = again.cause();
        if (cause instanceof SinkRefusal refusal) {
          return isolate(batch, refusal);
        }
        if (StoreTrouble.is(cause)) {
          return retryLater(batch, failed, cause);
        }
        return bothAnswer().transform(still -> still.succeeded()
            ? isolate(batch, new SinkRefusal("failed " + (failed + 1) + " times while the store answers: " + cause.getMessage(), Map.of()))
            : retryLater(batch, failed, cause));
      });
    });
  }

  private Future<Void> stored(List<AcceptedMessage> batch) {
    lastError = null;
    backoff.reset();
    readiness.accept(true);
    return Future.succeededFuture();
  }

  private Future<Void> bothAnswer() {
    return ping.get().compose(v -> journal.ping());
  }

  /** A synchronous exception of the writer is a fault of the batch (the store was not even asked). */
  private Future<Void> attemptWrite(List<AcceptedMessage> batch) {
    try {
      return writer.write(batch);
    } catch (RuntimeException e) {
      return Future.failedFuture(new SinkRefusal("the " + kind.configName() + " writer failed: " + e, Map.of()));
    }
  }

  private Future<Void> retryLater(List<AcceptedMessage> batch, int failures, Throwable e) {
    // Counted per failed write, under the reference's names for its two stores.
    metrics.error(switch (kind) {
      case ARCHIVE -> "minio_store";
      case TIMESERIES -> "influxdb_write";
      case REGISTRY -> "registry_write";
    });
    Duration delay = backoff.next();
    LOG.warn("{} sink: writing {} messages failed ({}); retrying in {} ms", kind.configName(), batch.size(),
        e.getMessage(), delay.toMillis());
    return later(delay).compose(v -> store(batch, failures));
  }

  /**
   * Finds the messages at fault: the ones a refusal names are quarantined and the rest stored;
   * otherwise the batch is split in halves, each stored on its own (a half that fails again is
   * split at once), down to the single message, which is quarantined.
   */
  private Future<Void> isolate(List<AcceptedMessage> batch, SinkRefusal refusal) {
    if (!refusal.offenders().isEmpty()) {
      List<AcceptedMessage> rest = new ArrayList<>(batch.size());
      Future<Void> quarantined = Future.succeededFuture();
      for (AcceptedMessage message : batch) {
        String reason = refusal.offenders().get(message.journalId());
        if (reason == null) {
          rest.add(message);
        } else {
          quarantined = quarantined.compose(v -> quarantine(message, reason));
        }
      }
      return quarantined.compose(v -> rest.isEmpty() ? Future.succeededFuture() : store(rest, 0));
    }
    if (batch.size() == 1) {
      return quarantine(batch.get(0), refusal.getMessage());
    }
    // Halves that fail again are split at once; a single message only after failing
    // SUSPECT_AFTER times on its own (a store that flapped meanwhile must not cost it).
    List<AcceptedMessage> first = new ArrayList<>(batch.subList(0, batch.size() / 2));
    List<AcceptedMessage> second = new ArrayList<>(batch.subList(batch.size() / 2, batch.size()));
    return store(first, first.size() == 1 ? 0 : SUSPECT_AFTER - 1)
        .compose(v -> store(second, second.size() == 1 ? 0 : SUSPECT_AFTER - 1));
  }

  /** Moves one message to the quarantine (retried while the journal database is away). */
  private Future<Void> quarantine(AcceptedMessage message, String reason) {
    return journal.quarantine(kind, message.journalId(), reason)
        .transform(done -> {
          if (done.succeeded()) {
            if (done.result()) {
              metrics.error("quarantined");
              org.slf4j.MDC.put("device_id", message.deviceId());
              try {
                LOG.warn("{} sink: quarantined message {} of {} ({} seq {}): {}", kind.configName(), message.journalId(),
                    message.deviceId(), message.category().categoryName(), message.seq(), reason);
              } finally {
                org.slf4j.MDC.remove("device_id");
              }
            }
            return Future.succeededFuture();
          }
          if (stopping) {
            return Future.failedFuture(done.cause());
          }
          Duration delay = backoff.next();
          LOG.warn("{} sink: quarantining message {} failed ({}); retrying in {} ms", kind.configName(),
              message.journalId(), done.cause().getMessage(), delay.toMillis());
          return later(delay).compose(v -> quarantine(message, reason));
        });
  }

  private Future<Void> later(Duration delay) {
    return Future.future(p -> vertx.setTimer(Math.max(1, delay.toMillis()), id -> p.complete()));
  }
}
