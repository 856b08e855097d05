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
      new Quantity("pf", null, 0.92, 0.99, 0.001))),
  /**
   * A traction energy meter on a train of {@code simulator.trains} (3 kV DC): voltage, current,
   * its active energy registers and its position, from the train's driving cycle ({@link TrainDrive}).
   */
  TRACTION(List.of());

  private final List<Quantity> quantities;

  MeterType(List<Quantity> quantities) {
    this.quantities = quantities;
  }

  /** The quantities sampled at every tick, in the order they appear in a datagram (a traction meter's come from its drive). */
  public List<Quantity> quantities() {
    return quantities;
  }

  /** Entries one sampling tick adds to a datagram. */
  public int entriesPerTick() {
    return this == TRACTION ? TrainDrive.ENTRIES_PER_SAMPLE : quantities.size();
  }
}
