package io.iotmeter.timeseries;

import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.time.format.DateTimeFormatter;

/** One stored value as the metrics endpoint returns it. */
public record MetricSample(Instant time, String deviceId, String metric, double value) {

  /** {@code {"time": "2026-02-12T10:00:01Z", "device_id", "metric", "value"}}, time in UTC. */
  public JsonObject toJson() {
    return new JsonObject()
        .put("time", DateTimeFormatter.ISO_INSTANT.format(time))
        .put("device_id", deviceId)
        .put("metric", metric)
        .put("value", value);
  }
}
