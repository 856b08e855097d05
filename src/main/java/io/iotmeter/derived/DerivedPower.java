package io.iotmeter.derived;

import io.iotmeter.protocol.Measurement;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
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

  public static List<Measurement> of(List<Measurement> samples) {
    Map<Instant, Map<String, Double>> byInstant = new TreeMap<>();
    for (Measurement m : samples) {
      byInstant.computeIfAbsent(m.ts(), ts -> new HashMap<>()).put(m.type(), m.value());
    }
    List<Measurement> derived = new ArrayList<>();
    byInstant.forEach((ts, values) -> {
      Double vdc = values.get("voltage_dc");
      Double idc = values.get("current_dc");
      if (vdc != null && idc != null) {
        derived.add(new Measurement(ts, ACTIVE, vdc * idc, "W"));
      }
      Double vac = values.get("voltage_ac");
      Double iac = values.get("current_ac");
      Double pf = values.get("pf");
      if (vac != null && iac != null) {
        double apparent = vac * iac;
        derived.add(new Measurement(ts, APPARENT, apparent, "VA"));
        if (pf != null) {
          double active = apparent * pf;
          derived.add(new Measurement(ts, ACTIVE, active, "W"));
          // Rounding can make P² exceed S² by a hair when |PF| = 1: that is Q = 0, not NaN.
          derived.add(new Measurement(ts, REACTIVE, Math.sqrt(Math.max(0, apparent * apparent - active * active)), "var"));
        }
      }
    });
    return derived;
  }
}
