package io.iotmeter.support;

import io.iotmeter.embedded.EmbeddedQuestDb;
import io.iotmeter.embedded.EmbeddedS3Server;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;

/**
 * One set of stores for several platform nodes, as a cluster has: a database, an S3 server and
 * a time-series server, started by the test, that every node's configuration points at.
 */
public final class SharedStores implements AutoCloseable {

  private final JsonObject postgres = TestPostgres.freshDatabase();
  private final EmbeddedS3Server s3;
  private final EmbeddedQuestDb questDb;

  public SharedStores() {
    try {
      s3 = EmbeddedS3Server.start(Files.createTempDirectory("shared-s3"), 0, "minioadmin", "minioadmin123");
      questDb = EmbeddedQuestDb.start(Files.createTempDirectory("shared-questdb"), 0, 0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public JsonObject postgres() {
    return postgres;
  }

  /** Points a node's configuration at these stores. */
  public JsonObject apply(JsonObject config) {
    config.put("postgres", config.getJsonObject("postgres").mergeIn(postgres.copy()));
    config.getJsonObject("s3").put("embedded", false).put("endpoint", s3.endpoint());
    config.getJsonObject("timeseries").put("store", "questdb").put("embedded", false)
        .getJsonObject("questdb").put("host", "127.0.0.1").put("http_port", questDb.httpPort())
        .put("pg_port", questDb.pgPort()).put("user", questDb.user()).put("password", questDb.password());
    return config;
  }

  @Override
  public void close() {
    questDb.close();
    s3.close();
  }
}
