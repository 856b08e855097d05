package io.iotmeter.mqtt;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

/** A message on its way to a subscriber: what the broker routes and queues. */
record Publication(String topic, byte[] payload, int qos, boolean retain) {

  Buffer buffer() {
    return Buffer.buffer(payload);
  }

  Publication withQos(int qos) {
    return new Publication(topic, payload, qos, retain);
  }

  Publication withRetain(boolean retain) {
    return new Publication(topic, payload, qos, retain);
  }

  JsonObject toJson() {
    return new JsonObject().put("topic", topic).put("payload", payload).put("qos", qos).put("retain", retain);
  }

  static Publication fromJson(JsonObject json) {
    return new Publication(json.getString("topic"), json.getBinary("payload"), json.getInteger("qos"),
        json.getBoolean("retain", false));
  }
}
