package io.iotmeter.intake;

import io.iotmeter.Main;
import io.iotmeter.bus.BusAddress;
import io.iotmeter.bus.LocalCodec;
import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.journal.Journal;
import io.iotmeter.protocol.InboundMessage;
import io.iotmeter.quarantine.QuarantineStore;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.MigratedDatabase;
import io.iotmeter.support.Profiles;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The intake verticle on its own against a real PostgreSQL, without the rest of the platform:
 * what it journals, what it answers and publishes, copies within one batch and across batches,
 * a commit that fails, unknown devices, and replays. Its end-to-end tests (DeviceEndpointIngestTest
 * and others) start the whole platform, seconds each; these take well under a second a test once
 * the database is up, so mutation testing (README, "Mutation testing") can run them per mutant.
 */
@Timeout(60)
class IntakeJournalPathsTest {

  private static final String DEVICE = "dc-meter-001";
  private static final String TELEMETRY = "iot/" + DEVICE + "/telemetry";
  private static final String LEGACY_TOPIC = "iot/legacy-7/telemetry";
  private static final short ALL_SINKS = 7;
  private static JsonObject embedded;

  @RegisterExtension
  final MigratedDatabase db = new MigratedDatabase("intake-journal-paths-test");

  private Vertx intake;
  private final List<AcceptedMessage> published = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void loadProfile() {
    embedded = Profiles.load("embedded");
  }

  private void start(JsonObject intakeSettings) {
    JsonObject config = embedded.copy();
    config.getJsonObject("postgres").mergeIn(db.postgres());
    config.getJsonObject("security").put("enabled", false).put("allow_default_secrets", true);
    config.getJsonObject("intake").mergeIn(intakeSettings);
    intake = Main.createVertx(config).await();
    LocalCodec.register(intake, InboundMessage.class);
    for (String category : List.of("telemetry", "hello")) {
      intake.eventBus().<Object>localConsumer(BusAddress.ACCEPTED.address(category),
          m -> published.add(AcceptedMessage.of(m.body()))).completion().await();
    }
    intake.deployVerticle(new IntakeVerticle(), new DeploymentOptions().setConfig(config)).await();
  }

  @AfterEach
  void stop() {
    if (intake != null) {
      intake.close().await();
    }
  }

  private Future<JsonObject> hand(String topic, JsonObject payload) {
    InboundMessage message = new InboundMessage(topic, payload.encode().getBytes(StandardCharsets.UTF_8), 1, "endpoint",
        "client-1", Instant.now());
    return intake.eventBus().<JsonObject>request(BusAddress.INBOUND.address(), message,
        new DeliveryOptions(LocalCodec.OPTIONS).setSendTimeout(30_000)).map(reply -> reply.body());
  }

  private static JsonObject legacy() {
    return new JsonObject().put("timestamp", "2026-02-12T12:00:00Z").put("temperature", 21.5);
  }

  private JsonObject health() {
    return intake.eventBus().<JsonObject>request(BusAddress.HEALTH.address("intake"), new JsonObject()).await().body();
  }

  private long count(String sql) {
    return TestPostgres.count(db.postgres(), sql);
  }

  /** The publications up to and including the one of {@code journalId}, which the bus delivers in order. */
  private List<Long> publishedThrough(long journalId) {
    Eventually.within(Duration.ofSeconds(10), () -> assertThat(published).extracting(AcceptedMessage::journalId).contains(journalId));
    return published.stream().map(AcceptedMessage::journalId).toList();
  }

  @Test
  void anAcceptedMessageIsAnsweredWithItsCommittedRowAndPublishedToTheSinks() {
    start(new JsonObject());
    JsonObject payload = Datagrams.telemetry(DEVICE, 1);
    JsonObject reply = hand(TELEMETRY, payload).await();
    assertThat(reply.getString("outcome")).isEqualTo("accepted");
    long id = reply.getLong("journal_id");
    // Read as the reply arrives: the row is committed before the device is answered.
    assertThat(count("SELECT count(*) FROM journal WHERE id = " + id + " AND sinks = " + ALL_SINKS
        + " AND device_id = '" + DEVICE + "' AND seq = 1")).isEqualTo(1);
    Journal.Entry row = Journal.read(db.pool(), id).await().orElseThrow();
    assertThat(row.payload()).isEqualTo(payload.encode());
    assertThat(row.qos()).isEqualTo(1);

    JsonObject hello = Datagrams.hello(DEVICE, 2, Datagrams.T0.plusSeconds(20), "1.2.3", 60);
    long helloId = hand("iot/" + DEVICE + "/hello", hello).await().getLong("journal_id");
    assertThat(Journal.read(db.pool(), helloId).await().orElseThrow().sinks())
        .as("hello: the archive and the registry, not the time series").isEqualTo((short) 5);

    assertThat(publishedThrough(helloId)).containsExactly(id, helloId);
    AcceptedMessage accepted = published.get(0);
    assertThat(accepted.deviceId()).isEqualTo(DEVICE);
    assertThat(accepted.seq()).isEqualTo(1L);
    assertThat(accepted.payload()).isEqualTo(payload.encode());
    assertThat(accepted.parsed()).as("the sinks get the intake's parse").isNotNull();
    assertThat(health().getBoolean("ready")).isTrue();
  }

  @Test
  void aCopyInALaterBatchIsAnsweredDuplicateAndNeitherJournalledNorPublished() {
    start(new JsonObject());
    long first = hand(TELEMETRY, Datagrams.telemetry(DEVICE, 1)).await().getLong("journal_id");
    long legacy = hand(LEGACY_TOPIC, legacy()).await().getLong("journal_id");

    assertThat(hand(TELEMETRY, Datagrams.telemetry(DEVICE, 1)).await().getString("outcome")).isEqualTo("duplicate");
    assertThat(hand(LEGACY_TOPIC, legacy()).await().getString("outcome")).as("v1: the same bytes at the same time")
        .isEqualTo("duplicate");
    // A v1 message with another time is new.
    long later = hand(LEGACY_TOPIC, legacy().put("timestamp", "2026-02-12T12:00:10Z")).await().getLong("journal_id");

    assertThat(count("SELECT count(*) FROM journal")).isEqualTo(3);
    assertThat(publishedThrough(later)).as("no copy published in between").containsExactly(first, legacy, later);
  }

  @Test
  void copiesWithinOneBatchAreJournalledOnce() throws Exception {
    start(new JsonObject());
    hand(TELEMETRY, Datagrams.telemetry(DEVICE, 0)).await(); // registers the device
    Future<JsonObject> blocked;
    List<Future<JsonObject>> batch;
    try (Connection holder = DriverManager.getConnection(TestPostgres.jdbcUrl(db.postgres().getString("database")), "postgres", TestPostgres.password())) {
      holder.setAutoCommit(false);
      try (Statement s = holder.createStatement()) {
        s.execute("LOCK TABLE device_seq_tracking IN ACCESS EXCLUSIVE MODE");
      }
      blocked = hand(TELEMETRY, Datagrams.telemetry(DEVICE, 1));
      Eventually.within(Duration.ofSeconds(20), () -> assertThat(count("SELECT count(*) FROM pg_stat_activity "
          + "WHERE datname = current_database() AND wait_event_type = 'Lock'")).isEqualTo(1));
      // The first batch waits for the lock: these queue behind it and go together as the next batch.
      batch = List.of(hand(TELEMETRY, Datagrams.telemetry(DEVICE, 2)), hand(TELEMETRY, Datagrams.telemetry(DEVICE, 2)),
          hand(LEGACY_TOPIC, legacy()), hand(LEGACY_TOPIC, legacy()));
      // The intake handles its requests in order on its event loop: once it answered this, it has queued those.
      assertThat(health().getBoolean("ready")).isTrue();
      holder.rollback();
    }
    assertThat(blocked.await().getString("outcome")).isEqualTo("accepted");
    List<String> outcomes = batch.stream().map(f -> f.await().getString("outcome")).toList();
    assertThat(outcomes).containsExactly("accepted", "duplicate", "accepted", "duplicate");
    assertThat(count("SELECT count(*) FROM journal WHERE seq = 2")).isEqualTo(1);
    assertThat(count("SELECT count(*) FROM journal WHERE device_id = 'legacy-7'")).isEqualTo(1);
    assertThat(count("SELECT count(*) FROM journal")).isEqualTo(4);
  }

  /**
   * Holds the intake's next commit (a lock its batch waits for) while {@code queued} hands it more
   * requests, whose answers are returned once the lock is released: the queue's bounds in count,
   * bytes and time, seen exactly (IntakeOverloadTest shows the same under a real overload, with
   * the whole platform, too slowly to run per mutant).
   */
  private List<Throwable> refusalsWhileACommitWaits(long blockedSeq, Supplier<List<Future<JsonObject>>> queued)
      throws Exception {
    hand(TELEMETRY, Datagrams.telemetry(DEVICE, 0)).await(); // registers the device (or is a copy, answered as one)
    Future<JsonObject> blocked;
    List<Future<JsonObject>> answers;
    try (Connection holder = DriverManager.getConnection(TestPostgres.jdbcUrl(db.postgres().getString("database")), "postgres", TestPostgres.password())) {
      holder.setAutoCommit(false);
      try (Statement s = holder.createStatement()) {
        s.execute("LOCK TABLE device_seq_tracking IN ACCESS EXCLUSIVE MODE");
      }
      blocked = hand(TELEMETRY, Datagrams.telemetry(DEVICE, blockedSeq));
      Eventually.within(Duration.ofSeconds(20), () -> assertThat(count("SELECT count(*) FROM pg_stat_activity "
          + "WHERE datname = current_database() AND wait_event_type = 'Lock'")).isEqualTo(1));
      answers = queued.get();
      // The intake handles its requests in order on its event loop: once it answered this, it has queued those.
      assertThat(health().getBoolean("ready")).isTrue();
      holder.rollback();
    }
    assertThat(blocked.await().getString("outcome")).isEqualTo("accepted");
    List<Throwable> refusals = new ArrayList<>();
    for (Future<JsonObject> answer : answers) {
      try {
        answer.await();
        refusals.add(null);
      } catch (RuntimeException refused) {
        refusals.add(refused);
      }
    }
    return refusals;
  }

  private static void refusedWith503(Throwable refusal, String reason) {
    assertThat(refusal).isInstanceOfSatisfying(ReplyException.class, e -> {
      assertThat(e.failureCode()).isEqualTo(503);
      assertThat(e.getMessage()).contains(reason);
    });
  }

  @Test
  void aQueueFullInCountRefusesTheNextRequestOnlyAndNothingOfItIsJournalled() throws Exception {
    start(new JsonObject().put("max_queue", 2));
    List<Throwable> refusals = refusalsWhileACommitWaits(1, () -> List.of(hand(TELEMETRY, Datagrams.telemetry(DEVICE, 2)),
        hand(TELEMETRY, Datagrams.telemetry(DEVICE, 3)), hand(TELEMETRY, Datagrams.telemetry(DEVICE, 4))));

    assertThat(refusals.subList(0, 2)).as("two queued behind the waiting commit").containsOnlyNulls();
    refusedWith503(refusals.get(2), "intake queue full");
    assertThat(count("SELECT count(*) FROM journal WHERE seq = 4")).isZero();
    assertThat(hand(TELEMETRY, Datagrams.telemetry(DEVICE, 4)).await().getString("outcome"))
        .as("the refused message, sent again").isEqualTo("accepted");
    assertThat(count("SELECT count(*) FROM journal WHERE seq BETWEEN 1 AND 4")).isEqualTo(4);
  }

  @Test
  void aQueueFullInBytesRefusesTheRequestThatWouldPassTheBound() throws Exception {
    JsonObject two = Datagrams.telemetry(DEVICE, 2);
    JsonObject three = Datagrams.telemetry(DEVICE, 3);
    JsonObject four = Datagrams.telemetry(DEVICE, 4);
    long bytes = two.encode().length() + three.encode().length();
    start(new JsonObject().put("max_queue_bytes", bytes));
    List<Throwable> refusals = refusalsWhileACommitWaits(1, () -> List.of(hand(TELEMETRY, two), hand(TELEMETRY, three),
        hand(TELEMETRY, four)));

    assertThat(refusals.subList(0, 2)).as("exactly the bound queued").containsOnlyNulls();
    refusedWith503(refusals.get(2), "intake queue full");
    // The bytes of what was committed are given back: the bound admits a request again.
    refusals = refusalsWhileACommitWaits(5, () -> List.of(hand(TELEMETRY, Datagrams.telemetry(DEVICE, 6))));
    assertThat(refusals).containsOnlyNulls();
  }

  @Test
  void aRequestQueuedLongerThanTheWaitBoundIsAnsweredUnprocessedAndNewOnesAreRefusedMeanwhile() throws Exception {
    start(new JsonObject().put("max_queue_wait_ms", 300));
    List<Throwable> refusals = refusalsWhileACommitWaits(1, () -> {
      Future<JsonObject> waiting = hand(TELEMETRY, Datagrams.telemetry(DEVICE, 2));
      health(); // queued
      sleep(Duration.ofMillis(600));
      return List.of(waiting, hand(TELEMETRY, Datagrams.telemetry(DEVICE, 3)));
    });

    refusedWith503(refusals.get(0), "waited longer than intake.max_queue_wait_ms");
    refusedWith503(refusals.get(1), "intake queue full");
    assertThat(count("SELECT count(*) FROM journal WHERE seq IN (2, 3)")).as("neither committed").isZero();
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Test
  void aBatchWhoseCommitFailsIsNotAcknowledgedAndIsTakenWhenSentAgain() {
    start(new JsonObject());
    hand(TELEMETRY, Datagrams.telemetry(DEVICE, 1)).await();
    TestPostgres.execute(db.postgres(), "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
        + "$$ BEGIN RAISE EXCEPTION 'disk full' USING ERRCODE = '53100'; END $$");
    TestPostgres.execute(db.postgres(), "CREATE TRIGGER refuse BEFORE INSERT ON journal FOR EACH ROW EXECUTE FUNCTION refuse()");

    assertThatThrownBy(() -> hand(TELEMETRY, Datagrams.telemetry(DEVICE, 2)).await())
        .isInstanceOfSatisfying(ReplyException.class, e -> assertThat(e.failureCode()).isEqualTo(503));
    assertThatThrownBy(() -> hand(LEGACY_TOPIC, legacy()).await())
        .isInstanceOfSatisfying(ReplyException.class, e -> assertThat(e.failureCode()).isEqualTo(503));
    JsonObject health = health();
    assertThat(health.getBoolean("ready")).isFalse();
    assertThat(health.getString("detail")).contains("journal write failed");

    TestPostgres.execute(db.postgres(), "DROP TRIGGER refuse ON journal");
    // Sent again (as MQTT does with what it was not acknowledged): not a copy, since the failed
    // transaction took its de-duplication state with it.
    assertThat(hand(TELEMETRY, Datagrams.telemetry(DEVICE, 2)).await().getString("outcome")).isEqualTo("accepted");
    assertThat(hand(LEGACY_TOPIC, legacy()).await().getString("outcome")).isEqualTo("accepted");
    assertThat(health().getBoolean("ready")).isTrue();
    assertThat(count("SELECT count(*) FROM journal")).isEqualTo(3);
  }

  @Test
  void anUnknownDeviceIsRefusedWithEvidenceAndAKnownOneIsJournalled() {
    start(new JsonObject().put("unknown_devices", "reject"));
    TestPostgres.execute(db.postgres(), "INSERT INTO devices (device_id, device_name) VALUES ('" + DEVICE + "', '" + DEVICE + "') "
        + "ON CONFLICT DO NOTHING");

    JsonObject refused = hand("iot/stranger-1/telemetry", Datagrams.telemetry("stranger-1", 1)).await();
    assertThat(refused.getString("outcome")).isEqualTo("rejected");
    assertThat(refused.getString("error_type")).isEqualTo("unknown_device");
    assertThat(hand(TELEMETRY, Datagrams.telemetry(DEVICE, 1)).await().getString("outcome")).isEqualTo("accepted");

    assertThat(count("SELECT count(*) FROM journal WHERE device_id = 'stranger-1'")).isZero();
    assertThat(count("SELECT count(*) FROM devices WHERE device_id = 'stranger-1'")).as("not registered").isZero();
    assertThat(count("SELECT count(*) FROM message_quarantine WHERE kind = 'rejected' AND device_id = 'stranger-1' "
        + "AND error_type = 'unknown_device'")).isEqualTo(1);
    assertThat(count("SELECT count(*) FROM journal WHERE device_id = '" + DEVICE + "'")).isEqualTo(1);
  }

  @Test
  void aReplayPutsAQuarantinedMessageBackForItsSinkOnlyAndOnlyOnce() {
    start(new JsonObject());
    long journalId = hand(TELEMETRY, Datagrams.telemetry(DEVICE, 1)).await().getLong("journal_id");
    Journal.Entry row = Journal.read(db.pool(), journalId).await().orElseThrow();
    db.pool().withTransaction(conn -> QuarantineStore.quarantine(conn, journalId, row, "timeseries", "value is NaN")).await();
    long quarantined = count("SELECT id FROM message_quarantine");

    JsonObject reply = replay(new JsonObject().put("id", quarantined)).await();
    assertThat(reply.getLong("id")).isEqualTo(quarantined);
    assertThat(reply.getString("sink")).isEqualTo("timeseries");
    Journal.Entry again = Journal.read(db.pool(), reply.getLong("journal_id")).await().orElseThrow();
    assertThat(again.sinks()).as("only the sink that could not store it").isEqualTo((short) 2);
    assertThat(again.payload()).isEqualTo(row.payload());
    assertThat(again.seq()).isEqualTo(1L);

    assertThat(replayFailure(new JsonObject().put("id", quarantined))).as("replayed already").isEqualTo(409);
    assertThat(replayFailure(new JsonObject().put("id", quarantined + 1000))).isEqualTo(404);
    assertThat(replayFailure(new JsonObject())).isEqualTo(400);
    hand("iot/" + DEVICE + "/telemetry", new JsonObject().put("v", 2)).await(); // refused: kept as rejected evidence
    long rejected = count("SELECT id FROM message_quarantine WHERE kind = 'rejected'");
    assertThat(replayFailure(new JsonObject().put("id", rejected))).as("refused at the intake: not replayable").isEqualTo(409);
    assertThat(count("SELECT count(*) FROM journal")).isEqualTo(2);
  }

  @Test
  void aBatchOfRefusedMessagesWithoutEvidenceIsStillAnswered() {
    // No evidence kept (the sender's budget is 0 a minute): the batch needs no transaction, yet
    // its senders must hear the refusal, or they would hand the message on again forever.
    start(new JsonObject().put("rejected_evidence_per_minute", 0));
    JsonObject refused = hand(TELEMETRY, new JsonObject().put("v", 2)).await();
    assertThat(refused.getString("outcome")).isEqualTo("rejected");
    assertThat(count("SELECT count(*) FROM message_quarantine")).isZero();
    assertThat(hand(TELEMETRY, Datagrams.telemetry(DEVICE, 1)).await().getString("outcome")).isEqualTo("accepted");
  }

  private Future<JsonObject> replay(JsonObject request) {
    return intake.eventBus().<JsonObject>request(BusAddress.QUARANTINE_REPLAY.address(), request).map(m -> m.body());
  }

  private int replayFailure(JsonObject request) {
    try {
      JsonObject answer = replay(request).await();
      throw new AssertionError("replayed: " + answer.encode());
    } catch (ReplyException e) {
      return e.failureCode();
    }
  }
}
