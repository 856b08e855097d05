package io.iotmeter.embedded;

import io.iotmeter.config.StartupException;
import io.questdb.ServerMain;
import io.questdb.log.LogFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A real QuestDB server run in this JVM (the {@code org.questdb:questdb} jar carries its native
 * libraries), standing in for InfluxDB in the {@code embedded} profile: it accepts InfluxDB line
 * protocol on its HTTP port ({@code /api/v2/write}) and SQL over PostgreSQL wire.
 *
 * <p>Data lives under a directory of ours, so a restart finds it again. Only the HTTP and
 * PG-wire listeners run, both on 127.0.0.1; telemetry is off. {@link #start} and {@link #close}
 * block for seconds: call them from a worker thread.
 */
public final class EmbeddedQuestDb implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedQuestDb.class);

  /** QuestDB's built-in PG-wire account; the listener is reachable from this host only. */
  private static final String USER = "admin";
  private static final String PASSWORD = "quest";

  /**
   * QuestDB logs through its own logger (not SLF4J), by default to the process's stdout: its
   * banner, a hundred lines per start and stop. Sent to a rolling file under the data directory
   * instead, errors and advisories only: at INFO it writes lines for every commit and WAL
   * apply, which cost it more CPU than its network threads (the benchmark's thread profile).
   * Written only when missing, so an operator may edit it (INFO for a closer look). QuestDB reads it once per
   * JVM: a second server in the same JVM logs where the first one does.
   */
  private static final String LOG_CONF = """
      writers=file
      w.file.class=io.questdb.log.LogRollingFileWriter
      w.file.location=${log.dir}/questdb.log.${date:yyyyMMdd}
      w.file.level=ERROR,CRITICAL,ADVISORY
      w.file.rollEvery=day
      w.file.rollSize=64m
      w.file.lifeDuration=1w
      w.file.sizeLimit=256m
      """;

  private final ServerMain server;
  private final Path root;

  private EmbeddedQuestDb(ServerMain server, Path root) {
    this.server = server;
    this.root = root;
  }

  /**
   * Starts a server on {@code root} (created when missing).
   *
   * @param httpPort line-protocol writes, REST and the web console; 0 for a free port
   * @param pgPort   PostgreSQL wire protocol; 0 for a free port
   * @throws StartupException with a message for the operator (for example a port in use)
   */
  public static EmbeddedQuestDb start(Path root, int httpPort, int pgPort) {
    Path dir = root.toAbsolutePath();
    long begin = System.nanoTime();
    ServerMain server = null;
    try {
      Files.createDirectories(dir.resolve("conf"));
      Path logConf = dir.resolve("conf").resolve("log.conf");
      if (!Files.exists(logConf)) {
        Files.writeString(logConf, LOG_CONF);
      }
      // Must come before QuestDB's first logger is created, or its default (stdout) sticks.
      LogFactory.configureRootDir(dir.toString());
      server = ServerMain.create(dir.toString(), Map.ofEntries(
          Map.entry("QDB_HTTP_BIND_TO", "127.0.0.1:" + httpPort),
          Map.entry("QDB_PG_NET_BIND_TO", "127.0.0.1:" + pgPort),
          // Unused listeners stay off: ILP over TCP/UDP (we write over HTTP) and the
          // health-only "min" HTTP server would each open one more port.
          Map.entry("QDB_LINE_TCP_ENABLED", "false"),
          Map.entry("QDB_LINE_UDP_ENABLED", "false"),
          Map.entry("QDB_HTTP_MIN_ENABLED", "false"),
          Map.entry("QDB_TELEMETRY_ENABLED", "false"),
          // QuestDB's workers are tuned for a server of its own: with nothing to do a worker polls
          // its jobs 7,000 times (spinning) before it naps, and each pool has a thread per core.
          // Here it shares two cores with the platform and PostgreSQL, and work comes in bursts
          // every ~100 ms, so it spun between bursts (napping early cut its writer and network
          // threads from ~110 to ~60 µs a saturated datagram). A worker now naps (1 ms) after 20 idle
          // polls and sleeps (10 ms) after 200; one writer and one WAL-apply thread are enough
          // for one table.
          Map.entry("QDB_SHARED_WORKER_NAP_THRESHOLD", "20"),
          Map.entry("QDB_SHARED_WORKER_SLEEP_THRESHOLD", "200"),
          Map.entry("QDB_WAL_APPLY_WORKER_YIELD_THRESHOLD", "10"),
          Map.entry("QDB_WAL_APPLY_WORKER_NAP_THRESHOLD", "20"),
          Map.entry("QDB_WAL_APPLY_WORKER_SLEEP_THRESHOLD", "200"),
          Map.entry("QDB_SHARED_QUERY_WORKER_COUNT", "1"),
          Map.entry("QDB_SHARED_WRITE_WORKER_COUNT", "1"),
          Map.entry("QDB_WAL_APPLY_WORKER_COUNT", "1")));
      server.start();
      EmbeddedQuestDb started = new EmbeddedQuestDb(server, dir);
      LOG.info("Embedded QuestDB listening on 127.0.0.1: HTTP {}, PG-wire {}; data in {} (started in {} ms)",
          started.httpPort(), started.pgPort(), dir, (System.nanoTime() - begin) / 1_000_000);
      return started;
    } catch (IOException | RuntimeException | Error e) {
      if (server != null) {
        closeQuietly(server);
      }
      throw new StartupException("Cannot start the embedded QuestDB in " + dir + ": " + explain(e, httpPort, pgPort), e);
    }
  }

  public int httpPort() {
    return server.getHttpServerPort();
  }

  public int pgPort() {
    return server.getPgWireServerPort();
  }

  /** The PG-wire user. */
  public String user() {
    return USER;
  }

  public String password() {
    return PASSWORD;
  }

  @Override
  public void close() {
    closeQuietly(server);
    LOG.info("Embedded QuestDB on {} stopped", root);
  }

  private static void closeQuietly(ServerMain server) {
    try {
      server.close();
    } catch (RuntimeException e) {
      LOG.warn("Stopping the embedded QuestDB failed", e);
    }
  }

  /** QuestDB reports a busy port as "could not bind socket [who=http-server, bindTo=...]". */
  private static String explain(Throwable e, int httpPort, int pgPort) {
    StringBuilder messages = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      messages.append(t.getMessage()).append(' ');
    }
    String all = messages.toString();
    if (all.contains("could not bind")) {
      String port = all.contains("who=pg-server") ? "PG-wire port " + pgPort
          : all.contains("who=http-server") ? "HTTP port " + httpPort
          : "one of its ports (HTTP " + httpPort + ", PG-wire " + pgPort + ")";
      return port + " is already in use; choose another, or 0 for a free one";
    }
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getMessage() == null ? root.toString() : root.getMessage();
  }
}
