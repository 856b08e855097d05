package io.iotmeter.store;

import io.iotmeter.config.Settings;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClientOptions;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;

import java.util.concurrent.TimeUnit;

/** Creates connection pools from the {@code postgres} configuration section. */
public final class Database {

  private Database() {
  }

  public static PgConnectOptions connectOptions(JsonObject section) {
    Settings postgres = Settings.section("postgres", section);
    long statementTimeoutMs = postgres.whole("statement_timeout_ms");
    PgConnectOptions options = new PgConnectOptions()
        .setHost(postgres.text("host"))
        .setPort(postgres.integer("port"))
        .setDatabase(postgres.text("database"))
        .setUser(postgres.text("user"))
        .setPassword(postgres.text("password"))
        // Every statement is prepared; caching keeps that cheap on hot paths.
        .setCachePreparedStatements(true)
        .setPipeliningLimit(16)
        // The server ends a statement (a lock wait, say) or an abandoned transaction that runs too long.
        .addProperty("statement_timeout", String.valueOf(statementTimeoutMs))
        .addProperty("idle_in_transaction_session_timeout", String.valueOf(2 * statementTimeoutMs));
    return withTls(options, postgres);
  }

  /**
   * {@code postgres.ssl_mode} as libpq names it: {@code disable}, {@code allow}, {@code prefer},
   * {@code require} (encrypted, the server's certificate not checked), {@code verify-ca} (signed by
   * {@code postgres.ssl_ca_path}) and {@code verify-full} (also issued for {@code postgres.host}).
   */
  static PgConnectOptions withTls(PgConnectOptions options, Settings postgres) {
    String mode = postgres.text("ssl_mode");
    io.vertx.pgclient.SslMode sslMode;
    try {
      sslMode = io.vertx.pgclient.SslMode.of(mode);
    } catch (IllegalArgumentException e) {
      throw new io.iotmeter.config.StartupException("postgres.ssl_mode must be one of disable, allow, prefer, require, "
          + "verify-ca, verify-full, not '" + mode + "'");
    }
    options.setSslMode(sslMode);
    String ca = postgres.text("ssl_ca_path");
    io.vertx.core.net.ClientSSLOptions ssl = new io.vertx.core.net.ClientSSLOptions();
    if (sslMode == io.vertx.pgclient.SslMode.VERIFY_CA || sslMode == io.vertx.pgclient.SslMode.VERIFY_FULL) {
      if (ca.isEmpty()) {
        throw new io.iotmeter.config.StartupException("postgres.ssl_mode " + mode + " checks the server's certificate: "
            + "set postgres.ssl_ca_path to the PEM file of the CA that signed it");
      }
      ssl.setTrustOptions(new io.vertx.core.net.PemTrustOptions().addCertPath(ca))
          .setHostnameVerificationAlgorithm(sslMode == io.vertx.pgclient.SslMode.VERIFY_FULL ? "HTTPS" : "");
    } else if (sslMode != io.vertx.pgclient.SslMode.DISABLE) {
      // As libpq: encrypted, but whoever answers is not checked (verify-ca / verify-full for that).
      ssl.setTrustAll(true).setHostnameVerificationAlgorithm("");
    }
    return options.setSslOptions(ssl);
  }

  /**
   * The connection's own deadlines, for a server that stops answering with the connection still
   * open (statement_timeout cannot help there): connecting, and a connection that reads nothing
   * for longer than any statement may run is closed, which fails its query — so no caller waits
   * forever, and an idle pooled connection is replaced by a fresh one.
   */
  static NetClientOptions transportOptions(JsonObject section) {
    Settings postgres = Settings.section("postgres", section);
    long statementTimeoutMs = postgres.whole("statement_timeout_ms");
    return new NetClientOptions()
        .setConnectTimeout(postgres.integer("connect_timeout_ms"))
        .setReadIdleTimeout((int) Math.max(1, (statementTimeoutMs + 5_000) / 1000))
        .setIdleTimeoutUnit(TimeUnit.SECONDS)
        .setTcpKeepAlive(true);
  }

  /** A pool named after its user (pool metrics are labelled with the name). */
  public static Pool pool(Vertx vertx, JsonObject postgres, String name) {
    Settings settings = Settings.section("postgres", postgres);
    return PgBuilder.pool()
        .with(new PoolOptions().setName(name).setShared(false)
            .setMaxSize(settings.integer("pool_size")).setMaxWaitQueueSize(1000)
            // Waiting for a free connection is bounded too: a stalled server fails calls within seconds.
            .setConnectionTimeout(settings.integer("connect_timeout_ms")).setConnectionTimeoutUnit(TimeUnit.MILLISECONDS))
        .with(transportOptions(postgres))
        .connectingTo(connectOptions(postgres))
        .using(vertx)
        .build();
  }
}
