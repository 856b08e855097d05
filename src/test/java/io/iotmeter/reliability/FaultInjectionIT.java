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
      this(durablePostgres ? Files.createTempDirectory("fault-pg") : null);
    }

    /** With a durable PostgreSQL of its own on {@code postgresDir}, or the shared test server when null. */
    Stores(Path postgresDir) throws Exception {
      this.postgresDir = postgresDir;
      s3Dir = Files.createTempDirectory("fault-s3");
      questDir = Files.createTempDirectory("fault-questdb");
      s3 = EmbeddedS3Server.start(s3Dir, s3Port, "minioadmin", "minioadmin123");
      questdb = EmbeddedQuestDb.start(questDir, questHttp, questPg);
      if (postgresDir != null) {
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

    /** Whether the PostgreSQL processes still run (a PANIC may have ended them). */
    boolean postgresRunning() {
      try {
        long pid = Long.parseLong(Files.readAllLines(postgresDir.resolve("postmaster.pid")).get(0).trim());
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
      } catch (java.io.IOException | RuntimeException e) {
        return false;
      }
    }

    /** Starts PostgreSQL again on its directory and port, when it is no longer running. */
    void restartPostgresIfDown() {
      if (!postgresRunning()) {
        ownPostgres.close();
        ownPostgres = EmbeddedPostgresServer.start(postgresDir, postgresPort, "iot_devices", true);
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

  /**
   * PostgreSQL's data directory (journal, WAL) on a small tmpfs of its own, filled to the last
   * byte mid-stream. The platform must stop acknowledging, say why on {@code /readyz}, and once
   * space is freed store everything it acknowledged — nothing corrupt, lost or doubled.
   */
  @Test
  @Order(6)
  void journalDiskFull() throws Exception {
    Path disk = Files.createTempDirectory("fault-pg-disk");
    Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=160m", "tmpfs", disk.toString())
        .redirectErrorStream(true).start();
    boolean mounted = mount.waitFor() == 0;
    org.junit.jupiter.api.Assumptions.assumeTrue(mounted,
        () -> "a small disk for PostgreSQL needs mount(8) as root: " + new String(readQuietly(mount), StandardCharsets.UTF_8));
    try (Stores stores = new Stores(disk.resolve("pg"))) {
      List<String> reasons = new ArrayList<>();
      row("journal disk full (PostgreSQL's data directory, tmpfs) for " + OUTAGE.toSeconds() + " s", endpointConfig(), stores,
          List.of(), p -> {
            Path filler = disk.resolve("filler");
            fill(filler);
            long until = System.nanoTime() + OUTAGE.toNanos();
            while (System.nanoTime() < until) {
              RunningPlatform.Reply ready = p.get("/readyz");
              if (ready.status() != 200) {
                reasons.add(ready.body());
              }
              sleep(Duration.ofMillis(500));
            }
            try {
              Files.delete(filler);
            } catch (java.io.IOException e) {
              throw new IllegalStateException(e);
            }
            stores.restartPostgresIfDown();
          });
      assertThat(reasons).as("readiness during the outage").isNotEmpty();
      assertThat(String.join("\n", reasons)).as("readiness names the cause").contains("No space left on device");
    } finally {
      new ProcessBuilder("umount", "-l", disk.toString()).start().waitFor();
    }
  }

  /** Writes zeros to {@code file} until the disk refuses more. */
  private static void fill(Path file) {
    byte[] block = new byte[1 << 20];
    try (java.io.OutputStream out = Files.newOutputStream(file)) {
      while (true) {
        out.write(block);
      }
    } catch (java.io.IOException full) {
      // the disk is full: what we wanted
    }
  }

  private static byte[] readQuietly(Process process) {
    try {
      return process.getInputStream().readAllBytes();
    } catch (java.io.IOException e) {
      return new byte[0];
    }
  }

  @Test
  @Order(7)
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
  @Order(8)
  void malformedPacketsFromAFuzzer() throws Exception {
    try (Stores stores = new Stores()) {
      row("malformed MQTT packets (2,000 fuzzed connections)", endpointConfig(), stores, List.of(), FaultInjectionIT::fuzz);
    }
  }

  /**
   * A platform node as a separate process (the packaged jar, embedded stores in its data
   * directory), which a test may SIGKILL and restart on the same directory and ports.
   */
  private static final class PlatformProcess implements AutoCloseable {
    final Path data;
    final Path log;
    final Map<String, String> env = new HashMap<>();
    final int http = FreePorts.next();
    final int mqtt = FreePorts.next();
    final int pg = FreePorts.next();
    final int s3 = FreePorts.next();
    final int questHttp = FreePorts.next();
    final int questPg = FreePorts.next();
    /** Where readiness is asked: the API's port, or the ops port of a node without the API. */
    int readyPort = http;
    Process process;

    PlatformProcess(String name) throws java.io.IOException {
      data = Files.createTempDirectory("fault-" + name);
      log = data.resolve("platform.log");
      env.put("IOT_HTTP_HOST", "127.0.0.1");
      env.put("IOT_HTTP_PORT", String.valueOf(http));
      env.put("IOT_MQTT_HOST", "127.0.0.1");
      env.put("IOT_MQTT_PORT", String.valueOf(mqtt));
      env.put("IOT_BRIDGE_TCP_HOST", "127.0.0.1");
      env.put("IOT_BRIDGE_TCP_PORT", String.valueOf(FreePorts.next()));
      env.put("IOT_POSTGRES_PORT", String.valueOf(pg));
      env.put("IOT_S3_EMBEDDED_PORT", String.valueOf(s3));
      env.put("IOT_TIMESERIES_QUESTDB_HTTP_PORT", String.valueOf(questHttp));
      env.put("IOT_TIMESERIES_QUESTDB_PG_PORT", String.valueOf(questPg));
      env.put("IOT_DEPLOY_SIMULATOR", "0");
      // The suite is about durability: its meters connect without credentials.
      env.put("IOT_SECURITY_ENABLED", "false");
    }

    /** Starts the process and waits until it is ready. */
    void start() throws Exception {
      ProcessBuilder builder = new ProcessBuilder("java", "-jar", "target/iot-meter.jar", "run", "--data-dir", data.toString())
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      builder.environment().putAll(env);
      process = builder.start();
      awaitReady();
    }

    /** SIGKILL, then a restart on the same directory; returns the time until it is ready again. */
    Duration killAndRestart() throws Exception {
      process.destroyForcibly();
      process.waitFor();
      long killed = System.nanoTime();
      start();
      return Duration.ofNanos(System.nanoTime() - killed);
    }

    JsonObject postgres() {
      return new JsonObject().put("host", "127.0.0.1").put("port", pg).put("database", "iot_devices");
    }

    private void awaitReady() throws Exception {
      java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
      long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
      while (System.nanoTime() < deadline) {
        assertThat(process.isAlive()).as("platform exited early; see " + log).isTrue();
        try {
          if (client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + readyPort + "/readyz"))
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

    @Override
    public void close() throws Exception {
      if (process != null) {
        process.destroy();
        process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
      }
    }
  }

  /** Waits until the journal of {@code node} has nothing pending, counts its stores and adds the row. */
  private static void countProcessRow(String fault, FaultLoad load, PlatformProcess node, String recovery) {
    load.stop();
    sleep(Duration.ofSeconds(2)); // the last acknowledgements
    Eventually.within(RECOVERY_LIMIT, () -> assertThat(TestPostgres.countAt(node.postgres(),
        "SELECT count(*) FROM intake_journal WHERE pending <> 0")).isZero());
    Count counted = Eventually.value(Duration.ofSeconds(30), () -> count(load, node.s3, node.questHttp, node.questPg),
        c -> c.lost() == 0);
    String line = String.format("| %s | %d meters × %d/s QoS 1 | %,d | %,d archive records, %,d points | %d | %d | %s |", fault,
        METERS, 1000 / PERIOD_MS, counted.acknowledged(), counted.archived(), counted.points(), counted.lost(),
        counted.doubled(), recovery);
    ROWS.add(line);
    System.out.println(line);
    assertThat(counted.lost()).as(fault + ": lost").isZero();
    assertThat(counted.doubled()).as(fault + ": doubled").isZero();
  }

  /** SIGKILLed three times mid-stream and restarted on the same data directory each time. */
  @Test
  @Order(9)
  void platformProcessKilledThreeTimes() throws Exception {
    try (PlatformProcess platform = new PlatformProcess("kill")) {
      platform.start();
      Duration slowestRestart = Duration.ZERO;
      try (FaultLoad load = new FaultLoad("kill", METERS, PERIOD_MS, List.of(platform.mqtt))) {
        Thread.sleep(WARM_UP.toMillis());
        for (int kill = 0; kill < 3; kill++) {
          Duration restart = platform.killAndRestart();
          slowestRestart = restart.compareTo(slowestRestart) > 0 ? restart : slowestRestart;
          Thread.sleep(WARM_UP.toMillis());
        }
        countProcessRow("platform process SIGKILLed 3 times mid-stream, restarted on its data directory", load, platform,
            String.format("%.1f s (slowest restart to ready)", slowestRestart.toMillis() / 1000.0));
      }
    }
  }

  /**
   * A two-process cluster: an ingest node (its own process, the embedded stores in its data
   * directory) and an API node (this JVM) using those stores and staying connected while the
   * ingest node is SIGKILLed and restarted. The restart must take its data directory back
   * whoever is connected, and a command posted on the API node meanwhile must reach the meter.
   */
  @Test
  @Order(10)
  void ingestNodeOfAClusterKilledWhileTheApiNodeStaysConnected() throws Exception {
    String cluster = "fault-" + java.util.UUID.randomUUID();
    int ingestMember = FreePorts.next();
    int apiMember = FreePorts.next();
    String members = new JsonArray().add("127.0.0.1:" + ingestMember).add("127.0.0.1:" + apiMember).encode();
    try (PlatformProcess ingest = new PlatformProcess("cluster-ingest")) {
      int ops = FreePorts.next();
      ingest.env.putAll(Map.of("IOT_ROLE", "ingest", "IOT_CLUSTER_ENABLED", "true", "IOT_CLUSTER_NAME", cluster,
          "IOT_CLUSTER_HOST", "127.0.0.1", "IOT_CLUSTER_PORT", String.valueOf(ingestMember), "IOT_CLUSTER_MEMBERS", members,
          "IOT_DEPLOY_OPS", "1", "IOT_OPS_HOST", "127.0.0.1", "IOT_OPS_PORT", String.valueOf(ops)));
      ingest.env.put("IOT_COMMANDS_REDELIVERY_CHECK_MS", "200");
      ingest.readyPort = ops;
      ingest.start();
      JsonObject apiConfig = RunningPlatform.testConfig();
      apiConfig.put("roles", new JsonArray().add("api"));
      apiConfig.put("cluster", new JsonObject().put("enabled", true).put("name", cluster).put("host", "127.0.0.1")
          .put("port", apiMember).put("bus_port", 0).put("members", new JsonArray(members)));
      apiConfig.getJsonObject("postgres").put("embedded", false).put("host", "127.0.0.1").put("port", ingest.pg)
          .put("database", "iot_devices").put("user", "postgres").put("password", "");
      apiConfig.getJsonObject("s3").put("embedded", false).put("endpoint", "http://127.0.0.1:" + ingest.s3);
      apiConfig.getJsonObject("timeseries").put("store", "questdb").put("embedded", false)
          .getJsonObject("questdb").put("host", "127.0.0.1").put("http_port", ingest.questHttp).put("pg_port", ingest.questPg);
      try (RunningPlatform api = RunningPlatform.start(apiConfig);
           FaultLoad load = new FaultLoad("cluster", METERS, PERIOD_MS, List.of(ingest.mqtt))) {
        // A meter of its own for the command (the load's clients only publish), known to the registry.
        try (io.iotmeter.support.TestMeter meter = io.iotmeter.support.TestMeter.connect(api.vertx(), ingest.mqtt,
            "cluster-cmd", false)) {
          meter.send("iot/cluster-cmd/status", Datagrams.status("cluster-cmd", "online", Instant.now()), 1);
        }
        Thread.sleep(WARM_UP.toMillis());
        // The API node holds connections to the ingest node's PostgreSQL when it is killed.
        assertThat(api.get("/api/devices/cluster-cmd").status()).isEqualTo(200);
        ingest.process.destroyForcibly();
        ingest.process.waitFor();
        long killed = System.nanoTime();
        // Posted while the ingest node is down: refused (its stores are gone) or stored — never lost.
        RunningPlatform.Reply posted = api.post("/api/devices/cluster-cmd/commands", new JsonObject().put("cmd", "request_status"));
        ingest.start();
        Duration restart = Duration.ofNanos(System.nanoTime() - killed);
        if (posted.status() >= 500) {
          posted = Eventually.value(Duration.ofSeconds(60), () -> api.post("/api/devices/cluster-cmd/commands",
              new JsonObject().put("cmd", "request_status")), r -> r.status() < 500);
        }
        assertThat(posted.status()).as(posted.toString()).isIn(201, 202);
        String cmdId = posted.json().getString("cmd_id");
        // The meter comes back and is sent the command.
        try (io.iotmeter.support.TestMeter meter = io.iotmeter.support.TestMeter.connect(api.vertx(), ingest.mqtt,
            "cluster-cmd", false)) {
          meter.subscribe("iot/cluster-cmd/command", 1);
          meter.send("iot/cluster-cmd/status", Datagrams.status("cluster-cmd", "online", Instant.now()), 1);
          assertThat(meter.receive(Duration.ofSeconds(30)).payload().toJsonObject().getString("cmd_id")).isEqualTo(cmdId);
          meter.send("iot/cluster-cmd/command/ack", Datagrams.ack("cluster-cmd", 0, cmdId, "accepted", "ok"), 1);
          Eventually.within(Duration.ofSeconds(30), () ->
              assertThat(api.get("/api/commands/" + cmdId).json().getString("status")).isEqualTo("accepted"));
        }
        Thread.sleep(WARM_UP.toMillis());
        countProcessRow("ingest node of a two-process cluster SIGKILLed and restarted, API node connected (a command posted "
            + "meanwhile acknowledged)", load, ingest, String.format("%.1f s (restart to ready)", restart.toMillis() / 1000.0));
      }
    }
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
