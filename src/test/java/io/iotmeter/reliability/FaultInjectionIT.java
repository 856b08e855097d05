package io.iotmeter.reliability;

import io.iotmeter.audit.AckLedger;
import io.iotmeter.audit.AuditReport;
import io.iotmeter.audit.MessageKey;
import io.iotmeter.audit.MeterLoad;
import io.iotmeter.audit.MixedLayout;
import io.iotmeter.audit.RecordingTimeSeriesProxy;
import io.iotmeter.audit.StoreAudit;
import io.iotmeter.embedded.EmbeddedPostgresServer;
import io.iotmeter.embedded.EmbeddedQuestDb;
import io.iotmeter.embedded.EmbeddedS3Server;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.FreePorts;
import io.iotmeter.support.ResultsFile;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.TcpProxy;
import io.iotmeter.support.TestMosquitto;
import io.iotmeter.support.TestPostgres;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SortedSet;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fault-injection suite: real load through the real servers while a fault is injected, then
 * the {@link StoreAudit} reads every store back against what the meters saw acknowledged, key by
 * key. The load ({@link MixedLayout}) is telemetry with hellos, command acks and OTA reports, so
 * every sink is audited. Each row must show that its fault took effect during the outage
 * ({@link FaultWatch}: readiness naming the store, the backlog growing, the error counter rising,
 * acknowledgements stopping, the process gone) and that enough was acknowledged (a floor), or it
 * fails; a row that would pass with no fault and no traffic proves nothing.
 *
 * <p>Outages last {@code -Dfaults.outage_s} (10 s in {@code mvn verify}); the long run writes its
 * table to {@code docs/results/fault-injection.md}, which the README shows:
 * {@code mvn -B verify -Dit.test=FaultInjectionIT -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dfaults.outage_s=60 -Dresults.dir=docs/results}.
 * The fuzzer's seed is random and printed; {@code -Dfaults.fuzz_seed=N} replays it.
 */
@Timeout(1800)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FaultInjectionIT {

  private static final Duration OUTAGE = Duration.ofSeconds(Long.getLong("faults.outage_s", 60));
  private static final int METERS = 20;
  private static final long PERIOD_MS = 200;
  /** Messages a second the meters offer together. */
  private static final double RATE = METERS * 1000.0 / PERIOD_MS;
  private static final Duration WARM_UP = Duration.ofSeconds(5);
  private static final Duration RECOVERY_LIMIT = Duration.ofSeconds(180);
  private static final MixedLayout LAYOUT = new MixedLayout();
  private static final List<String> ROWS = new ArrayList<>();
  private static final String ENDPOINT = "endpoint";
  /** Rows that failed before they could add their line (their fault not shown, an error): named in the results file. */
  private static final List<String> FAILED = new java.util.concurrent.CopyOnWriteArrayList<>();

  @org.junit.jupiter.api.extension.RegisterExtension
  static final org.junit.jupiter.api.extension.TestWatcher WATCH = new org.junit.jupiter.api.extension.TestWatcher() {
    @Override
    public void testFailed(org.junit.jupiter.api.extension.ExtensionContext context, Throwable cause) {
      FAILED.add(context.getDisplayName() + ": " + String.valueOf(cause.getMessage()).strip().replaceAll("\\s+", " "));
    }
  };

  /** At least half of what the meters offer while the platform can take it: a row without traffic fails. */
  private static long floor(Duration available) {
    return (long) (RATE * available.toMillis() / 1000.0 / 2);
  }

  /** The servers behind one platform under test, each of which a fault may take away. */
  private static final class Stores implements AutoCloseable {
    final Path s3Dir;
    final int s3Port = FreePorts.next();
    final Path questDir;
    final int questHttp = FreePorts.next();
    final int questPg = FreePorts.next();
    final Vertx vertx = Vertx.vertx();
    final TcpProxy postgresProxy;
    /** Counts every point the time-series sink sends: a rewrite shows here, not in the store. */
    final RecordingTimeSeriesProxy timeseriesProxy;
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
            .put("database", "iot_devices").put("user", "postgres").put("password", ownPostgres.password()).put("pool_size", 4);
      } else {
        postgres = TestPostgres.freshDatabase();
      }
      postgresProxy = TcpProxy.start(vertx, postgres.getInteger("port"));
      timeseriesProxy = RecordingTimeSeriesProxy.start(vertx, FreePorts.next(), questHttp);
    }

    /**
     * Kills the PostgreSQL processes (SIGKILL: the postmaster and every backend) — a crash —
     * and starts it again on the same directory and port after {@code down}: it recovers from
     * its WAL. Returns the postmaster's pid, gone when this returns.
     */
    long crashPostgres(Duration down, long[] away) {
      try {
        long pid = Long.parseLong(Files.readAllLines(postgresDir.resolve("postmaster.pid")).get(0).trim());
        ProcessHandle postmaster = ProcessHandle.of(pid).orElseThrow();
        List<ProcessHandle> all = new ArrayList<>(postmaster.descendants().toList());
        all.add(postmaster);
        all.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle p : all) {
          p.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
        }
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("postmaster after SIGKILL").isFalse();
        away[0] = System.currentTimeMillis();
        ownPostgres.close(); // releases zonky's lock on the directory; its stop finds no server
        sleep(down);
        away[1] = System.currentTimeMillis(); // from here on it may answer again
        ownPostgres = EmbeddedPostgresServer.start(postgresDir, postgresPort, "iot_devices", true);
        return pid;
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

    JsonObject s3Config() {
      return new JsonObject().put("endpoint", "http://127.0.0.1:" + s3Port).put("access_key", "minioadmin")
          .put("secret_key", "minioadmin123").put("bucket", "iot-data");
    }

    StoreAudit.QuestDb questdb() {
      return new StoreAudit.QuestDb("127.0.0.1", questPg, "admin", "quest");
    }

    JsonObject apply(JsonObject config) {
      config.getJsonObject("postgres").mergeIn(postgres).put("port", postgresProxy.port());
      config.getJsonObject("s3").put("embedded", false).put("endpoint", "http://127.0.0.1:" + s3Port);
      config.getJsonObject("timeseries").put("store", "questdb").put("embedded", false)
          .getJsonObject("questdb").put("host", "127.0.0.1").put("http_port", timeseriesProxy.port()).put("pg_port", questPg);
      return config;
    }

    /** Waits until the stores are quiet, then audits them once. */
    AuditReport audit(MeterLoad load) {
      StoreAudit.awaitSettled(postgres, questdb(), Duration.ofSeconds(3), RECOVERY_LIMIT);
      return StoreAudit.of(load.ledger(), LAYOUT, load.deviceIds()).archive(s3Config())
          .timeSeries(questdb(), timeseriesProxy).registry(postgres).run();
    }

    void s3Down() {
      s3.close();
    }

    void s3Up() {
      s3 = EmbeddedS3Server.start(s3Dir, s3Port, "minioadmin", "minioadmin123");
    }

    void timeseriesDown() {
      timeseriesProxy.stop();
      questdb.close();
    }

    void timeseriesUp() {
      questdb = EmbeddedQuestDb.start(questDir, questHttp, questPg);
      timeseriesProxy.start();
    }

    @Override
    public void close() {
      postgresProxy.close();
      timeseriesProxy.close();
      s3.close();
      questdb.close();
      if (ownPostgres != null) {
        ownPostgres.close();
      }
      vertx.close().await();
    }
  }

  /** The injected fault's window (epoch ms). */
  private record Window(long injectedMs, long repairedMs) {

    Duration length() {
      return Duration.ofMillis(repairedMs - injectedMs);
    }
  }

  /** A fault: injects it, and returns once it is repaired. */
  @FunctionalInterface
  private interface Injection {
    void inject(RunningPlatform platform) throws Exception;
  }

  /** Shows that the fault took effect (assertions), and says what was seen, for the table. */
  @FunctionalInterface
  private interface Proof {
    String check(FaultWatch watch, MeterLoad load, Window window, AuditReport report);
  }

  /**
   * One row: load through a platform on {@code stores} (meter {@code i} on {@code pathsOf(i)}, or
   * the platform's endpoint), {@code fault} injected after a warm-up while a {@link FaultWatch}
   * looks on, load for a few seconds more, then the audit once the stores are quiet.
   */
  private static void row(String fault, String loadText, JsonObject config, Stores stores,
                          java.util.function.IntFunction<Map<String, Integer>> pathsOf, Injection inject, Proof proof)
      throws Exception {
    try (RunningPlatform platform = RunningPlatform.start(stores.apply(config))) {
      List<String> devices = MeterLoad.deviceIds("fault", METERS);
      StoreAudit.prepare(stores.postgres, LAYOUT, devices);
      java.util.function.IntFunction<Map<String, Integer>> paths = pathsOf != null ? pathsOf
          : i -> Map.of(ENDPOINT, platform.mqttPort());
      long started = System.currentTimeMillis();
      try (MeterLoad load = new MeterLoad("fault", METERS, PERIOD_MS, paths, LAYOUT)) {
        Thread.sleep(WARM_UP.toMillis());
        Window window;
        try (FaultWatch watch = new FaultWatch(platform.httpPort(), stores.postgres)) {
          long injected = System.currentTimeMillis();
          inject.inject(platform);
          window = new Window(injected, System.currentTimeMillis());
          long repaired = System.nanoTime();
          Instant repairedAt = Instant.now();
          // Recovered: everything accepted before the repair is stored (the load goes on meanwhile).
          Eventually.within(RECOVERY_LIMIT, () -> assertThat(stores.count(
              "SELECT count(*) FROM journal_waiting WHERE accepted_at < '" + repairedAt + "'")).isZero());
          Duration recovery = Duration.ofNanos(System.nanoTime() - repaired);
          Thread.sleep(Math.max(0, WARM_UP.toMillis() - recovery.toMillis()));
          load.stop();
          long stopped = System.currentTimeMillis();
          Thread.sleep(2000); // the last acknowledgements
          AuditReport report = stores.audit(load);
          String seen = proof.check(watch, load, window, report);
          long floor = floor(Duration.ofMillis(stopped - started).minus(window.length()));
          finish(fault, loadText, seen, report, floor, String.format("%.1f s", recovery.toMillis() / 1000.0));
        }
      }
    }
  }

  /** Adds the row to the table, then fails on too little traffic, a loss or a double. */
  private static void finish(String fault, String loadText, String seen, AuditReport report, long floor, String recovery) {
    String line = String.format("| %s | %s | %s | %,d (floor %,d) | %s | %s |", fault, loadText, seen, report.acknowledged(), floor,
        report.cell(), recovery);
    ROWS.add(line);
    System.out.println(line);
    System.out.println(report.detail());
    assertThat(report.acknowledged()).as(fault + ": acknowledged, against the floor").isGreaterThanOrEqualTo(floor);
    assertThat(report.clean()).as(fault + ": the audit\n" + report.detail()).isTrue();
  }

  private static String endpointLoad() {
    return String.format("%d meters × %.0f/s QoS 1", METERS, 1000.0 / PERIOD_MS);
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

  /** Acknowledgements whose PUBACK arrived in the window, from {@code marginMs} after the injection. */
  private static long ackedDuring(MeterLoad load, String path, Window window, long marginMs) {
    return load.ackedBetween(path, window.injectedMs() + marginMs, window.repairedMs());
  }

  /** A store down: readiness names it, its error counter rises, its backlog grows — while the meters are still acknowledged. */
  private static String storeDown(FaultWatch watch, MeterLoad load, Window window, String check, String errorType) {
    assertThat(watch.notReady()).as("/readyz during the outage").contains(check);
    assertThat(watch.rise(errorType)).as(errorType + " errors during the outage").isPositive();
    // Three in ten messages carry no points; the timeseries backlog grows by the other seven.
    assertThat(watch.backlog(check)).as(check + " backlog during the outage").isGreaterThan((long) (RATE * window.length().toSeconds() / 4));
    assertThat(ackedDuring(load, ENDPOINT, window, 0)).as("acknowledged during the outage (the journal takes them)")
        .isGreaterThan(floor(window.length()));
    return watch.seen(errorType);
  }

  @Test
  @Order(1)
  void s3StoreDown() throws Exception {
    try (Stores stores = new Stores()) {
      row("S3 store down " + OUTAGE.toSeconds() + " s", endpointLoad(), endpointConfig(), stores, null, p -> {
        stores.s3Down();
        sleep(OUTAGE);
        stores.s3Up();
      }, (watch, load, window, report) -> storeDown(watch, load, window, "archive", "minio_store"));
    }
  }

  @Test
  @Order(2)
  void timeseriesStoreDown() throws Exception {
    try (Stores stores = new Stores()) {
      row("time-series store down " + OUTAGE.toSeconds() + " s", endpointLoad(), endpointConfig(), stores, null, p -> {
        stores.timeseriesDown();
        sleep(OUTAGE);
        stores.timeseriesUp();
      }, (watch, load, window, report) -> storeDown(watch, load, window, "timeseries", "influxdb_write"));
    }
  }

  @Test
  @Order(3)
  void bothStoresDown() throws Exception {
    try (Stores stores = new Stores()) {
      row("S3 and time-series stores down " + OUTAGE.toSeconds() + " s", endpointLoad(), endpointConfig(), stores, null, p -> {
        stores.s3Down();
        stores.timeseriesDown();
        sleep(OUTAGE);
        stores.s3Up();
        stores.timeseriesUp();
      }, (watch, load, window, report) -> {
        storeDown(watch, load, window, "archive", "minio_store");
        storeDown(watch, load, window, "timeseries", "influxdb_write");
        return watch.seen("minio_store", "influxdb_write");
      });
    }
  }

  /** The journal's database away: nothing may be acknowledged (no durable write), and readiness must say so. */
  private static String journalAway(FaultWatch watch, MeterLoad load, Window away) {
    // A second's grace: commits under way when the fault began may still answer.
    assertThat(ackedDuring(load, ENDPOINT, away, 1000)).as("acknowledged while the journal's database is away").isZero();
    assertThat(watch.notReady().size() + watch.unanswered()).as("/readyz failing or unanswered during the outage").isPositive();
    return watch.seen() + "; nothing acknowledged after the first second";
  }

  @Test
  @Order(4)
  void postgresStalled() throws Exception {
    try (Stores stores = new Stores()) {
      row("PostgreSQL stalled " + OUTAGE.toSeconds() + " s (connections open, nothing forwarded)", endpointLoad(),
          endpointConfig(), stores, null, p -> {
            stores.postgresProxy.stall();
            sleep(OUTAGE);
            stores.postgresProxy.resume();
          }, (watch, load, window, report) -> journalAway(watch, load, window));
    }
  }

  @Test
  @Order(5)
  void postgresKilledAndRestarted() throws Exception {
    try (Stores stores = new Stores(true)) {
      long[] killed = {0};
      long[] away = new long[2];
      row("PostgreSQL killed (SIGKILL) and restarted after " + OUTAGE.toSeconds() / 2 + " s", endpointLoad(), endpointConfig(),
          stores, null, p -> killed[0] = stores.crashPostgres(OUTAGE.dividedBy(2), away),
          // Judged while it was gone: from the kill until its restart began (the row's window also holds the restart).
          (watch, load, window, report) -> "postmaster " + killed[0] + " gone; "
              + journalAway(watch, load, new Window(away[0], away[1])));
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
      long[] full = new long[2];
      row("journal disk full (PostgreSQL's data directory, tmpfs) for " + OUTAGE.toSeconds() + " s", endpointLoad(),
          endpointConfig(), stores, null, p -> {
            Path filler = disk.resolve("filler");
            fill(filler);
            full[0] = System.currentTimeMillis();
            sleep(OUTAGE);
            full[1] = System.currentTimeMillis();
            Files.delete(filler);
            stores.restartPostgresIfDown();
          }, (watch, load, window, report) -> {
            assertThat(String.join("\n", watch.reasons())).as("readiness names the cause").contains("No space left on device");
            // PostgreSQL still fills the WAL segments and pages it had already allocated, so a few commits may
            // succeed after the disk is full (durable all the same); then nothing more does.
            long whileFull = load.ackedBetween(ENDPOINT, full[0], full[1]);
            assertThat(whileFull).as("acknowledged while the disk is full").isLessThan((long) (RATE * OUTAGE.toSeconds() / 10));
            return watch.seen() + String.format("; \"No space left on device\" named; %,d acknowledged while full", whileFull);
          });
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

  /**
   * Two persistent Mosquitto brokers, the platform a client of both; broker A is SIGKILLed
   * mid-stream and restarted from what it saved. Eight meters publish to both brokers (as meters
   * do), six to A only and six to B only, so that each path's acknowledgements are audited on
   * their own: a loss on one path cannot hide behind the other's copy. What A acknowledged in
   * the last seconds before the kill and had not saved nor handed on is A's loss (Mosquitto
   * acknowledges from memory), shown apart; anything else missing fails the row.
   */
  @Test
  @Order(7)
  void oneOfTwoBrokersKilled() throws Exception {
    try (Stores stores = new Stores(); TestMosquitto a = TestMosquitto.startPersistent();
         TestMosquitto b = TestMosquitto.startPersistent()) {
      JsonObject config = endpointConfig();
      config.getJsonObject("deploy").put("mqtt_server", 0).put("mqtt_bridge", 1);
      config.getJsonObject("mqtt_bridge").put("brokers", new JsonArray().add(a.address()).add(b.address()))
          .put("client_id", "fault-suite").put("min_backoff_ms", 100).put("max_backoff_ms", 1000);
      Map<String, Integer> both = new LinkedHashMap<>();
      both.put("broker A", a.port());
      both.put("broker B", b.port());
      long[] kill = new long[2];
      row("one of two persistent Mosquitto brokers SIGKILLed, restarted after " + OUTAGE.toSeconds() + " s (bridge)",
          "20 meters × 5/s QoS 1: 8 to both brokers, 6 to A only, 6 to B only", config, stores,
          i -> i < 8 ? both : i < 14 ? Map.of("broker A", a.port()) : Map.of("broker B", b.port()), p -> {
            kill[0] = System.currentTimeMillis();
            kill[1] = a.kill();
            sleep(OUTAGE);
            a.relaunch();
          }, (watch, load, window, report) -> {
            AckLedger ledger = load.ledger();
            assertThat(ProcessHandle.of(kill[1]).map(ProcessHandle::isAlive).orElse(false)).as("broker A after SIGKILL").isFalse();
            assertThat(ackedDuring(load, "broker A", window, 1000)).as("acknowledged by broker A while it was dead").isZero();
            assertThat(ackedDuring(load, "broker B", window, 0)).as("acknowledged by broker B meanwhile")
                .isGreaterThan(floor(window.length()) * 14 / 20 / 2);
            assertThat(report.missingOf(ledger.acked("broker B"))).as("missing of what broker B acknowledged").isEmpty();
            SortedSet<MessageKey> lostByA = new TreeSet<>();
            ledger.acked("broker A").forEach((key, ack) -> {
              if (report.missing().contains(key)) {
                assertThat(ack.ackedAtMs()).as(key + " acknowledged by A long before the kill, and missing")
                    .isBetween(kill[0] - 3000, kill[0]);
                lostByA.add(key);
              }
            });
            return String.format("broker A (pid %d) gone; A acknowledged nothing while dead, B %,d; %d messages A acknowledged "
                + "in its last 3 s and lost with its memory%s", kill[1], ackedDuring(load, "broker B", window, 0), lostByA.size(),
                lostByA.isEmpty() ? "" : " " + lostByA);
          });
    }
  }

  @Test
  @Order(8)
  void malformedPacketsFromAFuzzer() throws Exception {
    long seed = Long.getLong("faults.fuzz_seed", new Random().nextLong());
    System.out.println("Fuzz seed " + seed + " (replay: -Dfaults.fuzz_seed=" + seed + ")");
    try (Stores stores = new Stores()) {
      int[] connections = {0};
      row("malformed MQTT packets (fuzzed connections, seed " + seed + ")", endpointLoad(), endpointConfig(), stores, null,
          p -> connections[0] = fuzz(p, seed), (watch, load, window, report) -> {
            assertThat(watch.rise("mqtt_protocol")).as("malformed packets the endpoint counted").isPositive();
            // The meters kept being served during the fuzz, and every one of those messages is stored once.
            Map<MessageKey, AckLedger.Ack> during = new HashMap<>();
            load.ledger().acked(ENDPOINT).forEach((key, ack) -> {
              if (ack.ackedAtMs() >= window.injectedMs() && ack.ackedAtMs() < window.repairedMs()) {
                during.put(key, ack);
              }
            });
            assertThat((long) during.size()).as("acknowledged during the fuzz").isGreaterThanOrEqualTo(floor(window.length()));
            assertThat(report.missingOf(during)).as("missing of what was acknowledged during the fuzz").isEmpty();
            return String.format("%,d connections, %,.0f counted as mqtt_protocol errors; %,d meter messages acknowledged and stored "
                + "meanwhile", connections[0], watch.rise("mqtt_protocol"), during.size());
          });
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

    /** SIGKILL; returns once the process is gone (asserted). */
    void kill() throws InterruptedException {
      long pid = process.pid();
      process.destroyForcibly();
      process.waitFor();
      assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("platform " + pid + " after SIGKILL").isFalse();
    }

    /** SIGKILL, then a restart on the same directory; returns the time until it is ready again. */
    Duration killAndRestart() throws Exception {
      kill();
      long killed = System.nanoTime();
      start();
      return Duration.ofNanos(System.nanoTime() - killed);
    }

    JsonObject postgres() {
      return new JsonObject().put("host", "127.0.0.1").put("port", pg).put("database", "iot_devices").put("user", "postgres")
          .put("password", postgresPassword());
    }

    /** The password the node's embedded PostgreSQL generated, kept in its data directory. */
    String postgresPassword() {
      try {
        return Files.readString(EmbeddedPostgresServer.passwordFile(data.resolve("postgres"))).trim();
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }

    AuditReport audit(MeterLoad load) {
      StoreAudit.QuestDb questdb = new StoreAudit.QuestDb("127.0.0.1", questPg, "admin", "quest");
      StoreAudit.awaitSettled(postgres(), questdb, Duration.ofSeconds(3), RECOVERY_LIMIT);
      // The embedded QuestDB is the node's own: no relay can stand in front of it, so rewrites are not recorded here.
      return StoreAudit.of(load.ledger(), LAYOUT, load.deviceIds())
          .archive(new JsonObject().put("endpoint", "http://127.0.0.1:" + s3).put("access_key", "minioadmin")
              .put("secret_key", "minioadmin123").put("bucket", "iot-data"))
          .timeSeries(questdb, null).registry(postgres()).run();
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

  /** Stops the load, audits the node's stores and adds the row. */
  private static void countProcessRow(String fault, String seen, MeterLoad load, PlatformProcess node, long floor,
                                      String recovery) {
    load.stop();
    sleep(Duration.ofSeconds(2)); // the last acknowledgements
    finish(fault, endpointLoad(), seen, node.audit(load), floor, recovery);
  }

  /** SIGKILLed three times mid-stream and restarted on the same data directory each time. */
  @Test
  @Order(9)
  void platformProcessKilledThreeTimes() throws Exception {
    try (PlatformProcess platform = new PlatformProcess("kill")) {
      platform.start();
      StoreAudit.prepare(platform.postgres(), LAYOUT, MeterLoad.deviceIds("kill", METERS));
      Duration slowestRestart = Duration.ZERO;
      Duration down = Duration.ZERO;
      long started = System.currentTimeMillis();
      try (MeterLoad load = new MeterLoad("kill", METERS, PERIOD_MS, Map.of(ENDPOINT, platform.mqtt), LAYOUT)) {
        Thread.sleep(WARM_UP.toMillis());
        for (int kill = 0; kill < 3; kill++) {
          Duration restart = platform.killAndRestart();
          down = down.plus(restart);
          slowestRestart = restart.compareTo(slowestRestart) > 0 ? restart : slowestRestart;
          Thread.sleep(WARM_UP.toMillis());
        }
        long floor = floor(Duration.ofMillis(System.currentTimeMillis() - started).minus(down));
        countProcessRow("platform process SIGKILLed 3 times mid-stream, restarted on its data directory",
            "3 × process gone (SIGKILL)", load, platform, floor,
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
      ingest.env.put("IOT_CLUSTER_ALLOW_PLAINTEXT", "true"); // loopback: the bus TLS has tests of its own
      ingest.readyPort = ops;
      ingest.start();
      StoreAudit.prepare(ingest.postgres(), LAYOUT, MeterLoad.deviceIds("cluster", METERS));
      JsonObject apiConfig = RunningPlatform.testConfig();
      apiConfig.put("roles", new JsonArray().add("api"));
      apiConfig.put("cluster", new JsonObject().put("enabled", true).put("allow_plaintext", true).put("name", cluster).put("host", "127.0.0.1")
          .put("port", apiMember).put("bus_port", 0).put("members", new JsonArray(members)));
      apiConfig.getJsonObject("postgres").put("embedded", false).put("host", "127.0.0.1").put("port", ingest.pg)
          .put("database", "iot_devices").put("user", "postgres").put("password", ingest.postgresPassword());
      apiConfig.getJsonObject("s3").put("embedded", false).put("endpoint", "http://127.0.0.1:" + ingest.s3);
      apiConfig.getJsonObject("timeseries").put("store", "questdb").put("embedded", false)
          .getJsonObject("questdb").put("host", "127.0.0.1").put("http_port", ingest.questHttp).put("pg_port", ingest.questPg);
      long started = System.currentTimeMillis();
      try (RunningPlatform api = RunningPlatform.start(apiConfig);
           MeterLoad load = new MeterLoad("cluster", METERS, PERIOD_MS, Map.of(ENDPOINT, ingest.mqtt), LAYOUT)) {
        // A meter of its own for the command (the load's clients only publish), known to the registry.
        try (io.iotmeter.support.TestMeter meter = io.iotmeter.support.TestMeter.connect(api.vertx(), ingest.mqtt,
            "cluster-cmd", false)) {
          meter.send("iot/cluster-cmd/status", Datagrams.status("cluster-cmd", "online", Instant.now()), 1);
        }
        Thread.sleep(WARM_UP.toMillis());
        // The API node holds connections to the ingest node's PostgreSQL when it is killed.
        assertThat(api.get("/api/devices/cluster-cmd").status()).isEqualTo(200);
        ingest.kill();
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
        long floor = floor(Duration.ofMillis(System.currentTimeMillis() - started).minus(restart));
        countProcessRow("ingest node of a two-process cluster SIGKILLed and restarted, API node connected (a command posted "
                + "meanwhile acknowledged)", "ingest process gone (SIGKILL); the command stored and acknowledged", load, ingest,
            floor, String.format("%.1f s (restart to ready)", restart.toMillis() / 1000.0));
      }
    }
  }

  /**
   * Random bytes, truncated frames, wrong lengths and junk after a valid CONNECT, each on its own
   * connection, from {@code seed}; returns how many connections were made.
   */
  private static int fuzz(RunningPlatform platform, long seed) {
    Vertx vertx = Vertx.vertx();
    NetClient client = vertx.createNetClient();
    Random random = new Random(seed);
    byte[] connect = {0x10, 0x10, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x04, 'f', 'u', 'z', 'z'};
    int connections = 0;
    long until = System.nanoTime() + Math.max(OUTAGE.toNanos() / 2, Duration.ofSeconds(5).toNanos());
    try {
      for (int i = 0; i < 2000 || System.nanoTime() < until; i++) {
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
        connections++;
      }
      return connections;
    } finally {
      vertx.close().await();
    }
  }

  @AfterAll
  static void writeTable() {
    String table = "| fault | load | the fault, seen during the outage | acknowledged (floor) | lost / doubled per store | time to recover |\n"
        + "|---|---|---|---|---|---|\n" + String.join("\n", ROWS);
    System.out.println("\n" + table);
    ResultsFile.write("fault-injection", "Fault injection: " + OUTAGE.toSeconds() + " s outages",
        "mvn -B verify -Dit.test=FaultInjectionIT -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dfaults.outage_s="
            + OUTAGE.toSeconds() + " -Dresults.dir=docs/results",
        List.of("Mosquitto " + io.iotmeter.support.TestMosquitto.version() + ". Lost / doubled per store: acknowledged keys "
            + "(device, seq) missing from the store / held more than once, read back from every store by the store audit "
            + "(`audit.StoreAudit`); stored unacknowledged and points rewritten (sent again by the time-series sink, one copy "
            + "kept under the store's upsert key) are shown beside them.",
            FAILED.isEmpty() ? "Every row passed." : "FAILED rows: " + String.join("; ", FAILED)), table);
  }
}
