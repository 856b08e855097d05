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
    return new PgConnectOptions()
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
