package io.iotmeter.timeseries;

import io.iotmeter.store.TimeSeriesReader;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.util.Optional;

/**
 * The API's reads of the time-series store, on worker threads (the clients block). The store is
 * opened on first use, so an API node starts even while the store is down.
 */
public final class TimeSeriesQueries implements TimeSeriesReader, AutoCloseable {

  private final JsonObject config;
  private final WorkerExecutor workers;
  private TimeSeriesStore store;

  public TimeSeriesQueries(JsonObject timeseriesConfig, WorkerExecutor workers) {
    this.config = timeseriesConfig;
    this.workers = workers;
  }

  @Override
  public Future<JsonArray> query(String deviceId, Instant start, Instant stop, Optional<String> metric, int maxRows) {
    return workers.executeBlocking(() -> {
      JsonArray samples = new JsonArray();
      store().query(deviceId, start, stop, metric, maxRows).forEach(sample -> samples.add(sample.toJson()));
      return samples;
    }, false);
  }

  /** Whether the store answers (for readiness). */
  public Future<Void> ping() {
    return workers.executeBlocking(() -> {
      store().ping();
      return null;
    }, false);
  }

  private synchronized TimeSeriesStore store() {
    if (store == null) {
      store = TimeSeriesStores.open(config);
    }
    return store;
  }

  @Override
  public synchronized void close() {
    if (store != null) {
      store.close();
    }
  }
}
