package io.iotmeter.store;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;

/** Creates connection pools from the {@code postgres} configuration section. */
public final class Database {

  private Database() {
  }

  public static PgConnectOptions connectOptions(JsonObject postgres) {
    return new PgConnectOptions()
        .setHost(postgres.getString("host"))
        .setPort(postgres.getInteger("port"))
        .setDatabase(postgres.getString("database"))
        .setUser(postgres.getString("user"))
        .setPassword(postgres.getString("password", ""))
        // Every statement is prepared; caching keeps that cheap on hot paths.
        .setCachePreparedStatements(true)
        .setPipeliningLimit(16);
  }

  /** A pool named after its user (pool metrics are labelled with the name). */
  public static Pool pool(Vertx vertx, JsonObject postgres, String name) {
    return PgBuilder.pool()
        .with(new PoolOptions().setName(name).setShared(false)
            .setMaxSize(postgres.getInteger("pool_size", 8)).setMaxWaitQueueSize(1000))
        .connectingTo(connectOptions(postgres))
        .using(vertx)
        .build();
  }
}
