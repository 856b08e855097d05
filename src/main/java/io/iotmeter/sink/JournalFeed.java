package io.iotmeter.sink;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.journal.AcceptedMessage;
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
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Feeds one sink from the intake journal: the fast path takes accepted messages as the intake
 * publishes them; after a batch is stored, the sink's bit is cleared in the journal. Whatever
 * the fast path misses — the buffer was full, the store was down, the node restarted — is still
 * pending in the journal, and a periodic recovery scan brings it back. So nothing is lost, and
 * memory stays bounded.
 *
 * <p>One batch is written at a time; while it is in flight new messages gather, so batches grow
 * with the load. A failed batch is retried with exponential back-off, and the sink reports
 * itself not ready until a write succeeds again.
 *
 * <p>A message the store cannot take never stops the sink: a batch the store refuses is split
 * until the message at fault is found, and that message goes to the quarantine
 * ({@link QuarantineStore}: kept with its reason, archived, counted, alerted, replayable) while
 * every message behind it keeps flowing.
 */
public final class JournalFeed {

  private static final Logger LOG = LoggerFactory.getLogger(JournalFeed.class);

  /** Tuning of a feed. */
  public record Options(int maxBatch, Duration linger, int maxBuffer, long maxBufferBytes, Duration recoveryInterval,
                        Duration recoveryGrace, Duration minBackoff, Duration maxBackoff) {

    /** A sink's section ({@code sinks.<sink>}), over its defaults. */
    public static Options of(io.iotmeter.config.Settings sink) {
      return new Options(
          sink.integer("max_batch"),
          sink.millis("linger_ms"),
          sink.integer("max_buffer"),
          sink.whole("max_buffer_bytes"),
          sink.millis("recovery_interval_ms"),
          sink.millis("recovery_grace_ms"),
          sink.millis("min_backoff_ms"),
          sink.millis("max_backoff_ms"));
    }
  }

  /** Failures of one batch after which the store is pinged: if it answers, the batch holds a message at fault. */
  static final int SUSPECT_AFTER = 3;

  /** How long stop() waits for the last attempt to store what is buffered. */
  static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(10);

  private final Vertx vertx;
  private final FeedJournal journal;
  private final Duration drainTimeout;
  private final Supplier<Future<Void>> ping;
  private final IngestMetrics metrics;
  private final SinkKind kind;
  private final SinkWriter writer;
  private final Options options;
  private final java.util.function.Consumer<Boolean> readiness;
  private final Deque<AcceptedMessage> buffer = new ArrayDeque<>();
  /** Heap of {@link #buffer}, about ({@link AcceptedMessage#footprint}; bounded by {@code max_buffer_bytes}). */
  private long bufferBytes;
  /** Journal ids buffered or being written, so recovery does not queue them twice. */
  private final Set<Long> queued = new HashSet<>();
  private final List<MessageConsumer<?>> consumers = new ArrayList<>();
  private boolean writing;
  private boolean lingering;
  private boolean recovering;
  /** Ids stored while a recovery scan is under way (null when none is). */
  private Set<Long> storedDuringRecovery;
  /** Set by stop(): no new messages; what is buffered gets one attempt each. */
  private boolean stopping;
  private final Backoff backoff;
  private long recoveryTimer;
  private volatile String lastError;

  /**
   * @param ping      whether the store answers (asked when a batch keeps failing)
   * @param readiness told after each write whether the store took it
   */
  public JournalFeed(Vertx vertx, Pool pool, SinkKind kind, SinkWriter writer, Options options,
                     Supplier<Future<Void>> ping, IngestMetrics metrics, java.util.function.Consumer<Boolean> readiness) {
    this(vertx, FeedJournal.on(pool), kind, writer, options, ping, metrics, readiness, DRAIN_TIMEOUT);
  }

  /**
   * The seam of the fast tests (JournalFeedFailureTest): a fake journal, and a drain timeout of
   * their own (milliseconds where a stop is to time out). Production uses the public constructor.
   */
  JournalFeed(Vertx vertx, FeedJournal journal, SinkKind kind, SinkWriter writer, Options options,
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
    recoveryTimer = vertx.setPeriodic(0, options.recoveryInterval().toMillis(), id -> recover());
    backlogTimer = io.iotmeter.ops.Periodic.every(vertx, BACKLOG_INTERVAL.toMillis(), kind.configName() + " journal backlog", LOG,
        this::measureBacklog);
    return Future.all(consumers.stream().map(MessageConsumer::completion).toList()).mapEmpty();
  }

  private static final Duration BACKLOG_INTERVAL = Duration.ofSeconds(10);
  private long backlogTimer = -1;

  /** What this sink has still to store, for {@code mqtt_collector_journal_pending{sink}} and the age of its oldest message. */
  private Future<?> measureBacklog() {
    return journal.backlog(kind).onSuccess(backlog -> metrics.journalBacklog(kind.configName(), backlog.messages(),
        backlog.oldest() == null ? 0 : Math.max(0, Duration.between(backlog.oldest(), java.time.Instant.now()).toSeconds())));
  }

  /** Stops taking messages and makes one last attempt to store what is buffered. */
  public Future<Void> stop() {
    stopping = true;
    vertx.cancelTimer(recoveryTimer);
    vertx.cancelTimer(backlogTimer);
    return Future.all(consumers.stream().map(MessageConsumer::unregister).toList())
        .compose(v -> drain())
        .recover(e -> {
          // queued, not buffer: the batch still in flight when the drain timed out is unwritten too.
          LOG.warn("{} sink stopped with {} messages unwritten; they stay in the journal", kind.configName(), queued.size());
          return Future.succeededFuture();
        });
  }

  public boolean ready() {
    return lastError == null;
  }

  public String lastError() {
    return lastError;
  }

  private void offer(AcceptedMessage message) {
    if (stopping || buffer.size() >= options.maxBuffer() || bufferBytes + message.footprint() > options.maxBufferBytes()) {
      // The journal still holds it: recovery brings it back once the sink has caught up.
      return;
    }
    if (queued.add(message.journalId())) {
      buffer.add(message);
      bufferBytes += message.footprint();
      writeNext();
    }
  }

  private void writeNext() {
    if (writing || lingering || buffer.isEmpty()) {
      return;
    }
    if (buffer.size() < options.maxBatch() && !options.linger().isZero() && !stopping) {
      // Give a batch a moment to fill: one write of many messages costs the store (and the
      // shared CPU) far less than many writes of one.
      lingering = true;
      vertx.setTimer(options.linger().toMillis(), id -> {
        lingering = false;
        startWrite();
      });
      return;
    }
    startWrite();
  }

  private void startWrite() {
    if (writing || buffer.isEmpty()) {
      return;
    }
    writing = true;
    List<AcceptedMessage> batch = new ArrayList<>(Math.min(buffer.size(), options.maxBatch()));
    while (!buffer.isEmpty() && batch.size() < options.maxBatch()) {
      AcceptedMessage next = buffer.poll();
      bufferBytes -= next.footprint();
      batch.add(next);
    }
    store(batch, 0).onComplete(done -> {
      batch.forEach(m -> queued.remove(m.journalId()));
      writing = false;
      writeNext();
    });
  }

  private Future<Void> drain() {
    if (buffer.isEmpty() && !writing) {
      return Future.succeededFuture();
    }
    return Future.future(promise -> {
      startWrite();
      long timer = vertx.setPeriodic(20, id -> {
        if (buffer.isEmpty() && !writing) {
          vertx.cancelTimer(id);
          promise.tryComplete();
        }
      });
      vertx.setTimer(drainTimeout.toMillis(), id -> {
        vertx.cancelTimer(timer);
        promise.tryFail("drain timed out");
      });
      writeNext();
    });
  }

  /**
   * Stores the batch and clears its bits; retries with back-off while the store is away. A batch
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
    return clearPendingWithRetry(batch).onSuccess(v -> {
      lastError = null;
      backoff.reset();
      readiness.accept(true);
    });
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

  /** The store has the batch: clear its bits, retrying while the journal database is away (never rewriting). */
  private Future<Void> clearPendingWithRetry(List<AcceptedMessage> batch) {
    return clearPending(batch).recover(e -> {
      if (stopping) {
        return Future.failedFuture(e); // stored; the next start rewrites it, which changes nothing
      }
      Duration delay = backoff.next();
      LOG.warn("{} sink: clearing {} journal bits failed ({}); retrying in {} ms", kind.configName(), batch.size(),
          e.getMessage(), delay.toMillis());
      return later(delay).compose(v -> clearPendingWithRetry(batch));
    });
  }

  private Future<Void> later(Duration delay) {
    return Future.future(p -> vertx.setTimer(Math.max(1, delay.toMillis()), id -> p.complete()));
  }

  private Future<Void> clearPending(List<AcceptedMessage> batch) {
    return journal.clear(kind, batch.stream().map(AcceptedMessage::journalId).toList())
        .onSuccess(v -> {
          if (storedDuringRecovery != null) {
            batch.forEach(m -> storedDuringRecovery.add(m.journalId()));
          }
        })
        .mapEmpty();
  }

  /** Brings back what is pending for this sink in the journal but not queued here. */
  private void recover() {
    if (recovering || stopping || buffer.size() >= options.maxBuffer() / 2 || bufferBytes >= options.maxBufferBytes() / 2) {
      return;
    }
    recovering = true;
    // A row stored while the scan runs may still come back as pending (the scan read it first).
    storedDuringRecovery = new HashSet<>();
    journal.pending(kind, options.recoveryGrace(), options.maxBatch())
        .onSuccess(messages -> {
          int found = 0;
          for (AcceptedMessage message : messages) {
            if (!queued.contains(message.journalId()) && !storedDuringRecovery.contains(message.journalId())) {
              found++;
              offer(message);
            }
          }
          if (found > 0) {
            LOG.info("{} sink: recovered {} messages from the intake journal", kind.configName(), found);
          }
        })
        .onFailure(e -> LOG.warn("{} sink: journal recovery failed: {}", kind.configName(), e.getMessage()))
        .onComplete(v -> {
          recovering = false;
          storedDuringRecovery = null;
        });
  }
}
