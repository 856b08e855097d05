package io.iotmeter.protocol;

import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.util.UUID;

/**
 * A command on its way to a device. On the bus ({@code iot.command.send}) it travels with the
 * device id; on MQTT ({@code iot/{device_id}/command}) it is exactly the protocol's envelope
 * {@code {"v":2,"cmd_id","ts","cmd","params"}}.
 */
public record CommandEnvelope(UUID cmdId, String deviceId, Instant ts, CommandName cmd, JsonObject params) {

  public static final int VERSION = 2;

  public JsonObject toBusMessage() {
    return toMqttPayload().put("device_id", deviceId);
  }

  public JsonObject toMqttPayload() {
    return new JsonObject()
        .put("v", VERSION)
        .put("cmd_id", cmdId.toString())
        .put("ts", ts.toString())
        .put("cmd", WireEnum.wire(cmd))
        .put("params", params.copy());
  }

  public static CommandEnvelope fromBusMessage(JsonObject json) {
    return new CommandEnvelope(
        UUID.fromString(json.getString("cmd_id")),
        json.getString("device_id"),
        Instant.parse(json.getString("ts")),
        WireEnum.parse(CommandName.class, json.getString("cmd"))
            .orElseThrow(() -> new InvalidCommandException("Invalid command: " + json.getString("cmd"))),
        json.getJsonObject("params", new JsonObject()));
  }

  /** The MQTT topic this command is published on. */
  public String topic() {
    return "iot/" + deviceId + "/command";
  }
}
