package io.iotmeter.api;

import io.iotmeter.registry.DeviceRepository;
import io.vertx.core.Future;

/** The check that a path's device exists before anything is read or written for it. */
final class KnownDevice {

  private KnownDevice() {
  }

  static Future<Void> require(DeviceRepository devices, String deviceId) {
    return devices.exists(deviceId).compose(exists -> exists
        ? Future.succeededFuture()
        : Future.failedFuture(Inputs.deviceNotFound(deviceId)));
  }
}
