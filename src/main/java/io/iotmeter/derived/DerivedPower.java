package io.iotmeter.derived;

import io.iotmeter.protocol.Measurement;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The values the platform derives from each sample instant of a datagram (protocol "Values the
 * platform derives"): DC active power P = V·I; AC active power P = V·I·PF, apparent power
 * S = V·I and reactive power Q = √(S² − P²). Written as the time-series metrics
 * {@code power_active} (W), {@code power_apparent} (VA) and {@code power_reactive} (var), at the
 * samples' own time. An instant that lacks one of its inputs yields nothing.
 */
public final class DerivedPower {

  public static final String ACTIVE = "power_active";
  public static final String APPARENT = "power_apparent";
  public static final String REACTIVE = "power_reactive";

  private DerivedPower() {
  }

  /** The inputs of one sample instant, NaN where the datagram has none. */
  private static final int VDC = 0;
  private static final int IDC = 1;
  private static final int VAC = 2;
  private static final int IAC = 3;
  private static final int PF = 4;

  /** Runs for every datagram: one small array per instant, no map of boxed values. */
  public static List<Measurement> of(List<Measurement> samples) {
    Map<Instant, double[]> byInstant = new TreeMap<>();
    for (Measurement m : samples) {
      int slot = switch (m.type()) {
        case "voltage_dc" -> VDC;
        case "current_dc" -> IDC;
        case "voltage_ac" -> VAC;
        case "current_ac" -> IAC;
        case "pf" -> PF;
        default -> -1;
      };
      if (slot >= 0) {
        byInstant.computeIfAbsent(m.ts(), ts -> new double[] {Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN})[slot]
            = m.value();
      }
    }
    List<Measurement> derived = new ArrayList<>(byInstant.size());
    byInstant.forEach((ts, v) -> {
      if (!Double.isNaN(v[VDC]) && !Double.isNaN(v[IDC])) {
        derived.add(new Measurement(ts, ACTIVE, v[VDC] * v[IDC], "W"));
      }
      if (!Double.isNaN(v[VAC]) && !Double.isNaN(v[IAC])) {
        double apparent = v[VAC] * v[IAC];
        derived.add(new Measurement(ts, APPARENT, apparent, "VA"));
        if (!Double.isNaN(v[PF])) {
          double active = apparent * v[PF];
          derived.add(new Measurement(ts, ACTIVE, active, "W"));
          // Rounding can make P² exceed S² by a hair when |PF| = 1: that is Q = 0, not NaN.
          derived.add(new Measurement(ts, REACTIVE, Math.sqrt(Math.max(0, apparent * apparent - active * active)), "var"));
        }
      }
    });
    return derived;
  }
}
