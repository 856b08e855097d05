package io.iotmeter.registry;

import io.vertx.core.json.JsonObject;

/** A device to register; validated by the caller. */
public record NewDevice(String deviceId, String deviceName, String deviceType, String location,
                        DeviceStatus status, JsonObject metadata) {
}
