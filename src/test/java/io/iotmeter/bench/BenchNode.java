package io.iotmeter.bench;

import io.iotmeter.Main;
import io.iotmeter.boot.Platform;
import io.iotmeter.embedded.EmbeddedPostgresServer;
import io.iotmeter.embedded.EmbeddedQuestDb;
import io.iotmeter.embedded.EmbeddedS3Server;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A process the benchmark measures, started by {@link IngestBenchmark}:
 * <ul>
 *   <li>{@code stores DIR [pg-stats]}: the embedded profile's stores — PostgreSQL (its own processes;
 *       with pg_stat_statements on request), S3Proxy and QuestDB (in this JVM) — so their CPU is
 *       counted apart from the platform's;</li>
 *   <li>{@code platform CONFIG.json}: the platform, exactly as the launcher starts it, on those
 *       stores; {@code stats} on stdin prints its heap after a full GC and its RSS.</li>
 * </ul>
 */
public final class BenchNode {

  public static void main(String[] args) throws Exception {
    if (args.length >= 2 && args[0].equals("stores")) {
      stores(Path.of(args[1]), args.length == 3 && args[2].equals("pg-stats"));
    } else if (args.length == 2 && args[0].equals("platform")) {
      platform(new JsonObject(Files.readString(Path.of(args[1]))));
    } else {
      throw new IllegalArgumentException("usage: BenchNode stores DIR [pg-stats] | platform CONFIG.json");
    }
    System.exit(0); // not halt: a JFR recording (--jfr) is written on exit
  }

  private static void stores(Path dir, boolean statementStats) throws Exception {
    EmbeddedPostgresServer postgres = EmbeddedPostgresServer.start(dir.resolve("postgres"), 0, "iot_devices", true);
    if (statementStats) {
      // The library loads at server start only: set, then start the same data directory again.
      try (var c = java.sql.DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + postgres.port() + "/iot_devices",
          postgres.user(), postgres.password()); var s = c.createStatement()) {
        s.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'");
      }
      postgres.close();
      postgres = EmbeddedPostgresServer.start(dir.resolve("postgres"), 0, "iot_devices", true);
      try (var c = java.sql.DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + postgres.port() + "/iot_devices",
          postgres.user(), postgres.password()); var s = c.createStatement()) {
        s.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      }
    }
    EmbeddedS3Server s3 = EmbeddedS3Server.start(dir.resolve("s3"), 0, "bench", "bench-secret-0123456789");
    EmbeddedQuestDb quest = EmbeddedQuestDb.start(dir.resolve("questdb"), 0, 0);
    IngestBenchmark.report("READY", new JsonObject()
        .put("postgres", new JsonObject().put("host", "127.0.0.1").put("port", postgres.port()).put("user", postgres.user())
            .put("database", "iot_devices").put("password", postgres.password()).put("data_dir", dir.resolve("postgres").toString()))
        .put("s3", new JsonObject().put("endpoint", s3.endpoint()).put("access_key", "bench")
            .put("secret_key", "bench-secret-0123456789"))
        .put("questdb", new JsonObject().put("host", "127.0.0.1").put("http_port", quest.httpPort())
            .put("pg_port", quest.pgPort()).put("user", quest.user()).put("password", quest.password())));
    awaitQuit(null);
    quest.close();
    s3.close();
    postgres.close();
  }

  private static void platform(JsonObject config) throws Exception {
    Vertx vertx = Main.createVertx(config).await();
    Platform platform = new Platform(vertx, config);
    platform.start().await();
    IngestBenchmark.report("READY", new JsonObject());
    awaitQuit(BenchNode::stats);
    platform.stop().eventually(vertx::close).await();
  }

  /** Heap after a full collection (what the platform holds, not what it has not collected yet) and RSS. */
  private static JsonObject stats() {
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    System.gc();
    System.gc();
    return new JsonObject().put("heap_used", memory.getHeapMemoryUsage().getUsed())
        .put("heap_committed", memory.getHeapMemoryUsage().getCommitted())
        .put("rss", ProcStat.rssBytes(ProcessHandle.current().pid()))
        .put("threads", ManagementFactory.getThreadMXBean().getThreadCount());
  }

  private static void awaitQuit(java.util.function.Supplier<JsonObject> stats) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null && !line.equals("quit"); ) {
      if (line.equals("stats") && stats != null) {
        IngestBenchmark.report("STATS", stats.get());
      }
    }
  }

  private BenchNode() {
  }
}
