package io.iotmeter.sim;

import java.util.random.RandomGenerator;

/**
 * A value that wanders smoothly inside a range, as a supply voltage or a train's current does:
 * small Gaussian steps with a pull back towards the middle, reflected at the bounds. White
 * noise over the whole range would make every plot a solid band.
 */
final class RandomWalk {

  /** Step size and pull towards the middle, as fractions of the range per sample. */
  private static final double STEP = 0.03;
  private static final double PULL = 0.02;

  private final Quantity quantity;
  private final RandomGenerator random;
  private double value;

  RandomWalk(Quantity quantity, RandomGenerator random) {
    this.quantity = quantity;
    this.random = random;
    this.value = quantity.min() + (quantity.max() - quantity.min()) * (0.25 + 0.5 * random.nextDouble());
  }

  Quantity quantity() {
    return quantity;
  }

  /** The next sample, rounded to the quantity's resolution and never outside its range. */
  double next() {
    double span = quantity.max() - quantity.min();
    double middle = quantity.min() + span / 2;
    value += PULL * (middle - value) + STEP * span * random.nextGaussian();
    if (value > quantity.max()) {
      value = 2 * quantity.max() - value;
    }
    if (value < quantity.min()) {
      value = 2 * quantity.min() - value;
    }
    value = Math.max(quantity.min(), Math.min(quantity.max(), value));
    double rounded = Math.round(value / quantity.resolution()) * quantity.resolution();
    // Round again in decimal so 749.9 does not travel as 749.9000000000001.
    double decimals = Math.max(0, Math.ceil(-Math.log10(quantity.resolution())));
    double scale = Math.pow(10, decimals);
    rounded = Math.round(rounded * scale) / scale;
    return Math.max(quantity.min(), Math.min(quantity.max(), rounded));
  }
}
