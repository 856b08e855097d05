package io.iotmeter.store;

import io.iotmeter.config.StartupException;
import io.iotmeter.embedded.EmbeddedPostgresServer;
import io.iotmeter.support.TestCertificates;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.DriverManager;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The PostgreSQL client's TLS against a real server that offers it ({@code postgres.ssl_mode}, as
 * libpq's sslmode), and the embedded server's password: required of every connection, kept next
 * to its data directory across restarts.
 */
@Timeout(120)
class PostgresTlsTest {

  private static final Vertx vertx = Vertx.vertx();
  private static EmbeddedPostgresServer server;
  private static TestCertificates ca;
  private static Path dataDir;

  @BeforeAll
  static void start() throws Exception {
    Path dir = Files.createTempDirectory("pg-tls");
    ca = new TestCertificates(dir, "pg-ca");
    TestCertificates.Issued cert = ca.server("postgres");
    // PostgreSQL reads a key only its owner may read.
    Files.setPosixFilePermissions(cert.key(), PosixFilePermissions.fromString("rw-------"));
    dataDir = dir.resolve("data");
    server = EmbeddedPostgresServer.start(dataDir, 0, "postgres", false, Map.of("ssl", "on",
        "ssl_cert_file", cert.cert().toString(), "ssl_key_file", cert.key().toString()));
  }

  @AfterAll
  static void stop() {
    server.close();
    vertx.close().await();
  }

  private static JsonObject section(String mode, String ca) {
    return new JsonObject().put("host", "localhost").put("port", server.port()).put("database", "postgres")
        .put("user", "postgres").put("password", server.password()).put("ssl_mode", mode).put("ssl_ca_path", ca);
  }

  /** Whether the pool's connection is encrypted, as the server sees it. */
  private static boolean encrypted(JsonObject section) {
    Pool pool = Database.pool(vertx, section, "tls-test");
    try {
      return pool.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").execute()
          .map(rows -> rows.iterator().next().getBoolean(0)).await(20, TimeUnit.SECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError(e);
    } finally {
      pool.close();
    }
  }

  @Test
  void eachSslModeConnectsAsLibpqWouldAndAWrongCaIsRefused() throws Exception {
    assertThat(encrypted(section("disable", ""))).isFalse();
    assertThat(encrypted(section("prefer", ""))).as("the default: TLS where the server offers it").isTrue();
    assertThat(encrypted(section("require", ""))).isTrue();
    assertThat(encrypted(section("verify-ca", ca.caFile().toString()))).isTrue();
    assertThat(encrypted(section("verify-full", ca.caFile().toString()))).isTrue();

    TestCertificates other = new TestCertificates(Files.createTempDirectory("pg-other-ca"), "other-ca");
    assertThatThrownBy(() -> encrypted(section("verify-full", other.caFile().toString())))
        .as("a server whose certificate another CA signed").isNotNull();
    assertThatThrownBy(() -> Database.connectOptions(section("verify-full", ""))).isInstanceOf(StartupException.class)
        .hasMessageContaining("postgres.ssl_ca_path");
    assertThatThrownBy(() -> Database.connectOptions(section("sometimes", ""))).isInstanceOf(StartupException.class)
        .hasMessageContaining("postgres.ssl_mode must be one of");
  }

  @Test
  void theEmbeddedServerRequiresItsPasswordOfEveryConnection() throws Exception {
    String url = "jdbc:postgresql://127.0.0.1:" + server.port() + "/postgres?sslmode=disable";
    assertThatThrownBy(() -> DriverManager.getConnection(url, "postgres", "").close())
        .hasMessageContaining("password");
    assertThatThrownBy(() -> DriverManager.getConnection(url, "postgres", "not-the-password").close())
        .hasMessageContaining("password authentication failed");
    DriverManager.getConnection(url, "postgres", server.password()).close();
    Path file = EmbeddedPostgresServer.passwordFile(dataDir);
    assertThat(Files.readString(file).trim()).isEqualTo(server.password()).hasSize(43);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
  }

  @Test
  void aRestartKeepsThePasswordAndADataDirectoryOfAnEarlierVersionGetsOne() throws Exception {
    Path dir = Files.createTempDirectory("pg-restart").resolve("postgres");
    String first;
    try (EmbeddedPostgresServer one = EmbeddedPostgresServer.start(dir, 0, "iot_devices", false)) {
      first = one.password();
    }
    // As an earlier version left it: trusting every local connection, no password file.
    Files.writeString(dir.resolve("pg_hba.conf"), "host all all 127.0.0.1/32 trust\n");
    Files.delete(EmbeddedPostgresServer.passwordFile(dir));
    try (EmbeddedPostgresServer two = EmbeddedPostgresServer.start(dir, 0, "iot_devices", false)) {
      assertThat(two.password()).isNotEqualTo(first);
      String url = "jdbc:postgresql://127.0.0.1:" + two.port() + "/iot_devices";
      DriverManager.getConnection(url, "postgres", two.password()).close();
      assertThatThrownBy(() -> DriverManager.getConnection(url, "postgres", "").close()).hasMessageContaining("password");
    }
    try (EmbeddedPostgresServer three = EmbeddedPostgresServer.start(dir, 0, "iot_devices", false)) {
      DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + three.port() + "/iot_devices", "postgres", three.password()).close();
    }
  }
}
