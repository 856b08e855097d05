package io.iotmeter.protocol;

/**
 * The protocol's device defaults ("Device defaults"): what a meter starts with and what
 * {@code factory_reset} restores. The one place they are written down in code: the simulator's
 * factory reset, the registry's record of a reset device's settings and the API's assumptions
 * about a device that never said otherwise all read them here. (What the platform assumes for
 * liveness is a setting of its own, {@code liveness.default_*}, whose defaults are these.)
 */
public final class DeviceDefaults {

  public static final int SAMPLING_CADENCE_MS = 1000;
  public static final int SEND_INTERVAL_S = 10;
  public static final int HELLO_INTERVAL_S = 30;

  private DeviceDefaults() {
  }

  /** The settings a {@code factory_reset} leaves, as the JSON object {@code update_config} would set them. */
  public static String settingsJson() {
    return "{\"sampling_cadence_ms\": " + SAMPLING_CADENCE_MS + ", \"send_interval_s\": " + SEND_INTERVAL_S
        + ", \"hello_interval_s\": " + HELLO_INTERVAL_S + "}";
  }
}
