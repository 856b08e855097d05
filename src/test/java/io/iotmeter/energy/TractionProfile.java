package io.iotmeter.energy;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.time.Instant;

/**
 * A DC traction meter with a known power profile, for the energy tests: P(t) swings between
 * drawing and feeding back 2 MW (a 40 s sine), at 1,500 V; its registers are the exact integrals
 * of the drawn and fed-back power, so every figure a period should hold is known analytically.
 */
class TractionProfile {

  static final double VOLTS = 1_500;
  private static final double PEAK_W = 2_000_000;
  private static final double CYCLE_S = 40;

  private final Instant origin;
  private final String deviceId;

  TractionProfile(String deviceId, Instant origin) {
    this.deviceId = deviceId;
    this.origin = origin;
  }

  double watts(Instant t) {
    return PEAK_W * Math.sin(2 * Math.PI * seconds(t) / CYCLE_S);
  }

  /** kWh drawn (sign 1) or fed back (sign −1) from the origin to {@code t}, numerically exact. */
  double kwh(Instant t, int sign) {
    return kwh(origin, t, sign);
  }

  double kwh(Instant from, Instant to, int sign) {
    double a = seconds(from);
    double b = seconds(to);
    double step = 0.0005;
    double joules = 0;
    for (double s = a; s < b - step / 2; s += step) {
      double mid = s + step / 2;
      joules += Math.max(0, sign * PEAK_W * Math.sin(2 * Math.PI * mid / CYCLE_S)) * step;
    }
    return joules / 3_600_000;
  }

  private double seconds(Instant t) {
    return Duration.between(origin, t).toNanos() / 1e9;
  }

  /**
   * A datagram with the samples at {@code times} (1 Hz seconds): voltage and current, and with
   * {@code registers} the two active registers (offset by {@code registerBase} kWh) and a position.
   */
  JsonObject datagram(long seq, Instant ts, java.util.List<Instant> times, boolean registers, double registerBase) {
    JsonArray measurements = new JsonArray();
    for (Instant t : times) {
      double watts = watts(t);
      measurements.add(sample(t, "voltage_dc", VOLTS, "V")).add(sample(t, "current_dc", watts / VOLTS, "A"));
      if (registers) {
        measurements.add(sample(t, "register_active_import", registerBase + kwh(t, 1), "kWh"))
            .add(sample(t, "register_active_export", registerBase + kwh(t, -1), "kWh"))
            .add(sample(t, "latitude", 52.52 + seconds(t) * 1e-5, "deg"))
            .add(sample(t, "longitude", 13.40, "deg"));
      }
    }
    return new JsonObject().put("v", 2).put("device_id", deviceId).put("ts", ts.toString()).put("seq", seq)
        .put("msg_type", "telemetry").put("measurements", measurements);
  }

  static JsonObject sample(Instant t, String type, double value, String unit) {
    return new JsonObject().put("ts", t.toString()).put("type", type).put("val", value).put("unit", unit);
  }

  /** Whole seconds from {@code from} (inclusive) to {@code to} (exclusive). */
  static java.util.List<Instant> seconds(Instant from, Instant to) {
    java.util.List<Instant> times = new java.util.ArrayList<>();
    for (Instant t = from; t.isBefore(to); t = t.plusSeconds(1)) {
      times.add(t);
    }
    return times;
  }
}
