package io.iotmeter.sink;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.intake.AcceptedMessage;
import io.iotmeter.ops.Backoff;
import io.iotmeter.protocol.Category;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

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
 */
public final class JournalFeed {

  private static final Logger LOG = LoggerFactory.getLogger(JournalFeed.class);

  /** Tuning of a feed. */
  public record Options(int maxBatch, Duration linger, int maxBuffer, Duration recoveryInterval, Duration recoveryGrace,
                        Duration minBackoff, Duration maxBackoff) {

    public static Options fromConfig(JsonObject sinkConfig) {
      return new Options(
          sinkConfig.getInteger("max_batch", 1000),
          Duration.ofMillis(sinkConfig.getLong("linger_ms", 0L)),
          sinkConfig.getInteger("max_buffer", 50_000),
          Duration.ofMillis(sinkConfig.getLong("recovery_interval_ms", 5_000L)),
          Duration.ofMillis(sinkConfig.getLong("recovery_grace_ms", 10_000L)),
          Duration.ofMillis(sinkConfig.getLong("min_backoff_ms", 200L)),
          Duration.ofMillis(sinkConfig.getLong("max_backoff_ms", 30_000L)));
    }
  }

  private final Vertx vertx;
  private final Pool pool;
  private final SinkKind kind;
  private final SinkWriter writer;
  private final Options options;
  private final java.util.function.Consumer<Boolean> readiness;
  private final Deque<AcceptedMessage> buffer = new ArrayDeque<>();
  /** Journal ids buffered or being written, so recovery does not queue them twice. */
  private final Set<Long> queued = new HashSet<>();
  private final List<MessageConsumer<JsonObject>> consumers = new ArrayList<>();
  private boolean writing;
  private boolean lingering;
  private boolean recovering;
  /** Set by stop(): no new messages; what is buffered gets one attempt each. */
  private boolean stopping;
  private final Backoff backoff;
  private long recoveryTimer;
  private volatile String lastError;

  public JournalFeed(Vertx vertx, Pool pool, SinkKind kind, SinkWriter writer, Options options,
                     java.util.function.Consumer<Boolean> readiness) {
    this.vertx = vertx;
    this.pool = pool;
    this.kind = kind;
    this.writer = writer;
    this.options = options;
    this.readiness = readiness;
    this.backoff = new Backoff(options.minBackoff(), options.maxBackoff());
  }

  public Future<Void> start() {
    for (Category category : kind.categories()) {
      // Node-local: each node's sinks take what its own intake accepted (the journal has the rest).
      MessageConsumer<JsonObject> consumer = vertx.eventBus().localConsumer(
          BusAddress.ACCEPTED.address(category.categoryName()), msg -> offer(AcceptedMessage.fromJson(msg.body())));
      consumers.add(consumer);
    }
    recoveryTimer = vertx.setPeriodic(0, options.recoveryInterval().toMillis(), id -> recover());
    return Future.all(consumers.stream().map(MessageConsumer::completion).toList()).mapEmpty();
  }

  /** Stops taking messages and makes one last attempt to store what is buffered. */
  public Future<Void> stop() {
    stopping = true;
    vertx.cancelTimer(recoveryTimer);
    return Future.all(consumers.stream().map(MessageConsumer::unregister).toList())
        .compose(v -> drain())
        .recover(e -> {
          LOG.warn("{} sink stopped with {} messages unwritten; they stay in the journal", kind.configName(), buffer.size());
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
    if (stopping || buffer.size() >= options.maxBuffer()) {
      // The journal still holds it: recovery brings it back once the sink has caught up.
      return;
    }
    if (queued.add(message.journalId())) {
      buffer.add(message);
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
      batch.add(buffer.poll());
    }
    writeWithRetry(batch).onComplete(done -> {
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
      vertx.setTimer(10_000, id -> {
        vertx.cancelTimer(timer);
        promise.tryFail("drain timed out");
      });
      writeNext();
    });
  }

  /** Writes the batch and clears its bits; retries until it succeeds or the feed stops. */
  private Future<Void> writeWithRetry(List<AcceptedMessage> batch) {
    return writer.write(batch)
        .compose(v -> clearPending(batch))
        .onSuccess(v -> {
          lastError = null;
          backoff.reset();
          readiness.accept(true);
        })
        .recover(e -> {
          lastError = kind.configName() + " store: " + e.getMessage();
          readiness.accept(false);
          if (stopping) {
            return Future.failedFuture(e); // the journal keeps it for the next start
          }
          Duration delay = backoff.next();
          LOG.warn("{} sink: writing {} messages failed ({}); retrying in {} ms", kind.configName(), batch.size(),
              e.getMessage(), delay.toMillis());
          return Future.<Void>future(p -> vertx.setTimer(delay.toMillis(), id -> p.complete()))
              .compose(v -> writeWithRetry(batch));
        });
  }

  private Future<Void> clearPending(List<AcceptedMessage> batch) {
    Long[] ids = batch.stream().map(AcceptedMessage::journalId).toArray(Long[]::new);
    return pool.preparedQuery("UPDATE intake_journal SET pending = pending & ~($1::smallint) WHERE id = ANY($2::bigint[])")
        .execute(Tuple.of((short) kind.bit(), (Object) ids))
        .mapEmpty();
  }

  /** Brings back what is pending for this sink in the journal but not queued here. */
  private void recover() {
    if (recovering || stopping || buffer.size() >= options.maxBuffer() / 2) {
      return;
    }
    recovering = true;
    pool.preparedQuery("SELECT id, device_id, category, epoch, seq, device_ts, received_at, topic, source, payload "
            + "FROM intake_journal WHERE (pending & $1::smallint) <> 0 AND accepted_at < now() - make_interval(secs => $2) "
            + "ORDER BY id LIMIT $3")
        .execute(Tuple.of((short) kind.bit(), options.recoveryGrace().toMillis() / 1000.0, options.maxBatch()))
        .onSuccess(rows -> {
          int found = 0;
          for (Row row : rows) {
            AcceptedMessage message = toMessage(row);
            if (!queued.contains(message.journalId())) {
              found++;
              offer(message);
            }
          }
          if (found > 0) {
            LOG.info("{} sink: recovered {} messages from the intake journal", kind.configName(), found);
          }
        })
        .onFailure(e -> LOG.warn("{} sink: journal recovery failed: {}", kind.configName(), e.getMessage()))
        .onComplete(v -> recovering = false);
  }

  static AcceptedMessage toMessage(Row row) {
    return new AcceptedMessage(row.getLong("id"), row.getString("device_id"),
        Category.fromName(row.getString("category")).orElseThrow(), row.getInteger("epoch"), row.getLong("seq"),
        row.getOffsetDateTime("device_ts") == null ? null : row.getOffsetDateTime("device_ts").toInstant(),
        row.getOffsetDateTime("received_at").toInstant(), row.getString("topic"), row.getString("source"),
        row.getString("payload"));
  }
}
