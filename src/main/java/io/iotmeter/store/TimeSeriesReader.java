package io.iotmeter.store;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;

import java.time.Instant;
import java.util.Optional;

/** Reads measurements back from the time-series store. */
public interface TimeSeriesReader {

  /**
   * A device's points in {@code [start, stop)}, in time order, as
   * {@code {"time", "device_id", "metric", "value"}}; all metrics unless one is named; at most
   * the first {@code maxRows} (by time, then metric).
   */
  Future<JsonArray> query(String deviceId, Instant start, Instant stop, Optional<String> metric, int maxRows);
}
