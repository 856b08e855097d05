package io.iotmeter.mqtt;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;

/**
 * A message on its way to a subscriber: what the broker routes and queues.
 *
 * @param properties      the MQTT 5 message properties, passed on to subscribers as published
 * @param subscriptionIds the identifiers of the recipient's subscriptions that matched (MQTT 5);
 *                        empty until routed to a session
 */
record Publication(String topic, byte[] payload, int qos, boolean retain, MessageProperties properties,
                   List<Integer> subscriptionIds) {

  Publication {
    subscriptionIds = List.copyOf(subscriptionIds);
  }

  Publication(String topic, byte[] payload, int qos, boolean retain) {
    this(topic, payload, qos, retain, MessageProperties.NONE, List.of());
  }

  Publication(String topic, byte[] payload, int qos, boolean retain, MessageProperties properties) {
    this(topic, payload, qos, retain, properties, List.of());
  }

  Buffer buffer() {
    return Buffer.buffer(payload);
  }

  /** What the byte bounds count of this message: its payload and its MQTT 5 properties. */
  long size() {
    return payload.length + properties.encodedSize();
  }

  Publication withQos(int qos) {
    return new Publication(topic, payload, qos, retain, properties, subscriptionIds);
  }

  Publication withRetain(boolean retain) {
    return new Publication(topic, payload, qos, retain, properties, subscriptionIds);
  }

  Publication withSubscriptionIds(List<Integer> ids) {
    return new Publication(topic, payload, qos, retain, properties, ids);
  }

  /** The copy one subscriber gets: at its QoS, with its retain flag and its matching subscription identifiers. */
  Publication copyFor(int qos, boolean retain, List<Integer> ids) {
    return new Publication(topic, payload, qos, retain, properties, ids);
  }

  JsonObject toJson() {
    JsonObject json = new JsonObject().put("topic", topic).put("payload", payload).put("qos", qos).put("retain", retain);
    if (!properties.isEmpty()) {
      json.put("properties", properties.toJson());
    }
    if (!subscriptionIds.isEmpty()) {
      json.put("subscription_ids", new JsonArray(new ArrayList<>(subscriptionIds)));
    }
    return json;
  }

  static Publication fromJson(JsonObject json) {
    JsonArray ids = json.getJsonArray("subscription_ids");
    List<Integer> subscriptionIds = new ArrayList<>();
    if (ids != null) {
      for (int i = 0; i < ids.size(); i++) {
        subscriptionIds.add(ids.getInteger(i));
      }
    }
    return new Publication(json.getString("topic"), json.getBinary("payload"), json.getInteger("qos"),
        json.getBoolean("retain", false), MessageProperties.fromJson(json.getJsonObject("properties")), subscriptionIds);
  }
}
