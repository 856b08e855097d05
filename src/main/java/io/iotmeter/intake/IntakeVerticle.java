package io.iotmeter.intake;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.intake.SequenceTracker.Decision;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.ops.PlatformMetrics;
import io.iotmeter.protocol.DeviceMessage;
import io.iotmeter.protocol.DeviceTopic;
import io.iotmeter.protocol.MalformedMessageException;
import io.iotmeter.sink.SinkKind;
import io.iotmeter.store.Database;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The intake: takes every message off {@code iot.inbound}, validates it, drops copies
 * ({@link SequenceTracker}), and commits what is new to the intake journal in PostgreSQL —
 * only then does it answer, so MQTT acknowledges a message only once it is durable. After the
 * commit it publishes the accepted messages to the sinks on {@code iot.accepted.<category>}.
 *
 * <p>Messages queue while a batch is being committed, so the batch size follows the load
 * (one message when idle, hundreds under load) with no timer adding latency. The queue is
 * bounded: when it is full, requests fail and MQTT does not acknowledge — the senders'
 * in-flight windows are the back-pressure.
 */
public final class IntakeVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(IntakeVerticle.class);

  /** A request waiting for its batch. */
  private record Pending(Message<JsonObject> request, InboundMessage inbound) {
  }

  /** A pending request that parsed, with what the batch decided about it. */
  private static final class Candidate {
    final Pending pending;
    final DeviceMessage message;
    Decision decision;
    boolean unknownDevice;
    long journalId;

    Candidate(Pending pending, DeviceMessage message) {
      this.pending = pending;
      this.message = message;
    }
  }

  private final Deque<Pending> queue = new ArrayDeque<>();
  private Pool pool;
  private IngestMetrics metrics;
  private SequenceTracker tracker;
  private List<SinkKind> sinks;
  private boolean registerUnknown;
  private int maxBatch;
  private int maxQueue;
  private boolean committing;
  private volatile String lastFailure;
  private MessageConsumer<JsonObject> inbound;
  private MessageConsumer<JsonObject> health;
  private GapAlerts gapAlerts;
  private long gapTimer;
  private long pruneTimer;

  @Override
  public Future<?> start() {
    JsonObject config = config().getJsonObject("intake", new JsonObject());
    metrics = IngestMetrics.of(PlatformMetrics.registry(config()));
    Duration gapDelay = Duration.ofMillis(config.getLong("gap_alert_delay_ms", 30_000L));
    tracker = new SequenceTracker(gapDelay);
    sinks = config.getJsonArray("sinks", new io.vertx.core.json.JsonArray().add("archive").add("timeseries").add("registry"))
        .stream().map(o -> SinkKind.fromConfigName((String) o)).toList();
    registerUnknown = !"reject".equals(config.getString("unknown_devices", "register"));
    maxBatch = config.getInteger("max_batch", 500);
    maxQueue = config.getInteger("max_queue", 20_000);
    pool = Database.pool(vertx, config().getJsonObject("postgres"), "intake-" + System.identityHashCode(this));
    gapAlerts = new GapAlerts(pool, gapDelay, metrics);
    gapTimer = vertx.setPeriodic(config.getLong("gap_scan_interval_ms", 1_000L), id -> gapAlerts.scan()
        .onFailure(e -> LOG.warn("Gap alert scan failed (retried next time): {}", e.getMessage())));
    pruneTimer = vertx.setPeriodic(config.getLong("prune_interval_ms", 5_000L), id -> JournalPruner.prune(pool)
        .onFailure(e -> LOG.warn("Journal pruning failed (retried next time): {}", e.getMessage())));
    // Node-local: the MQTT verticles of a node hand their messages to the intake of that node.
    inbound = vertx.eventBus().localConsumer(BusAddress.INBOUND.address(), this::onInbound);
    health = vertx.eventBus().consumer(BusAddress.HEALTH.address("intake"), request -> request.reply(
        new JsonObject().put("ready", lastFailure == null).put("detail", lastFailure == null ? "ok" : lastFailure)));
    return Future.all(inbound.completion(), health.completion());
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(gapTimer);
    vertx.cancelTimer(pruneTimer);
    // Stop taking requests; what is queued fails and is redelivered by MQTT later.
    return Future.all(inbound.unregister(), health.unregister())
        .onComplete(v -> queue.forEach(p -> p.request().fail(503, "intake stopping")))
        .compose(v -> pool.close());
  }

  private void onInbound(Message<JsonObject> request) {
    if (queue.size() >= maxQueue) {
      metrics.error("intake_queue_full");
      request.fail(503, "intake queue full");
      return;
    }
    queue.add(new Pending(request, InboundMessage.fromJson(request.body())));
    commitNextBatch();
  }

  private void commitNextBatch() {
    if (committing || queue.isEmpty()) {
      return;
    }
    committing = true;
    List<Pending> batch = new ArrayList<>(Math.min(queue.size(), maxBatch));
    while (!queue.isEmpty() && batch.size() < maxBatch) {
      batch.add(queue.poll());
    }
    process(batch).onComplete(done -> {
      committing = false;
      commitNextBatch();
    });
  }

  private Future<Void> process(List<Pending> batch) {
    List<Candidate> candidates = new ArrayList<>(batch.size());
    for (Pending pending : batch) {
      String suffix = DeviceTopic.parse(pending.inbound().topic()).map(t -> t.category().categoryName()).orElse("other");
      metrics.received(suffix);
      try {
        DeviceMessage message = DeviceMessage.parse(pending.inbound().topic(), pending.inbound().payload());
        if (message.deviceIdMismatch()) {
          metrics.error("device_id_mismatch");
        }
        candidates.add(new Candidate(pending, message));
      } catch (MalformedMessageException e) {
        metrics.error(e.errorType());
        LOG.debug("Refused message on {}: {}", pending.inbound().topic(), e.getMessage());
        pending.request().reply(new JsonObject().put("outcome", "rejected").put("error_type", e.errorType())
            .put("detail", e.getMessage()));
      }
    }
    if (candidates.isEmpty()) {
      return Future.succeededFuture();
    }
    return pool.withTransaction(conn -> commit(conn, candidates))
        .onSuccess(v -> {
          lastFailure = null;
          answer(candidates);
        })
        .onFailure(e -> {
          lastFailure = "journal write failed: " + e.getMessage();
          LOG.warn("Intake batch of {} failed, not acknowledged: {}", candidates.size(), e.getMessage());
          metrics.error("processing");
          candidates.forEach(c -> c.pending.request().fail(503, "intake journal unavailable"));
        })
        .mapEmpty();
  }

  private Future<Void> commit(SqlConnection conn, List<Candidate> candidates) {
    Set<String> devices = new LinkedHashSet<>();
    candidates.forEach(c -> devices.add(c.message.deviceId()));
    Future<Set<String>> known = registerUnknown
        ? IntakeJournal.registerUnknown(conn, devices).map(registered -> {
          registered.forEach(id -> LOG.info("Registered unknown device {} on its first message", id));
          return devices;
        })
        : IntakeJournal.known(conn, devices);
    return known.compose(knownDevices -> {
      Set<String> sequenced = new LinkedHashSet<>();
      for (Candidate c : candidates) {
        c.unknownDevice = !knownDevices.contains(c.message.deviceId());
        if (!c.unknownDevice && !c.message.isLegacy()) {
          sequenced.add(c.message.deviceId());
        }
      }
      return IntakeJournal.lockStates(conn, sequenced);
    }).compose(states -> {
      List<IntakeJournal.Entry> entries = new ArrayList<>();
      List<Candidate> appended = new ArrayList<>();
      for (Candidate c : candidates) {
        if (c.unknownDevice) {
          continue;
        }
        DeviceMessage m = c.message;
        InboundMessage in = c.pending.inbound();
        c.decision = m.isLegacy() ? null : tracker.decide(states.get(m.deviceId()), m, in.receivedAt());
        if (c.decision != null && !c.decision.verdict().accepted()) {
          continue;
        }
        entries.add(new IntakeJournal.Entry(m.deviceId(), m.category().categoryName(),
            c.decision == null ? null : c.decision.epoch(), m.seq(), m.ts(), in.topic(),
            new String(in.payload(), java.nio.charset.StandardCharsets.UTF_8), in.qos(), in.source(), in.receivedAt(),
            SinkKind.pendingMask(m.category(), sinks)));
        appended.add(c);
      }
      return IntakeJournal.saveStates(conn, states)
          .compose(v -> IntakeJournal.append(conn, entries))
          .map(ids -> {
            for (int i = 0; i < ids.size(); i++) {
              appended.get(i).journalId = ids.get(i);
            }
            return null;
          });
    });
  }

  private void answer(List<Candidate> candidates) {
    for (Candidate c : candidates) {
      DeviceMessage m = c.message;
      if (c.unknownDevice) {
        metrics.error("unknown_device");
        c.pending.request().reply(new JsonObject().put("outcome", "rejected").put("error_type", "unknown_device"));
        continue;
      }
      metrics.deviceSeen(m.deviceId());
      if (c.journalId == 0) {
        metrics.duplicateDropped();
        c.pending.request().reply(new JsonObject().put("outcome", "duplicate"));
        continue;
      }
      metrics.processed(m.category().categoryName());
      c.pending.request().reply(new JsonObject().put("outcome", "accepted").put("journal_id", c.journalId));
      InboundMessage in = c.pending.inbound();
      AcceptedMessage accepted = new AcceptedMessage(c.journalId, m.deviceId(), m.category(),
          c.decision == null ? null : c.decision.epoch(), m.seq(), m.ts(), in.receivedAt(), in.topic(), in.source(),
          new String(in.payload(), java.nio.charset.StandardCharsets.UTF_8));
      vertx.eventBus().publish(BusAddress.ACCEPTED.address(m.category().categoryName()), accepted.toJson());
    }
  }
}
