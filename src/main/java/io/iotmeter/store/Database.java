package io.iotmeter.store;

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

  public static PgConnectOptions connectOptions(JsonObject postgres) {
    long statementTimeoutMs = postgres.getLong("statement_timeout_ms", 30_000L);
    return new PgConnectOptions()
        .setHost(postgres.getString("host"))
        .setPort(postgres.getInteger("port"))
        .setDatabase(postgres.getString("database"))
        .setUser(postgres.getString("user"))
        .setPassword(postgres.getString("password", ""))
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
  static NetClientOptions transportOptions(JsonObject postgres) {
    long statementTimeoutMs = postgres.getLong("statement_timeout_ms", 30_000L);
    return new NetClientOptions()
        .setConnectTimeout(postgres.getInteger("connect_timeout_ms", 5_000))
        .setReadIdleTimeout((int) Math.max(1, (statementTimeoutMs + 5_000) / 1000))
        .setIdleTimeoutUnit(TimeUnit.SECONDS)
        .setTcpKeepAlive(true);
  }

  /** A pool named after its user (pool metrics are labelled with the name). */
  public static Pool pool(Vertx vertx, JsonObject postgres, String name) {
    return PgBuilder.pool()
        .with(new PoolOptions().setName(name).setShared(false)
            .setMaxSize(postgres.getInteger("pool_size", 8)).setMaxWaitQueueSize(1000)
            // Waiting for a free connection is bounded too: a stalled server fails calls within seconds.
            .setConnectionTimeout(postgres.getInteger("connect_timeout_ms", 5_000)).setConnectionTimeoutUnit(TimeUnit.MILLISECONDS))
        .with(transportOptions(postgres))
        .connectingTo(connectOptions(postgres))
        .using(vertx)
        .build();
  }
}
