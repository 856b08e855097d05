package io.iotmeter.sim;

import io.vertx.core.json.JsonObject;

/**
 * Which meter to simulate: its device id (also its MQTT client id), what it measures, and for a
 * traction meter the train it is on.
 */
public record MeterSpec(String deviceId, MeterType type, Train train) {

  /** A traction meter's place: its train, its car (from 1) of the train's {@code meters}, the supply system. */
  public record Train(String trainId, int car, int meters, String tractionSystem) {

    /** The registry metadata of a meter on this train (docs/energy.md). */
    public JsonObject metadata(String deviceId) {
      return new JsonObject().put("train_id", trainId).put("car", car).put("traction_system", tractionSystem)
          .put("consumption_point_id", ("CP-" + deviceId).length() <= 32 ? "CP-" + deviceId : deviceId.substring(0, 32));
    }
  }

  public MeterSpec(String deviceId, MeterType type) {
    this(deviceId, type, null);
  }
}
