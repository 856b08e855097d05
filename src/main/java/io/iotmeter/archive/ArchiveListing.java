package io.iotmeter.archive;

import io.iotmeter.store.ArchiveReader;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.format.DateTimeFormatter;

/** The API's view of the archive: a device's objects, listed on worker threads (the SDK blocks). */
public final class ArchiveListing implements ArchiveReader, AutoCloseable {

  private final ObjectStore store;
  private final WorkerExecutor workers;

  public ArchiveListing(ObjectStore store, WorkerExecutor workers) {
    this.store = store;
    this.workers = workers;
  }

  @Override
  public Future<JsonArray> list(String deviceId, String prefix, int limit) {
    return workers.executeBlocking(() -> {
      JsonArray objects = new JsonArray();
      store.list(deviceId + "/" + prefix, limit).forEach(o -> objects.add(new JsonObject()
          .put("filename", o.key())
          .put("size", o.size())
          .put("last_modified", DateTimeFormatter.ISO_INSTANT.format(o.lastModified()))));
      return objects;
    }, false);
  }

  public Future<Void> ping() {
    return workers.executeBlocking(() -> {
      store.ping();
      return null;
    }, false);
  }

  @Override
  public void close() {
    store.close();
  }
}
