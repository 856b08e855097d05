package io.iotmeter.intake;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.bus.LocalCodec;
import io.iotmeter.intake.SequenceTracker.Decision;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.ops.PlatformMetrics;
import io.iotmeter.protocol.DeviceMessage;
import io.iotmeter.protocol.DeviceTopic;
import io.iotmeter.protocol.InboundMessage;
import io.iotmeter.protocol.MalformedMessageException;
import io.iotmeter.ops.Periodic;
import io.iotmeter.quarantine.QuarantineStore;
import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.journal.Journal;
import io.iotmeter.journal.SinkKind;
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
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
  private record Pending(Message<Object> request, InboundMessage inbound, long queuedAtNanos) {
  }

  /** What a batch decided, on its way into the journal. */
  private record Decided(Map<String, SequenceState> states, List<Journal.Entry> entries, List<Candidate> appended,
                         List<IntakeStore.SeenKey> accepted) {
  }

  /** A pending request that parsed, with what the batch decided about it. */
  private static final class Candidate {
    final Pending pending;
    final DeviceMessage message;
    Decision decision;
    boolean unknownDevice;
    boolean duplicate;
    long journalId;
    /** The payload as text, made once for the journal row and the sinks. */
    String payloadText;

    Candidate(Pending pending, DeviceMessage message) {
      this.pending = pending;
      this.message = message;
    }
  }

  /** A pending request the intake refused, with the evidence it keeps of it (null: only counted). */
  private record Refused(Pending pending, String errorType, String detail, QuarantineStore.Rejected evidence) {
  }

  /** Longest topic kept with a refused message (MQTT allows 65,535 bytes). */
  private static final int MAX_EVIDENCE_TOPIC = 1024;

  private final Deque<Pending> queue = new ArrayDeque<>();
  private Pool pool;
  private IngestMetrics metrics;
  private SequenceTracker tracker;
  private List<SinkKind> sinks;
  private boolean registerUnknown;
  /** security.enabled: a payload must name the device of its topic. */
  private boolean secured;
  private int maxBatch;
  private long lingerNanos;
  /** A timer that will start the next batch once its oldest request has lingered, or -1. */
  private long lingerTimer = -1;
  private int maxQueue;
  private long maxQueueBytes;
  /** Longest a request may wait for its batch (nanoseconds); see {@link #onInbound}. */
  private long maxQueueWaitNanos;
  /** When the last overload warning was logged (nanoseconds), so an overload logs once in a while, not per message. */
  private long overloadLoggedAt;
  /** Payload bytes of the requests in {@link #queue}. */
  private long queuedBytes;
  private boolean committing;
  private volatile String lastFailure;
  private MessageConsumer<Object> inbound;
  private MessageConsumer<JsonObject> health;
  private MessageConsumer<JsonObject> replay;
  private GapAlerts gapAlerts;
  private EvidenceBudget evidenceBudget;
  private boolean keepEvidence;
  private Duration rejectedRetention;
  private Duration dedupWindow;
  private Duration replayedRetention;
  private long gapTimer;
  private long pruneTimer;

  @Override
  public Future<?> start() {
    metrics = IngestMetrics.of(PlatformMetrics.registry(config()));
    secured = io.iotmeter.security.SecuritySettings.of(config()).enabled();
    IntakeSettings settings = IntakeSettings.of(config(), secured);
    tracker = new SequenceTracker(settings.gapAlertDelay());
    sinks = settings.sinks();
    registerUnknown = settings.registerUnknown();
    maxBatch = settings.maxBatch();
    lingerNanos = settings.linger().toNanos();
    maxQueue = settings.maxQueue();
    maxQueueBytes = settings.maxQueueBytes();
    maxQueueWaitNanos = settings.maxQueueWait().toNanos();
    pool = Database.pool(vertx, config().getJsonObject("postgres"), "intake-" + System.identityHashCode(this));
    // Refused messages are kept for the archive's _rejected/ prefix: only where an archive takes them.
    keepEvidence = sinks.contains(SinkKind.ARCHIVE);
    evidenceBudget = new EvidenceBudget(settings.rejectedEvidencePerMinute());
    rejectedRetention = settings.rejectedRetention();
    dedupWindow = settings.dedupWindow();
    replayedRetention = settings.replayedRetention();
    gapAlerts = new GapAlerts(pool, settings.gapAlertDelay(), metrics);
    gapTimer = Periodic.every(vertx, settings.gapScanInterval().toMillis(), "Gap alert scan", LOG, gapAlerts::scan);
    pruneTimer = Periodic.every(vertx, settings.pruneInterval().toMillis(), "Journal and quarantine pruning", LOG,
        this::prune);
    Journal.maintain(pool).onFailure(e -> LOG.warn("Journal partitions not checked at start: {}", e.getMessage()));
    // Node-local: the MQTT verticles of a node hand their messages to the intake of that node.
    LocalCodec.register(vertx, AcceptedMessage.class);
    inbound = vertx.eventBus().localConsumer(BusAddress.INBOUND.address(), this::onInbound);
    health = vertx.eventBus().consumer(BusAddress.HEALTH.address("intake"), request -> request.reply(
        new JsonObject().put("ready", lastFailure == null).put("detail", lastFailure == null ? "ok" : lastFailure)));
    replay = vertx.eventBus().consumer(BusAddress.QUARANTINE_REPLAY.address(), this::onReplay);
    return Future.all(inbound.completion(), health.completion(), replay.completion());
  }

  private Future<Void> prune() {
    return Journal.maintain(pool)
        .compose(n -> IntakeStore.pruneSeen(pool, dedupWindow))
        .compose(n -> QuarantineStore.prune(pool, rejectedRetention, replayedRetention))
        .compose(n -> QuarantineStore.countWaiting(pool))
        .onSuccess(metrics::quarantineWaiting)
        .mapEmpty();
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(gapTimer);
    vertx.cancelTimer(pruneTimer);
    // Stop taking requests; what is queued fails and is redelivered by MQTT later.
    return Future.all(inbound.unregister(), health.unregister(), replay.unregister())
        .onComplete(v -> queue.forEach(p -> p.request().fail(503, "intake stopping")))
        .compose(v -> pool.close());
  }

  /**
   * Queues a request for the next batch, unless the queue is full — in count, in bytes, or in
   * time: when its oldest request has waited {@code max_queue_wait_ms}, the intake is taking
   * in more than it commits. A refused request is not acknowledged; the MQTT side holds it and
   * retries, and its sockets pause at their bounds (back-pressure).
   *
   * <p>The bound in time is what keeps an overload from collapsing: without it, the queue grows
   * until requests wait longer than the sender's hand-off timeout, every answer comes too late,
   * each message is sent again, and the intake spends itself committing copies nobody waits for.
   */
  private void onInbound(Message<Object> request) {
    InboundMessage inbound = InboundMessage.of(request.body());
    long size = inbound.payload() == null ? 0 : inbound.payload().length;
    long now = System.nanoTime();
    Pending oldest = queue.peek();
    if (queue.size() >= maxQueue || queuedBytes + size > maxQueueBytes
        || (oldest != null && now - oldest.queuedAtNanos() > maxQueueWaitNanos)) {
      metrics.error("intake_queue_full");
      warnOverloaded(now);
      request.fail(503, "intake queue full");
      return;
    }
    queuedBytes += size;
    queue.add(new Pending(request, inbound, now));
    commitNextBatch();
  }

  private void warnOverloaded(long now) {
    if (now - overloadLoggedAt > OVERLOAD_LOG_INTERVAL_NANOS || overloadLoggedAt == 0) {
      overloadLoggedAt = now;
      LOG.warn("Intake overloaded: {} requests ({} bytes) queued, the oldest for {} ms; new ones are refused and "
              + "retried by their senders (counted as intake_queue_full and intake_queue_expired)", queue.size(), queuedBytes,
          queue.isEmpty() ? 0 : (now - queue.peek().queuedAtNanos()) / 1_000_000);
    }
  }

  private static final long OVERLOAD_LOG_INTERVAL_NANOS = Duration.ofSeconds(30).toNanos();

  private void commitNextBatch() {
    if (committing || queue.isEmpty()) {
      return;
    }
    // Group commit: at a meter fleet's cadence messages come one at a time, and a transaction per
    // message or two (five statements and a WAL flush each) cost PostgreSQL 300 µs a datagram at
    // 1,000/s. A batch that is not full waits until its oldest request has lingered.
    long waited = System.nanoTime() - queue.peek().queuedAtNanos();
    if (queue.size() < maxBatch && waited < lingerNanos) {
      if (lingerTimer < 0) {
        lingerTimer = vertx.setTimer(Math.max(1, (lingerNanos - waited) / 1_000_000), id -> {
          lingerTimer = -1;
          commitNextBatch();
        });
      }
      return;
    }
    committing = true;
    List<Pending> batch = new ArrayList<>(Math.min(queue.size(), maxBatch));
    long now = System.nanoTime();
    while (!queue.isEmpty() && batch.size() < maxBatch) {
      Pending next = queue.poll();
      queuedBytes -= next.inbound().payload() == null ? 0 : next.inbound().payload().length;
      if (now - next.queuedAtNanos() > maxQueueWaitNanos) {
        // Its sender may have given up already: answered now (not acknowledged, retried later)
        // instead of committed, so the intake's time goes to requests still awaited.
        metrics.error("intake_queue_expired");
        warnOverloaded(now);
        next.request().fail(503, "intake overloaded: waited longer than intake.max_queue_wait_ms");
        continue;
      }
      batch.add(next);
    }
    if (batch.isEmpty()) {
      committing = false;
      return;
    }
    process(batch).onComplete(done -> {
      committing = false;
      commitNextBatch();
    });
  }

  private Future<Void> process(List<Pending> batch) {
    List<Candidate> candidates = new ArrayList<>(batch.size());
    List<Refused> refused = new ArrayList<>();
    for (Pending pending : batch) {
      String suffix = DeviceTopic.parse(pending.inbound().topic()).map(t -> t.category().categoryName()).orElse("other");
      metrics.received(suffix);
      try {
        DeviceMessage message = DeviceMessage.parse(pending.inbound().topic(), pending.inbound().payload());
        if (message.deviceIdMismatch()) {
          metrics.error("device_id_mismatch");
          if (secured) {
            // The topic's device is the one that authenticated: a payload naming another is refused.
            refused.add(refusal(pending, "device_id_mismatch", "payload device_id does not match the topic's device "
                + message.topic().deviceId()));
            continue;
          }
        }
        candidates.add(new Candidate(pending, message));
      } catch (MalformedMessageException e) {
        metrics.error(e.errorType());
        LOG.debug("Refused message on {}: {}", pending.inbound().topic(), e.getMessage());
        refused.add(refusal(pending, e.errorType(), e.getMessage()));
      }
    }
    if (candidates.isEmpty() && refused.stream().allMatch(r -> r.evidence() == null)) {
      answerRefused(refused);
      return Future.succeededFuture();
    }
    // Candidates of unregistered devices (with unknown_devices: reject) join the refused ones in the commit.
    List<Refused> unknown = new ArrayList<>();
    return pool.withTransaction(conn -> commit(conn, candidates, refused, unknown))
        .onSuccess(v -> {
          lastFailure = null;
          answer(candidates);
          answerRefused(refused);
          unknown.forEach(r -> metrics.error("unknown_device"));
          answerRefused(unknown);
        })
        .onFailure(e -> {
          lastFailure = "journal write failed: " + e.getMessage();
          LOG.warn("Intake batch of {} failed, not acknowledged: {}", candidates.size() + refused.size(), e.getMessage());
          metrics.error("processing");
          if (e instanceof io.vertx.pgclient.PgException pg && "23514".equals(pg.getSqlState())) {
            // No partition for the ids drawn (they ran ahead of the pruning's schedule): made now, retried by the senders.
            Journal.maintain(pool).onFailure(m -> LOG.warn("Creating journal partitions failed: {}", m.getMessage()));
          }
          candidates.forEach(c -> c.pending.request().fail(503, "intake journal unavailable"));
          refused.forEach(r -> r.pending().request().fail(503, "intake journal unavailable"));
        })
        .mapEmpty();
  }

  /**
   * A refused message, with its evidence unless its sender used up its budget (then it is only
   * counted: a flood of garbage must not fill the database).
   */
  private Refused refusal(Pending pending, String errorType, String detail) {
    InboundMessage in = pending.inbound();
    Optional<DeviceTopic> topic = DeviceTopic.parse(in.topic());
    String sender = topic.map(DeviceTopic::deviceId).orElse(in.clientId() == null ? in.source() : in.clientId());
    QuarantineStore.Rejected evidence = null;
    if (keepEvidence && evidenceBudget.take(sender, System.currentTimeMillis())) {
      String topicText = in.topic() == null ? "" : in.topic();
      evidence = new QuarantineStore.Rejected(topic.map(DeviceTopic::deviceId).orElse(null),
          topic.map(t -> t.category().categoryName()).orElse(null), errorType, detail,
          topicText.length() > MAX_EVIDENCE_TOPIC ? topicText.substring(0, MAX_EVIDENCE_TOPIC) : topicText,
          in.payload() == null ? new byte[0] : in.payload(), in.qos(), in.source(), in.receivedAt());
    } else if (keepEvidence) {
      metrics.rejectedNotKept();
    }
    return new Refused(pending, errorType, detail, evidence);
  }

  private static void answerRefused(List<Refused> refused) {
    for (Refused r : refused) {
      JsonObject reply = new JsonObject().put("outcome", "rejected").put("error_type", r.errorType());
      if (r.detail() != null) {
        reply.put("detail", r.detail());
      }
      r.pending().request().reply(reply);
    }
  }

  private Future<Void> commit(SqlConnection conn, List<Candidate> candidates, List<Refused> refused, List<Refused> unknown) {
    if (candidates.isEmpty()) {
      return QuarantineStore.insertRejected(conn, evidenceOf(refused));
    }
    Set<String> devices = new LinkedHashSet<>();
    candidates.forEach(c -> devices.add(c.message.deviceId()));
    Future<Set<String>> known = registerUnknown
        ? IntakeStore.registerUnknown(conn, devices).map(registered -> {
          registered.forEach(id -> LOG.info("Registered unknown device {} on its first message", id));
          return devices;
        })
        : IntakeStore.known(conn, devices);
    return known.compose(knownDevices -> {
      Set<String> locked = new LinkedHashSet<>();
      for (Candidate c : candidates) {
        c.unknownDevice = !knownDevices.contains(c.message.deviceId());
        if (!c.unknownDevice) {
          locked.add(c.message.deviceId());
        }
      }
      // v1 devices are locked too: their copies are told apart by intake_seen alone.
      return IntakeStore.lockStates(conn, locked);
    }).compose(states -> IntakeStore.seen(conn, seenKeys(candidates)).map(seen -> {
      List<Journal.Entry> entries = new ArrayList<>();
      List<Candidate> appended = new ArrayList<>();
      List<IntakeStore.SeenKey> accepted = new ArrayList<>();
      for (Candidate c : candidates) {
        if (c.unknownDevice) {
          continue;
        }
        DeviceMessage m = c.message;
        InboundMessage in = c.pending.inbound();
        IntakeStore.SeenKey key = seenKey(c);
        Map<Long, Set<Instant>> deviceSeen = seen.computeIfAbsent(m.deviceId(), d -> new HashMap<>());
        if (m.isLegacy()) {
          // No seq: a copy is the same bytes with the same time, within the window.
          c.duplicate = deviceSeen.getOrDefault(key.seq(), Set.of()).contains(key.deviceTs());
        } else {
          c.decision = tracker.decide(states.get(m.deviceId()), m, in.receivedAt(),
              seq -> deviceSeen.getOrDefault(seq, Set.of()));
          c.duplicate = !c.decision.verdict().accepted();
        }
        if (c.duplicate) {
          continue;
        }
        if (key != null) {
          // Later copies in this same batch see it as well.
          deviceSeen.computeIfAbsent(key.seq(), q -> new HashSet<>()).add(key.deviceTs());
          accepted.add(key);
        }
        c.payloadText = new String(in.payload(), java.nio.charset.StandardCharsets.UTF_8);
        entries.add(new Journal.Entry(m.deviceId(), m.category().categoryName(),
            c.decision == null ? null : c.decision.epoch(), m.seq(), m.ts(), in.topic(),
            c.payloadText, in.qos(), in.source(), in.receivedAt(),
            SinkKind.mask(m.category(), sinks)));
        appended.add(c);
      }
      return new Decided(states, entries, appended, accepted);
    })).compose(decided -> {
      Map<String, SequenceState> states = decided.states();
      List<Journal.Entry> entries = decided.entries();
      List<Candidate> appended = decided.appended();
      List<IntakeStore.SeenKey> accepted = decided.accepted();
      for (Candidate c : candidates) {
        if (c.unknownDevice) {
          unknown.add(refusal(c.pending, "unknown_device", "device " + c.message.deviceId() + " is not registered"));
        }
      }
      List<QuarantineStore.Rejected> evidence = new ArrayList<>(evidenceOf(refused));
      evidence.addAll(evidenceOf(unknown));
      return IntakeStore.saveStates(conn, states)
          .compose(v -> IntakeStore.saveSeen(conn, accepted))
          .compose(v -> Journal.append(conn, entries))
          .map(ids -> {
            for (int i = 0; i < ids.size(); i++) {
              appended.get(i).journalId = ids.get(i);
            }
            return null;
          })
          .compose(v -> QuarantineStore.insertRejected(conn, evidence));
    });
  }

  private static List<IntakeStore.SeenKey> seenKeys(List<Candidate> candidates) {
    List<IntakeStore.SeenKey> keys = new ArrayList<>(candidates.size());
    for (Candidate c : candidates) {
      IntakeStore.SeenKey key = c.unknownDevice ? null : seenKey(c);
      if (key != null) {
        keys.add(key);
      }
    }
    return keys;
  }

  /**
   * A message's identity in {@code intake_seen}: (device, seq, device time); for v1 payloads,
   * which have no seq, a hash of their bytes stands in as a negative seq. Status messages have
   * none (their copies are told apart by status and time in the sequence state).
   */
  private static IntakeStore.SeenKey seenKey(Candidate c) {
    DeviceMessage m = c.message;
    if (m.isLegacy()) {
      return new IntakeStore.SeenKey(m.deviceId(), contentKey(c.pending.inbound().payload()), m.ts());
    }
    return m.seq() == null ? null : new IntakeStore.SeenKey(m.deviceId(), m.seq(), m.ts());
  }

  /** 63 bits of the payload's SHA-256, as a negative number (real seqs are never negative). */
  static long contentKey(byte[] payload) {
    try {
      byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(payload);
      return java.nio.ByteBuffer.wrap(digest).getLong() | Long.MIN_VALUE;
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
    }
  }

  private static List<QuarantineStore.Rejected> evidenceOf(List<Refused> refused) {
    return refused.stream().map(Refused::evidence).filter(java.util.Objects::nonNull).toList();
  }

  /**
   * {@code POST /api/quarantine/{id}/replay}: the quarantined message goes back into the journal
   * for the sink that could not store it (a new journal row with only that sink's bit), after
   * that sink's cursor, so the sink reads it again — after a fix, it is stored; if not, it is
   * quarantined anew.
   */
  private void onReplay(Message<JsonObject> request) {
    Long id = request.body().getLong("id");
    if (id == null) {
      request.fail(400, "field 'id' is required");
      return;
    }
    pool.withTransaction(conn -> QuarantineStore.lockForReplay(conn, id).compose(found -> {
      if (found.isEmpty()) {
        return Future.failedFuture(new ReplayRefused(404, "Quarantined message " + id + " not found"));
      }
      QuarantineStore.Quarantined q = found.get();
      if (!QuarantineStore.QUARANTINED.equals(q.kind())) {
        return Future.failedFuture(new ReplayRefused(409, "Message " + id + " was refused at the intake ("
            + q.kind() + "); only quarantined messages can be replayed"));
      }
      if (q.replayedAt() != null) {
        return Future.failedFuture(new ReplayRefused(409, "Quarantined message " + id + " was replayed already at "
            + q.replayedAt()));
      }
      SinkKind sink = SinkKind.fromConfigName(q.sink());
      Journal.Entry entry = new Journal.Entry(q.deviceId(), q.category(), q.epoch(), q.seq(), q.deviceTs(),
          q.topic(), new String(q.payload(), java.nio.charset.StandardCharsets.UTF_8), q.qos(), q.source(),
          q.receivedAt(), (short) sink.bit());
      return Journal.append(conn, List.of(entry))
          .compose(ids -> QuarantineStore.markReplayed(conn, id, ids.get(0))
              .map(v -> new JsonObject().put("id", id).put("sink", sink.configName()).put("journal_id", ids.get(0))));
    })).onSuccess(reply -> {
      LOG.info("Quarantined message {} replayed for the {} sink as journal row {}", id, reply.getString("sink"),
          reply.getLong("journal_id"));
      request.reply(reply);
    }).onFailure(e -> {
      if (e instanceof ReplayRefused refusedReplay) {
        request.fail(refusedReplay.code, refusedReplay.getMessage());
      } else {
        request.fail(503, "journal unavailable: " + e.getMessage());
      }
    });
  }

  /** A replay that cannot be done, with the status the API answers. */
  private static final class ReplayRefused extends RuntimeException {
    final int code;

    ReplayRefused(int code, String message) {
      super(message, null, false, false);
      this.code = code;
    }
  }

  private void answer(List<Candidate> candidates) {
    for (Candidate c : candidates) {
      DeviceMessage m = c.message;
      if (c.unknownDevice) {
        continue; // answered with the refused messages
      }
      metrics.deviceSeen(m.deviceId());
      if (c.journalId == 0) {
        metrics.duplicateDropped();
        c.pending.request().reply(new JsonObject().put("outcome", "duplicate"));
        continue;
      }
      metrics.processed(m.category().categoryName());
      if (c.decision != null && c.decision.verdict() == SequenceTracker.Verdict.FIRST_COPY) {
        metrics.dedupOverride("first_copy");
      } else if (c.decision != null && c.decision.verdict() == SequenceTracker.Verdict.COUNTER_RESET) {
        metrics.dedupOverride("counter_reset");
      }
      c.pending.request().reply(new JsonObject().put("outcome", "accepted").put("journal_id", c.journalId));
      InboundMessage in = c.pending.inbound();
      AcceptedMessage accepted = new AcceptedMessage(c.journalId, m.deviceId(), m.category(),
          c.decision == null ? null : c.decision.epoch(), m.seq(), m.ts(), in.receivedAt(), in.topic(), in.source(),
          c.payloadText, m);
      vertx.eventBus().publish(BusAddress.ACCEPTED.address(m.category().categoryName()), accepted, LocalCodec.OPTIONS);
    }
  }
}
