package io.iotmeter.sim;

import java.time.Duration;

/**
 * How a simulated meter behaves, shared by all meters of a simulator.
 *
 * @param provisioned    the configuration it powers on with (until a command changes it); its
 *                       brokers are the ones {@code factory_reset} returns to
 * @param fwVersion      the firmware it runs at power-on
 * @param rebootDelay    how long a reboot keeps it away
 * @param otaStep        time between two firmware-update progress reports
 * @param minBackoff     first delay before reconnecting to a broker that went away
 * @param maxBackoff     longest delay between reconnection attempts
 * @param outboxCapacity messages kept per broker while it is unreachable (then the oldest are dropped)
 * @param mqttVersion    the MQTT protocol level the meters speak: 4 (3.1.1) or 5
 */
public record MeterSettings(MeterConfig provisioned, String fwVersion, Duration rebootDelay, Duration otaStep,
                            Duration minBackoff, Duration maxBackoff, int outboxCapacity, int mqttVersion) {

  /** {@code simulator.mqtt_version}: "3.1.1" (or 4, its protocol level) or 5. */
  static int mqttVersion(Object setting) {
    return switch (String.valueOf(setting)) {
      case "3.1.1", "4" -> 4;
      case "5", "5.0" -> 5;
      default -> throw new IllegalArgumentException("simulator.mqtt_version must be 3.1.1 or 5, got " + setting);
    };
  }
}
