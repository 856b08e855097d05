package io.iotmeter.audit;

import io.iotmeter.archive.ObjectStore;
import io.iotmeter.archive.ObjectStores;
import io.iotmeter.archive.StoredObject;
import io.iotmeter.embedded.EmbeddedQuestDb;
import io.iotmeter.embedded.EmbeddedS3Server;
import io.iotmeter.support.FreePorts;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The store audit against real stores, fed by a real platform: it finds a clean run clean, and
 * it fails the moment one stored record is deleted or written twice — in the archive, the time
 * series (where a rewrite is told apart from a second copy) and the registry. Each change is
 * undone before the next test, so each finding is exactly the one change.
 */
@Timeout(300)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StoreAuditTest {

  private static final MixedLayout LAYOUT = new MixedLayout();
  private static final int METERS = 3;
  private static final long FAR_SEQ = 8640; // T0 + 1 day: a telemetry message alone in its day's partition

  private static final Vertx vertx = Vertx.vertx();
  private static EmbeddedS3Server s3;
  private static EmbeddedQuestDb questdb;
  private static RecordingTimeSeriesProxy proxy;
  private static JsonObject postgres;
  private static JsonObject s3Config;
  private static StoreAudit.QuestDb quest;
  private static MeterLoad load;

  @BeforeAll
  static void storeALoad() throws Exception {
    int s3Port = FreePorts.next();
    s3 = EmbeddedS3Server.start(Files.createTempDirectory("audit-s3"), s3Port, "minioadmin", "minioadmin123");
    questdb = EmbeddedQuestDb.start(Files.createTempDirectory("audit-questdb"), FreePorts.next(), FreePorts.next());
    proxy = RecordingTimeSeriesProxy.start(vertx, 0, questdb.httpPort());
    postgres = TestPostgres.freshDatabase();
    s3Config = new JsonObject().put("endpoint", "http://127.0.0.1:" + s3Port).put("access_key", "minioadmin")
        .put("secret_key", "minioadmin123").put("bucket", "iot-data");
    quest = new StoreAudit.QuestDb("127.0.0.1", questdb.pgPort(), "admin", "quest");
    JsonObject config = RunningPlatform.ingestConfig();
    config.getJsonObject("postgres").mergeIn(postgres);
    config.getJsonObject("s3").put("embedded", false).put("endpoint", s3Config.getString("endpoint"));
    config.getJsonObject("timeseries").put("store", "questdb").put("embedded", false).getJsonObject("questdb")
        .put("host", "127.0.0.1").put("http_port", proxy.port()).put("pg_port", questdb.pgPort());
    try (RunningPlatform platform = RunningPlatform.start(config)) {
      StoreAudit.prepare(postgres, LAYOUT, MeterLoad.deviceIds("audit", METERS));
      load = new MeterLoad("audit", METERS, 50, Map.of("endpoint", platform.mqttPort()), LAYOUT);
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (load.ledger().ackedCount() < METERS * 40L && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      load.stop();
      load.publishOne(0, FAR_SEQ);
      Thread.sleep(1000);
      StoreAudit.awaitSettled(postgres, quest, Duration.ofSeconds(2), Duration.ofSeconds(120));
    }
  }

  @AfterAll
  static void stop() {
    load.close();
    proxy.close();
    questdb.close();
    s3.close();
    vertx.close().await();
  }

  private static AuditReport audit() {
    StoreAudit.awaitSettled(postgres, quest, Duration.ofMillis(500), Duration.ofSeconds(60));
    return StoreAudit.of(load.ledger(), LAYOUT, load.deviceIds()).archive(s3Config).timeSeries(quest, proxy).registry(postgres)
        .run();
  }

  private static MessageKey key(int meter, long seq) {
    return new MessageKey(load.deviceIds().get(meter), seq);
  }

  @Test
  @Order(1)
  void aRunTheStoresKeptWhole() {
    AuditReport report = audit();
    assertThat(report.clean()).as(report.detail()).isTrue();
    long acked = load.ledger().ackedCount();
    assertThat(acked).as("every publish acknowledged").isEqualTo(load.ledger().published().size()).isGreaterThan(METERS * 40L);
    assertThat(load.ledger().acked()).contains(key(0, FAR_SEQ));
    StoreFinding archive = report.store(StoreAudit.ARCHIVE);
    assertThat(archive.expected()).isEqualTo(acked);
    assertThat(archive.stored()).isEqualTo(acked);
    StoreFinding points = report.store(StoreAudit.TIME_SERIES);
    long telemetry = load.ledger().acked().stream().filter(k -> LAYOUT.points(k.seq()).size() > 0).count();
    assertThat(points.expected()).isEqualTo(telemetry).isLessThan(acked);
    assertThat(points.stored()).isEqualTo(telemetry);
    assertThat(points.rewrites()).isZero();
    StoreFinding registry = report.store(StoreAudit.REGISTRY);
    // per meter: its last message and its last hello, and every ack and OTA report
    long acksAndReports = load.ledger().acked().stream().filter(k -> k.seq() % 10 == 5 || k.seq() % 10 == 7).count();
    // and per meter its newest message and its newest hello (one key when they are the same)
    assertThat(registry.expected()).isBetween(METERS + acksAndReports, 2L * METERS + acksAndReports);
    assertThat(registry.stored()).isEqualTo(registry.expected());
  }

  /** Rewrites one archive object without its line for {@code key}, or with that line twice; returns the original. */
  private static StoredObject objectHolding(ObjectStore store, MessageKey key) {
    for (StoredObject object : store.list(key.device() + "/", Integer.MAX_VALUE)) {
      if (new String(store.get(object.key()), StandardCharsets.UTF_8).contains("\"seq\":" + key.seq() + ",")) {
        return object;
      }
    }
    throw new AssertionError("no object holds " + key);
  }

  @Test
  @Order(2)
  void anArchiveRecordDeletedIsMissing() {
    MessageKey victim = key(1, 12);
    try (ObjectStore store = ObjectStores.open(s3Config)) {
      StoredObject object = objectHolding(store, victim);
      byte[] original = store.get(object.key());
      String[] lines = new String(original, StandardCharsets.UTF_8).split("\n");
      String without = String.join("\n", Arrays.stream(lines).filter(l -> !l.contains("\"seq\":" + victim.seq() + ",")).toList());
      try {
        store.put(object.key(), without.getBytes(StandardCharsets.UTF_8), "application/json");
        AuditReport report = audit();
        assertThat(report.clean()).isFalse();
        assertThat(report.store(StoreAudit.ARCHIVE).missing()).containsExactly(victim);
        assertThat(report.store(StoreAudit.ARCHIVE).doubled()).isEmpty();
        assertThat(report.store(StoreAudit.TIME_SERIES).clean()).isTrue();
      } finally {
        store.put(object.key(), original, "application/json");
      }
    }
  }

  @Test
  @Order(3)
  void anArchiveRecordWrittenTwiceIsDoubled() throws Exception {
    MessageKey victim = key(2, 21);
    try (ObjectStore store = ObjectStores.open(s3Config)) {
      StoredObject object = objectHolding(store, victim);
      String copy = Arrays.stream(new String(store.get(object.key()), StandardCharsets.UTF_8).split("\n"))
          .filter(l -> l.contains("\"seq\":" + victim.seq() + ",")).findFirst().orElseThrow();
      String copyKey = victim.device() + "/telemetry/2099-01-01T00:00:00.000Z_999999999.json";
      store.put(copyKey, copy.getBytes(StandardCharsets.UTF_8), "application/json");
      AuditReport report = audit();
      assertThat(report.clean()).isFalse();
      assertThat(report.store(StoreAudit.ARCHIVE).doubled()).containsExactly(victim);
      assertThat(report.store(StoreAudit.ARCHIVE).extraCopies()).isEqualTo(1);
      assertThat(report.store(StoreAudit.ARCHIVE).missing()).isEmpty();
      remove(copyKey);
    }
  }

  /** The platform's ObjectStore never deletes: the test does it with the S3 client itself. */
  private static void remove(String key) throws Exception {
    io.minio.MinioClient client = io.minio.MinioClient.builder().endpoint(s3Config.getString("endpoint"))
        .credentials("minioadmin", "minioadmin123").build();
    client.removeObject(io.minio.RemoveObjectArgs.builder().bucket("iot-data").object(key).build());
  }

  private static void questdb(String sql) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + questdb.pgPort() + "/qdb", "admin", "quest");
         var s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static void write(int port, String line) throws Exception {
    HttpResponse<String> answer = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + port + "/api/v2/write?org=iot-org&bucket=iot-metrics&precision=ns"))
        .POST(HttpRequest.BodyPublishers.ofString(line)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(answer.statusCode()).as(answer.body()).isBetween(200, 299);
  }

  /** The line the sink writes for the voltage sample of telemetry {@code key} (Datagrams: 750 + seq V, 1 s before its ts). */
  private static String voltageLine(MessageKey key) {
    long nanos = (io.iotmeter.support.Datagrams.T0.getEpochSecond() + 10 * key.seq() - 1) * 1_000_000_000L;
    return "iot_telemetry,device_id=" + key.device() + ",metric=voltage_dc,unit=V value=" + (750.0 + key.seq()) + " " + nanos;
  }

  @Test
  @Order(4)
  void aPointSentAgainIsARewriteNotASecondCopy() throws Exception {
    MessageKey victim = key(0, 14);
    write(proxy.port(), voltageLine(victim));
    AuditReport report = audit();
    StoreFinding points = report.store(StoreAudit.TIME_SERIES);
    assertThat(points.rewrites()).isEqualTo(1);
    assertThat(points.doubled()).as("the upsert key keeps one copy").isEmpty();
    assertThat(report.clean()).as("a rewrite is harmless").isTrue();
  }

  @Test
  @Order(5)
  void aDatagramWhosePointsAreDeletedIsMissing() throws Exception {
    MessageKey far = key(0, FAR_SEQ);
    questdb("ALTER TABLE iot_telemetry DROP PARTITION LIST '2026-02-13'");
    AuditReport report = audit();
    assertThat(report.store(StoreAudit.TIME_SERIES).missing()).containsExactly(far);
    assertThat(report.store(StoreAudit.ARCHIVE).clean()).isTrue();
    assertThat(report.clean()).isFalse();
  }

  @Test
  @Order(6)
  void aPointTheStoreKeptTwiceIsDoubled() throws Exception {
    MessageKey victim = key(1, 16);
    questdb("ALTER TABLE iot_telemetry DEDUP DISABLE");
    write(questdb.httpPort(), voltageLine(victim)); // straight to the store: not a send of the sink
    AuditReport report = audit();
    StoreFinding points = report.store(StoreAudit.TIME_SERIES);
    assertThat(points.doubled()).containsExactly(victim);
    assertThat(points.extraCopies()).isEqualTo(1);
  }

  private static void registry(String sql) throws Exception {
    try (Connection c = StoreAudit.jdbc(postgres); var s = c.createStatement()) {
      s.execute(sql);
    }
  }

  @Test
  @Order(7)
  void anOtaReportDeletedIsMissingAndOneRecordedTwiceIsDoubled() throws Exception {
    MessageKey deleted = key(2, 17);
    MessageKey twice = key(2, 27);
    String reportedAt = "'" + LAYOUT.reportedAt(deleted.seq()) + "'";
    registry("CREATE TABLE saved AS SELECT * FROM device_command_progress WHERE reported_at = " + reportedAt
        + " AND cmd_id = '" + LAYOUT.commandOf(deleted.device(), deleted.seq()) + "'");
    registry("DELETE FROM device_command_progress WHERE id IN (SELECT id FROM saved)");
    registry("INSERT INTO device_command_progress (cmd_id, ota_state, progress_pct, fw_version_target, detail, reported_at, "
        + "received_at, journal_id) SELECT cmd_id, ota_state, progress_pct, fw_version_target, detail, reported_at, received_at, "
        + "journal_id + 1000000 FROM device_command_progress WHERE cmd_id = '" + LAYOUT.commandOf(twice.device(), twice.seq())
        + "' AND reported_at = '" + LAYOUT.reportedAt(twice.seq()) + "'");
    AuditReport report = audit();
    assertThat(report.store(StoreAudit.REGISTRY).missing()).containsExactly(deleted);
    assertThat(report.store(StoreAudit.REGISTRY).doubled()).containsExactly(twice);
    registry("INSERT INTO device_command_progress SELECT * FROM saved");
    registry("DELETE FROM device_command_progress WHERE journal_id > 1000000");
  }

  @Test
  @Order(8)
  void aLastSeenOlderThanTheLastAcknowledgedMessageIsMissing() throws Exception {
    String device = load.deviceIds().get(1);
    registry("UPDATE devices SET last_seen = last_seen - interval '1 hour' WHERE device_id = '" + device + "'");
    AuditReport report = audit();
    Set<MessageKey> missing = report.store(StoreAudit.REGISTRY).missing();
    assertThat(missing).hasSize(1);
    assertThat(missing.iterator().next().device()).isEqualTo(device);
  }

  @Test
  @Order(9)
  void anAcknowledgementNeverStoredIsMissingEverywhere() {
    // A key the ledger says was acknowledged but no meter published: what a lost message looks like to every store.
    AckLedger ledger = new AckLedger();
    load.ledger().paths().forEach(p -> load.ledger().acked(p).forEach((k, a) -> ledger.acked(p, k, a.sentAtMs(), a.ackedAtMs())));
    MessageKey lost = key(2, 5000);
    ledger.acked("endpoint", lost, 0, 0);
    AuditReport report = StoreAudit.of(ledger, LAYOUT, load.deviceIds()).archive(s3Config).timeSeries(quest, proxy).run();
    assertThat(report.store(StoreAudit.ARCHIVE).missing()).contains(lost);
    assertThat(report.store(StoreAudit.TIME_SERIES).missing()).contains(lost);
    assertThat(report.lost()).isGreaterThanOrEqualTo(1);
    assertThat(List.copyOf(report.missing())).contains(lost);
  }
}
