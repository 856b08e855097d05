package io.iotmeter.protocol;

import io.vertx.core.json.JsonObject;

import java.time.Instant;

/**
 * A message as an MQTT verticle took it off the wire ({@code iot.inbound}, as this object
 * through {@link io.iotmeter.bus.LocalCodec}). The payload stays raw bytes, never changed after
 * the hand-off: parsing and validation happen once, in the intake, for both MQTT paths.
 *
 * @param source {@code endpoint} (the platform's own MQTT server) or {@code broker:<host:port>}
 */
public record InboundMessage(String topic, byte[] payload, int qos, String source, String clientId, Instant receivedAt)
    implements io.iotmeter.bus.LocalBody {

  @Override
  public JsonObject toJson() {
    return new JsonObject()
        .put("topic", topic)
        .put("payload", payload)
        .put("qos", qos)
        .put("source", source)
        .put("client_id", clientId)
        .put("received_at", receivedAt.toEpochMilli());
  }

  /** The body of an {@code iot.inbound} request: this object, or its JSON shape from another sender. */
  public static InboundMessage of(Object body) {
    return body instanceof InboundMessage message ? message : fromJson((JsonObject) body);
  }

  public static InboundMessage fromJson(JsonObject json) {
    return new InboundMessage(json.getString("topic"), json.getBinary("payload"), json.getInteger("qos", 0),
        json.getString("source", "unknown"), json.getString("client_id"),
        Instant.ofEpochMilli(json.getLong("received_at", System.currentTimeMillis())));
  }
}
