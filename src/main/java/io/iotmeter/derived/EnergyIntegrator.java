package io.iotmeter.derived;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Integrates a power series into a running energy total (trapezoidal rule), from the first
 * sample of the window: the result has one value per sample, the energy since the window's
 * first sample, in watt-hours (or VAh / varh).
 *
 * <p>Two neighbouring samples further apart than {@code maxGap} are not integrated: messages
 * are missing there, and guessing the power across a gap would invent energy. Where P changes
 * sign between two samples, the segment is split at the zero crossing, so import and export each
 * get exactly their part. Duplicates cannot count twice: the series holds one point per
 * (device, metric, time).
 */
public final class EnergyIntegrator {

  /** One point of the power series. */
  public record Sample(Instant time, double value) {
  }

  private EnergyIntegrator() {
  }

  public static List<Sample> integrate(List<Sample> power, EnergyMetric metric, Duration maxGap) {
    List<Sample> energy = new ArrayList<>(power.size());
    double total = 0;
    double maxGapSeconds = maxGap.toNanos() / 1e9;
    for (int i = 0; i < power.size(); i++) {
      Sample current = power.get(i);
      if (i > 0) {
        Sample previous = power.get(i - 1);
        double seconds = Duration.between(previous.time(), current.time()).toNanos() / 1e9;
        if (seconds > 0 && seconds <= maxGapSeconds) {
          total += joules(previous.value() * metric.sign(), current.value() * metric.sign(), seconds) / 3600.0;
        }
      }
      energy.add(new Sample(current.time(), total));
    }
    return energy;
  }

  /** The area under the positive part of a line from {@code a} to {@code b} over {@code seconds} (W and s: joules). */
  public static double joules(double a, double b, double seconds) {
    if (a >= 0 && b >= 0) {
      return (a + b) / 2 * seconds;
    }
    if (a <= 0 && b <= 0) {
      return 0;
    }
    double zero = seconds * Math.abs(a) / (Math.abs(a) + Math.abs(b));
    return a > 0 ? a * zero / 2 : b * (seconds - zero) / 2;
  }
}
