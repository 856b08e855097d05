package io.iotmeter.registry;

/** A device with this id is registered already. */
public final class DuplicateDeviceException extends RuntimeException {

  public DuplicateDeviceException(String deviceId) {
    super("Device '" + deviceId + "' already exists");
  }
}
