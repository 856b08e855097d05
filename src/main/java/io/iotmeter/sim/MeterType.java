package io.iotmeter.sim;

import java.util.List;

/** What a simulated meter measures: DC or AC traction supply, with the protocol's simulated ranges. */
public enum MeterType {
  DC(List.of(
      new Quantity("voltage_dc", "V", 700, 800, 0.1),
      new Quantity("current_dc", "A", 200, 400, 0.1))),
  AC(List.of(
      new Quantity("voltage_ac", "V", 24_000, 26_000, 1),
      new Quantity("current_ac", "A", 100, 200, 0.1),
      new Quantity("frequency", "Hz", 49.9, 50.1, 0.01),
      new Quantity("pf", null, 0.92, 0.99, 0.001)));

  private final List<Quantity> quantities;

  MeterType(List<Quantity> quantities) {
    this.quantities = quantities;
  }

  /** The quantities sampled at every tick, in the order they appear in a datagram. */
  public List<Quantity> quantities() {
    return quantities;
  }
}
