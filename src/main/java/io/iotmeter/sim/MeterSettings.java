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
 */
public record MeterSettings(MeterConfig provisioned, String fwVersion, Duration rebootDelay, Duration otaStep,
                            Duration minBackoff, Duration maxBackoff, int outboxCapacity) {
}
