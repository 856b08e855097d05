package io.iotmeter.sim;

import io.iotmeter.protocol.Category;
import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** The payloads a meter publishes, shaped as protocol v2 prescribes. */
final class MeterMessages {

  static final int VERSION = 2;

  private MeterMessages() {
  }

  static String topic(String deviceId, Category category) {
    return "iot/" + deviceId + "/" + category.topicSuffix();
  }

  static String commandTopic(String deviceId) {
    return "iot/" + deviceId + "/command";
  }

  /** {@code {"v","device_id","ts","status"}}: no seq, no msg_type (protocol "Status"). */
  static JsonObject status(String deviceId, String status, Instant ts) {
    return new JsonObject().put("v", VERSION).put("device_id", deviceId).put("ts", timestamp(ts)).put("status", status);
  }

  /** The common envelope of every other message. */
  static JsonObject envelope(String deviceId, long seq, Category category, Instant ts) {
    return new JsonObject().put("v", VERSION).put("device_id", deviceId).put("ts", timestamp(ts)).put("seq", seq)
        .put("msg_type", category.categoryName());
  }

  /** Millisecond precision, as meters stamp their samples. */
  static String timestamp(Instant ts) {
    return ts.truncatedTo(ChronoUnit.MILLIS).toString();
  }
}
