package io.iotmeter.sim;

/**
 * One measured quantity of a simulated meter: its measurement type and unit on the wire, the
 * range its values stay in (protocol "Measurement types sent by devices", simulated ranges)
 * and the resolution a meter reports it with.
 *
 * @param unit null for quantities without a unit (power factor): the entry then has no {@code unit}
 */
public record Quantity(String type, String unit, double min, double max, double resolution) {
}
