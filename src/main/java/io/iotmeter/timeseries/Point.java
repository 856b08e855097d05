package io.iotmeter.timeseries;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;

/**
 * One measurement to store: measurement {@code iot_telemetry}, tags {@code device_id},
 * {@code metric} and {@code unit}, field {@code value}, at the sample's time.
 *
 * <p>A point is identified by {@code (deviceId, metric, time)}: writing the same identity again
 * replaces the value instead of adding a second point.
 *
 * @param unit null when the metric has none ({@code pf}); an empty unit is taken as none
 * @param time kept to the microsecond, the finest both stores hold (QuestDB timestamps are
 *             microseconds): a finer instant would be the same point in one store and two in
 *             the other
 */
public record Point(String deviceId, String metric, String unit, double value, Instant time) {

  /**
   * The whole microseconds InfluxDB can store, whose times are signed 64-bit nanoseconds since
   * the epoch (1677 to 2262).
   */
  static final Instant EARLIEST = Instant.ofEpochSecond(0, Long.MIN_VALUE).truncatedTo(ChronoUnit.MICROS).plus(1, ChronoUnit.MICROS);
  static final Instant LATEST = Instant.ofEpochSecond(0, Long.MAX_VALUE).truncatedTo(ChronoUnit.MICROS);

  public Point {
    requireText("deviceId", deviceId);
    requireText("metric", metric);
    if (unit != null && unit.isEmpty()) {
      unit = null;
    }
    if (unit != null) {
      requireText("unit", unit);
    }
    if (!Double.isFinite(value)) {
      // Neither store can hold NaN or infinity: one such value would get its whole batch refused.
      throw new IllegalArgumentException("Point value of " + metric + " must be a finite number, not " + value);
    }
    time = Objects.requireNonNull(time, "time").truncatedTo(ChronoUnit.MICROS);
    if (time.isBefore(EARLIEST) || time.isAfter(LATEST)) {
      throw new IllegalArgumentException("Point time " + time + " is outside the storable range " + EARLIEST + " .. " + LATEST);
    }
  }

  /** Line protocol has no way to carry a line break inside a tag value. */
  private static void requireText(String field, String text) {
    if (text == null || text.isEmpty()) {
      throw new IllegalArgumentException("Point " + field + " must not be empty");
    }
    if (text.indexOf('\n') >= 0 || text.indexOf('\r') >= 0) {
      throw new IllegalArgumentException("Point " + field + " must not contain a line break");
    }
  }
}
