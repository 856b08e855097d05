package io.iotmeter.energy;

import io.iotmeter.config.Settings;
import io.iotmeter.config.StartupException;
import io.vertx.core.json.JsonObject;

import java.time.Duration;

/**
 * The {@code energy} section, typed (meaning and defaults in {@code conf/default.yaml}).
 *
 * @param enabled   the time-series sink marks the periods its points fall in (without it nothing is compiled)
 * @param period    the periods' length; they are aligned to UTC (a divisor of a day)
 * @param grace     a period is first compiled this long after its end
 * @param settle    late data is compiled this long after the last of it arrived (a meter flushing its buffer)
 * @param interval  how often the compiler looks for due periods
 * @param maxBatch  periods compiled in one go
 * @param stateRetention how long a compiled period's marks are kept (its versions are kept for ever)
 */
public record EnergySettings(boolean enabled, Duration period, Duration grace, Duration settle, Duration interval,
                             int maxBatch, Duration stateRetention) {

  public static EnergySettings of(JsonObject config) {
    Settings energy = Settings.of(config, "energy");
    Duration period = energy.seconds("period_s");
    if (period.toSeconds() < 10 || Duration.ofDays(1).toSeconds() % period.toSeconds() != 0) {
      throw new StartupException("Setting energy.period_s must divide a day into whole periods of at least 10 s (300 is "
          + "five minutes), not " + period.toSeconds());
    }
    return new EnergySettings(energy.flag("enabled"), period, energy.seconds("grace_s"), energy.seconds("late_settle_s"),
        energy.millis("compile_interval_ms"), energy.integer("max_compile_batch"),
        Duration.ofDays(energy.whole("state_retention_days")));
  }

  /** The start of the period {@code t} falls in. */
  public java.time.Instant periodOf(java.time.Instant t) {
    long length = period.toSeconds();
    return java.time.Instant.ofEpochSecond(Math.floorDiv(t.getEpochSecond(), length) * length);
  }
}
