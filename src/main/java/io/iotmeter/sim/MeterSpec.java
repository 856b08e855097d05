package io.iotmeter.sim;

/** Which meter to simulate: its device id (also its MQTT client id) and what it measures. */
public record MeterSpec(String deviceId, MeterType type) {
}
