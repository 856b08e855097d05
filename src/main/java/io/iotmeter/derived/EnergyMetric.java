package io.iotmeter.derived;

import java.util.Arrays;
import java.util.Optional;

/**
 * Energy metrics the metrics API answers by integrating a stored power series over the
 * requested window (Wh, VAh, varh). Active energy is split by the sign of P: what a train draws
 * (import) and what regenerative braking returns (export), both counted positive.
 */
public enum EnergyMetric {
  ACTIVE_IMPORT("energy_active_import", DerivedPower.ACTIVE, "Wh", 1),
  ACTIVE_EXPORT("energy_active_export", DerivedPower.ACTIVE, "Wh", -1),
  APPARENT("energy_apparent", DerivedPower.APPARENT, "VAh", 1),
  REACTIVE("energy_reactive", DerivedPower.REACTIVE, "varh", 1);

  private final String metricName;
  private final String powerMetric;
  private final String unit;
  private final int sign;

  EnergyMetric(String metricName, String powerMetric, String unit, int sign) {
    this.metricName = metricName;
    this.powerMetric = powerMetric;
    this.unit = unit;
    this.sign = sign;
  }

  public String metricName() {
    return metricName;
  }

  /** The stored power series this energy integrates. */
  public String powerMetric() {
    return powerMetric;
  }

  public String unit() {
    return unit;
  }

  /** +1: integrate the positive part of the power; −1: the negative part, as a positive energy. */
  int sign() {
    return sign;
  }

  public static Optional<EnergyMetric> of(String name) {
    return Arrays.stream(values()).filter(m -> m.metricName.equals(name)).findFirst();
  }
}
