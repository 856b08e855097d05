package io.iotmeter.support;

import io.iotmeter.embedded.EmbeddedPostgresServer;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One real PostgreSQL server per test JVM — the same embedded server the {@code embedded}
 * profile runs — and a fresh database for each test class that asks, so classes never see
 * each other's rows.
 */
public final class TestPostgres {

  private static final AtomicInteger DATABASES = new AtomicInteger();
  private static EmbeddedPostgresServer server;

  private TestPostgres() {
  }

  public static synchronized EmbeddedPostgresServer server() {
    if (server == null) {
      try {
        Path dir = Files.createTempDirectory("iot-test-pg");
        server = EmbeddedPostgresServer.start(dir, 0, "postgres", false);
        Runtime.getRuntime().addShutdownHook(new Thread(server::close));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return server;
  }

  /** The shared test server's password (it requires one, as the platform's embedded server does). */
  public static String password() {
    return server().password();
  }

  /** Creates an empty database and returns a {@code postgres} configuration section for it. */
  public static JsonObject freshDatabase() {
    String name = "test_" + ProcessHandle.current().pid() + "_" + DATABASES.incrementAndGet();
    try (Connection c = DriverManager.getConnection(jdbcUrl("postgres"), "postgres", password());
         Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return new JsonObject()
        .put("embedded", false)
        .put("host", "127.0.0.1")
        .put("port", server().port())
        .put("database", name)
        .put("user", "postgres")
        .put("password", password())
        .put("pool_size", 4);
  }

  public static String jdbcUrl(String database) {
    return "jdbc:postgresql://127.0.0.1:" + server().port() + "/" + database;
  }

  /** The single number a query returns, read directly from the test database. */
  public static long count(JsonObject postgres, String sql) {
    return count(jdbcUrl(postgres.getString("database")), password(), sql);
  }

  /** The single number a query returns, from the database a {@code postgres} section names (any server, as postgres). */
  public static long countAt(JsonObject postgres, String sql) {
    return count("jdbc:postgresql://" + postgres.getString("host") + ":" + postgres.getInteger("port") + "/"
        + postgres.getString("database"), postgres.getString("password", ""), sql);
  }

  private static long count(String url, String password, String sql) {
    try (Connection c = DriverManager.getConnection(url, "postgres", password);
         Statement s = c.createStatement();
         java.sql.ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The single text a query returns (null for none), read directly from the test database. */
  public static String text(JsonObject postgres, String sql) {
    try (Connection c = DriverManager.getConnection(jdbcUrl(postgres.getString("database")), "postgres", password());
         Statement s = c.createStatement();
         java.sql.ResultSet rs = s.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : null;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Runs SQL directly (outside the platform) to set up or inspect a test database. */
  public static void execute(JsonObject postgres, String sql) {
    try (Connection c = DriverManager.getConnection(jdbcUrl(postgres.getString("database")), "postgres", password());
         Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
