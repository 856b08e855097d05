package io.iotmeter.reliability;

import io.iotmeter.archive.ObjectStore;
import io.iotmeter.archive.ObjectStores;
import io.iotmeter.archive.StoredObject;
import io.iotmeter.embedded.EmbeddedPostgresServer;
import io.iotmeter.embedded.EmbeddedQuestDb;
import io.iotmeter.embedded.EmbeddedS3Server;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.FreePorts;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.TcpProxy;
import io.iotmeter.support.TestMosquitto;
import io.iotmeter.support.TestPostgres;
import io.iotmeter.timeseries.MetricSample;
import io.iotmeter.timeseries.QuestDbStore;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fault-injection suite: real load (meters at QoS 1) through the real servers while a fault
 * is injected, then every store is counted against what was acknowledged. Prints one table —
 * fault, load, acknowledged, stored, lost, doubled, time to recover — and fails on any loss or
 * double. Outages last {@code -Dfaults.outage_s} (default 60 s; CI runs it shorter):
 * {@code mvn -B verify -Dit.test=FaultInjectionIT -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dfaults.outage_s=60}.
 */
@Timeout(900)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FaultInjectionIT {

  private static final Duration OUTAGE = Duration.ofSeconds(Long.getLong("faults.outage_s", 60));
  private static final int METERS = 20;
  private static final long PERIOD_MS = 200;
  private static final Duration WARM_UP = Duration.ofSeconds(5);
  private static final Duration RECOVERY_LIMIT = Duration.ofSeconds(180);
  private static final List<String> ROWS = new ArrayList<>();

  /** The servers behind one platform under test, each of which a fault may take away. */
  private static final class Stores implements AutoCloseable {
    final Path s3Dir;
    final int s3Port = FreePorts.next();
    final Path questDir;
    final int questHttp = FreePorts.next();
    final int questPg = FreePorts.next();
    final Vertx vertx = Vertx.vertx();
    final TcpProxy postgresProxy;
    final JsonObject postgres;
    EmbeddedS3Server s3;
    EmbeddedQuestDb questdb;

    /** A PostgreSQL of this row's own, durable as in production (fsync, synchronous commit): one a crash may hit. */
    Path postgresDir;
    int postgresPort;
    EmbeddedPostgresServer ownPostgres;

    Stores() throws Exception {
      this(false);
    }

    Stores(boolean durablePostgres) throws Exception {
      s3Dir = Files.createTempDirectory("fault-s3");
      questDir = Files.createTempDirectory("fault-questdb");
      s3 = EmbeddedS3Server.start(s3Dir, s3Port, "minioadmin", "minioadmin123");
      questdb = EmbeddedQuestDb.start(questDir, questHttp, questPg);
      if (durablePostgres) {
        postgresDir = Files.createTempDirectory("fault-pg");
        postgresPort = FreePorts.next();
        ownPostgres = EmbeddedPostgresServer.start(postgresDir, postgresPort, "iot_devices", true);
        postgres = new JsonObject().put("embedded", false).put("host", "127.0.0.1").put("port", postgresPort)
            .put("database", "iot_devices").put("user", "postgres").put("password", "").put("pool_size", 4);
      } else {
        postgres = TestPostgres.freshDatabase();
      }
      postgresProxy = TcpProxy.start(vertx, postgres.getInteger("port"));
    }

    /**
     * Kills the PostgreSQL processes (SIGKILL: the postmaster and every backend) — a crash —
     * and starts it again on the same directory and port after {@code down}: it recovers from its WAL.
     */
    void crashPostgres(Duration down) {
      try {
        long pid = Long.parseLong(Files.readAllLines(postgresDir.resolve("postmaster.pid")).get(0).trim());
        ProcessHandle postmaster = ProcessHandle.of(pid).orElseThrow();
        List<ProcessHandle> all = new ArrayList<>(postmaster.descendants().toList());
        all.add(postmaster);
        all.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle p : all) {
          p.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
        }
        ownPostgres.close(); // releases zonky's lock on the directory; its stop finds no server
        sleep(down);
        ownPostgres = EmbeddedPostgresServer.start(postgresDir, postgresPort, "iot_devices", true);
      } catch (Exception e) {
        throw new IllegalStateException("crashing PostgreSQL failed", e);
      }
    }

    long count(String sql) {
      return TestPostgres.countAt(postgres, sql);
    }

    JsonObject apply(JsonObject config) {
      config.getJsonObject("postgres").mergeIn(postgres).put("port", postgresProxy.port());
      config.getJsonObject("s3").put("embedded", false).put("endpoint", "http://127.0.0.1:" + s3Port);
      config.getJsonObject("timeseries").put("store", "questdb").put("embedded", false)
          .getJsonObject("questdb").put("host", "127.0.0.1").put("http_port", questHttp).put("pg_port", questPg);
      return config;
    }

    void s3Down() {
      s3.close();
    }

    void s3Up() {
      s3 = EmbeddedS3Server.start(s3Dir, s3Port, "minioadmin", "minioadmin123");
    }

    void timeseriesDown() {
      questdb.close();
    }

    void timeseriesUp() {
      questdb = EmbeddedQuestDb.start(questDir, questHttp, questPg);
    }

    @Override
    public void close() {
      postgresProxy.close();
      s3.close();
      questdb.close();
      if (ownPostgres != null) {
        ownPostgres.close();
      }
      vertx.close().await();
    }
  }

  /** What the stores hold for the meters, against what was acknowledged. */
  private record Count(long acknowledged, long archived, long points, long lost, long doubled) {
  }

  private static Count count(FaultLoad load, Stores stores) {
    return count(load, stores.s3Port, stores.questHttp, stores.questPg);
  }

  private static Count count(FaultLoad load, int s3Port, int questHttp, int questPg) {
    long archived = 0;
    long points = 0;
    long lost = 0;
    long doubled = 0;
    Instant from = Datagrams.T0.minusSeconds(3600);
    Instant to = Datagrams.T0.plusSeconds(10L * 1_000_000);
    try (ObjectStore archive = ObjectStores.open(new JsonObject().put("endpoint", "http://127.0.0.1:" + s3Port)
        .put("access_key", "minioadmin").put("secret_key", "minioadmin123").put("bucket", "iot-data"));
         QuestDbStore timeseries = QuestDbStore.open("127.0.0.1", questHttp, questPg, "admin", "quest")) {
      for (String device : load.deviceIds()) {
        Map<Long, Integer> records = new HashMap<>();
        for (StoredObject object : archive.list(device + "/telemetry/", 100_000)) {
          new String(archive.get(object.key()), StandardCharsets.UTF_8).lines().forEach(line ->
              records.merge(new JsonObject(line).getJsonObject("data").getLong("seq"), 1, Integer::sum));
        }
        archived += records.values().stream().mapToInt(Integer::intValue).sum();
        doubled += records.values().stream().filter(n -> n > 1).mapToInt(n -> n - 1).sum();
        Set<Long> stored = new HashSet<>();
        // One voltage sample per datagram, 1 s before its ts (T0 + 10 s · seq): the point's key gives the seq.
        for (MetricSample sample : timeseries.query(device, from, to, Optional.of("voltage_dc"))) {
          stored.add((sample.time().getEpochSecond() + 1 - Datagrams.T0.getEpochSecond()) / 10);
        }
        points += stored.size();
        for (long seq : load.acknowledged().getOrDefault(device, Set.of())) {
          if (!records.containsKey(seq) || !stored.contains(seq)) {
            lost++;
          }
        }
      }
    }
    return new Count(load.acknowledgedCount(), archived, points, lost, doubled);
  }

  /**
   * One row: load through a platform on {@code stores}, {@code fault} injected after a warm-up
   * (it returns once repaired), load for a few seconds more, then wait until the journal has
   * nothing pending and count every store.
   */
  private static void row(String fault, JsonObject config, Stores stores, List<Integer> ports, Consumer<RunningPlatform> inject)
      throws Exception {
    try (RunningPlatform platform = RunningPlatform.start(stores.apply(config));
         FaultLoad load = new FaultLoad("fault", METERS, PERIOD_MS, ports.isEmpty() ? List.of(platform.mqttPort()) : ports)) {
      Thread.sleep(WARM_UP.toMillis());
      inject.accept(platform);
      long repaired = System.nanoTime();
      Instant repairedAt = Instant.now();
      // Recovered: everything accepted before the repair is stored (the load goes on meanwhile).
      Eventually.within(RECOVERY_LIMIT, () -> assertThat(stores.count(
          "SELECT count(*) FROM intake_journal WHERE pending <> 0 AND accepted_at < '" + repairedAt + "'")).isZero());
      Duration recovery = Duration.ofNanos(System.nanoTime() - repaired);
      Thread.sleep(Math.max(0, WARM_UP.toMillis() - recovery.toMillis()));
      load.stop();
      Thread.sleep(2000); // the last acknowledgements
      Eventually.within(RECOVERY_LIMIT, () -> assertThat(stores.count("SELECT count(*) FROM intake_journal WHERE pending <> 0"))
          .isZero());
      // Time-series writes are applied asynchronously by QuestDB: count once they settle.
      Count counted = Eventually.value(Duration.ofSeconds(30), () -> count(load, stores), c -> c.lost() == 0);
      String loadText = METERS + " meters × " + (1000 / PERIOD_MS) + "/s × " + ports.size() + (ports.size() > 1 ? " brokers" : "")
          + " QoS 1";
      String line = String.format("| %s | %s | %,d | %,d archive records, %,d points | %d | %d | %.1f s |", fault,
          loadText.replace(" × 0", ""), counted.acknowledged(), counted.archived(), counted.points(), counted.lost(),
          counted.doubled(), recovery.toMillis() / 1000.0);
      ROWS.add(line);
      System.out.println(line);
      assertThat(counted.acknowledged()).as("acknowledged").isGreaterThan(METERS * 10L);
      assertThat(counted.lost()).as(fault + ": lost").isZero();
      assertThat(counted.doubled()).as(fault + ": doubled").isZero();
    }
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static JsonObject endpointConfig() {
    JsonObject config = RunningPlatform.ingestConfig();
    config.getJsonObject("mqtt").put("handoff_timeout_ms", 3000);
    return config;
  }

  @Test
  @Order(1)
  void s3StoreDown() throws Exception {
    try (Stores stores = new Stores()) {
      row("S3 store down " + OUTAGE.toSeconds() + " s", endpointConfig(), stores, List.of(), p -> {
        stores.s3Down();
        sleep(OUTAGE);
        stores.s3Up();
      });
    }
  }

  @Test
  @Order(2)
  void timeseriesStoreDown() throws Exception {
    try (Stores stores = new Stores()) {
      row("time-series store down " + OUTAGE.toSeconds() + " s", endpointConfig(), stores, List.of(), p -> {
        stores.timeseriesDown();
        sleep(OUTAGE);
        stores.timeseriesUp();
      });
    }
  }

  @Test
  @Order(3)
  void bothStoresDown() throws Exception {
    try (Stores stores = new Stores()) {
      row("S3 and time-series stores down " + OUTAGE.toSeconds() + " s", endpointConfig(), stores, List.of(), p -> {
        stores.s3Down();
        stores.timeseriesDown();
        sleep(OUTAGE);
        stores.s3Up();
        stores.timeseriesUp();
      });
    }
  }

  @Test
  @Order(4)
  void postgresStalled() throws Exception {
    try (Stores stores = new Stores()) {
      row("PostgreSQL stalled " + OUTAGE.toSeconds() + " s (connections open, nothing forwarded)", endpointConfig(), stores,
          List.of(), p -> {
            stores.postgresProxy.stall();
            sleep(OUTAGE);
            stores.postgresProxy.resume();
          });
    }
  }

  @Test
  @Order(5)
  void postgresKilledAndRestarted() throws Exception {
    try (Stores stores = new Stores(true)) {
      row("PostgreSQL killed (SIGKILL) and restarted after " + OUTAGE.toSeconds() / 2 + " s", endpointConfig(), stores, List.of(),
          p -> stores.crashPostgres(OUTAGE.dividedBy(2)));
    }
  }

  @Test
  @Order(6)
  void oneOfTwoBrokersKilled() throws Exception {
    try (Stores stores = new Stores(); TestMosquitto a = TestMosquitto.start(); TestMosquitto b = TestMosquitto.start()) {
      JsonObject config = endpointConfig();
      config.getJsonObject("deploy").put("mqtt_server", 0).put("mqtt_bridge", 1);
      config.getJsonObject("mqtt_bridge").put("brokers", new JsonArray().add(a.address()).add(b.address()))
          .put("client_id", "fault-suite").put("min_backoff_ms", 100).put("max_backoff_ms", 1000);
      row("one of two Mosquitto brokers killed for " + OUTAGE.toSeconds() + " s (bridge)", config, stores,
          List.of(a.port(), b.port()), p -> {
            a.stop();
            sleep(OUTAGE);
            a.restart();
          });
    }
  }

  @Test
  @Order(7)
  void malformedPacketsFromAFuzzer() throws Exception {
    try (Stores stores = new Stores()) {
      row("malformed MQTT packets (2,000 fuzzed connections)", endpointConfig(), stores, List.of(), FaultInjectionIT::fuzz);
    }
  }

  /**
   * The platform as a separate process (the packaged jar, embedded stores in its data
   * directory), SIGKILLed three times mid-stream and restarted on the same directory each time.
   */
  @Test
  @Order(8)
  void platformProcessKilledThreeTimes() throws Exception {
    Path data = Files.createTempDirectory("fault-kill");
    Path log = data.resolve("platform.log");
    Map<String, String> env = new HashMap<>();
    int http = FreePorts.next();
    int mqtt = FreePorts.next();
    int pg = FreePorts.next();
    int s3 = FreePorts.next();
    int questHttp = FreePorts.next();
    int questPg = FreePorts.next();
    env.put("IOT_HTTP_HOST", "127.0.0.1");
    env.put("IOT_HTTP_PORT", String.valueOf(http));
    env.put("IOT_MQTT_HOST", "127.0.0.1");
    env.put("IOT_MQTT_PORT", String.valueOf(mqtt));
    env.put("IOT_POSTGRES_PORT", String.valueOf(pg));
    env.put("IOT_S3_EMBEDDED_PORT", String.valueOf(s3));
    env.put("IOT_TIMESERIES_QUESTDB_HTTP_PORT", String.valueOf(questHttp));
    env.put("IOT_TIMESERIES_QUESTDB_PG_PORT", String.valueOf(questPg));
    env.put("IOT_DEPLOY_SIMULATOR", "0");
    Process platform = launch(data, env, log);
    Duration slowestRestart = Duration.ZERO;
    try {
      awaitReady(platform, http, log);
      try (FaultLoad load = new FaultLoad("kill", METERS, PERIOD_MS, List.of(mqtt))) {
        Thread.sleep(WARM_UP.toMillis());
        for (int kill = 0; kill < 3; kill++) {
          platform.destroyForcibly();
          platform.waitFor();
          long killed = System.nanoTime();
          platform = launch(data, env, log);
          awaitReady(platform, http, log);
          Duration restart = Duration.ofNanos(System.nanoTime() - killed);
          slowestRestart = restart.compareTo(slowestRestart) > 0 ? restart : slowestRestart;
          Thread.sleep(WARM_UP.toMillis());
        }
        load.stop();
        Thread.sleep(2000);
        JsonObject embeddedPostgres = new JsonObject().put("host", "127.0.0.1").put("port", pg).put("database", "iot_devices");
        Eventually.within(RECOVERY_LIMIT, () -> assertThat(TestPostgres.countAt(embeddedPostgres,
            "SELECT count(*) FROM intake_journal WHERE pending <> 0")).isZero());
        Count counted = Eventually.value(Duration.ofSeconds(30), () -> count(load, s3, questHttp, questPg), c -> c.lost() == 0);
        String line = String.format("| platform process SIGKILLed 3 times mid-stream, restarted on its data directory | %d meters × %d/s QoS 1 "
                + "| %,d | %,d archive records, %,d points | %d | %d | %.1f s (slowest restart to ready) |", METERS, 1000 / PERIOD_MS,
            counted.acknowledged(), counted.archived(), counted.points(), counted.lost(), counted.doubled(),
            slowestRestart.toMillis() / 1000.0);
        ROWS.add(line);
        System.out.println(line);
        assertThat(counted.lost()).as("lost").isZero();
        assertThat(counted.doubled()).as("doubled").isZero();
      }
    } finally {
      platform.destroy();
      platform.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  private static Process launch(Path data, Map<String, String> env, Path log) throws java.io.IOException {
    ProcessBuilder builder = new ProcessBuilder("java", "-jar", "target/iot-meter.jar", "run", "--data-dir", data.toString())
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().putAll(env);
    return builder.start();
  }

  private static void awaitReady(Process process, int port, Path log) throws Exception {
    java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    while (System.nanoTime() < deadline) {
      assertThat(process.isAlive()).as("platform exited early; see " + log).isTrue();
      try {
        if (http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/readyz"))
            .timeout(Duration.ofSeconds(5)).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode() == 200) {
          return;
        }
      } catch (java.io.IOException notYet) {
        // not listening yet
      }
      Thread.sleep(200);
    }
    throw new AssertionError("platform not ready within 120 s; see " + log);
  }

  /** Random bytes, truncated frames, wrong lengths and junk after a valid CONNECT, each on its own connection. */
  private static void fuzz(RunningPlatform platform) {
    Vertx vertx = Vertx.vertx();
    NetClient client = vertx.createNetClient();
    Random random = new Random(42);
    byte[] connect = {0x10, 0x10, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x04, 'f', 'u', 'z', 'z'};
    try {
      for (int i = 0; i < 2000; i++) {
        Buffer frame = Buffer.buffer();
        switch (i % 4) {
          case 0 -> { // random bytes
            byte[] junk = new byte[1 + random.nextInt(512)];
            random.nextBytes(junk);
            frame.appendBytes(junk);
          }
          case 1 -> frame.appendBytes(connect, 0, 1 + random.nextInt(connect.length - 1)); // truncated CONNECT
          case 2 -> frame.appendBytes(connect).appendByte((byte) 0x30).appendByte((byte) 0xff).appendByte((byte) 0xff)
              .appendByte((byte) 0xff).appendByte((byte) 0x7f); // a PUBLISH claiming 256 MB
          default -> { // a valid CONNECT, then a packet whose length lies
            byte[] junk = new byte[random.nextInt(64)];
            random.nextBytes(junk);
            frame.appendBytes(connect).appendByte((byte) (0x30 | random.nextInt(16))).appendByte((byte) random.nextInt(128))
                .appendBytes(junk);
          }
        }
        NetSocket socket = client.connect(platform.mqttPort(), "127.0.0.1").await();
        socket.write(frame);
        vertx.setTimer(200, id -> socket.close());
      }
      assertThat(platform.get("/healthz").status()).isEqualTo(200);
    } finally {
      vertx.close().await();
    }
  }

  @AfterAll
  static void printTable() throws Exception {
    StringBuilder table = new StringBuilder("\n| fault | load | acknowledged | stored | lost | doubled | time to recover |\n"
        + "|---|---|---|---|---|---|---|\n");
    ROWS.forEach(r -> table.append(r).append('\n'));
    System.out.println(table);
    Files.createDirectories(Path.of("target"));
    Files.writeString(Path.of("target/fault-injection.md"), table.toString());
  }
}
