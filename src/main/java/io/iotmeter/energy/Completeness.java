package io.iotmeter.energy;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlClient;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A UTC day's completeness report: per meter in service, the periods expected, compiled and
 * missing, and the compiled ones by quality; the day's totals.
 *
 * <p>A meter is in service when its status is {@code active}; it is expected to have a period
 * from the first period it ever sent data for (a meter installed at noon owes nothing for the
 * morning) up to the last period already due (its end plus {@code energy.grace_s} passed) or the
 * day's end.
 */
public record Completeness(LocalDate date, List<Meter> meters) {

  /** One meter's day. */
  public record Meter(String deviceId, String consumptionPointId, long expected, long compiled, Map<String, Long> energy,
                      long timeInvalid, long locationNone) {

    public long missing() {
      return Math.max(0, expected - compiled);
    }

    /** Compiled of expected, 1 when nothing was expected. */
    public double ratio() {
      return expected == 0 ? 1.0 : Math.min(1.0, (double) compiled / expected);
    }

    JsonObject toJson() {
      return new JsonObject().put("device_id", deviceId).put("consumption_point_id", consumptionPointId)
          .put("expected", expected).put("compiled", compiled).put("missing", missing())
          .put("completeness_pct", Math.round(ratio() * 10_000) / 100.0)
          .put("energy", new JsonObject(new LinkedHashMap<>(energy))).put("time_invalid", timeInvalid)
          .put("location_none", locationNone);
    }
  }

  public static Future<Completeness> of(SqlClient client, LocalDate date, EnergySettings settings, Instant now) {
    Instant dayStart = date.atStartOfDay(ZoneOffset.UTC).toInstant();
    Instant dayEnd = dayStart.plus(java.time.Duration.ofDays(1));
    long periodS = settings.period().toSeconds();
    // Periods due by now: those whose end plus the grace has passed.
    Instant dueUntil = settings.periodOf(now.minus(settings.grace()));
    return EnergyStore.day(client, dayStart, dayEnd).map(days -> new Completeness(date, days.stream().map(d -> {
      Instant from = d.firstPeriod().isAfter(dayStart) ? d.firstPeriod() : dayStart;
      Instant to = dueUntil.isBefore(dayEnd) ? dueUntil : dayEnd;
      long expected = to.isAfter(from) ? (to.getEpochSecond() - from.getEpochSecond() + periodS - 1) / periodS : 0;
      return new Meter(d.deviceId(), d.consumptionPointId(), Math.max(expected, d.compiled()), d.compiled(), d.energy(),
          d.timeInvalid(), d.locationNone());
    }).toList()));
  }

  /** The API's shape: {date, meters: [...], totals: {...}}. */
  public JsonObject toJson() {
    long expected = 0;
    long compiled = 0;
    long missing = 0;
    Map<String, Long> energy = new LinkedHashMap<>();
    io.vertx.core.json.JsonArray list = new io.vertx.core.json.JsonArray();
    for (Meter m : meters) {
      expected += m.expected();
      compiled += m.compiled();
      missing += m.missing();
      m.energy().forEach((k, v) -> energy.merge(k, v, Long::sum));
      list.add(m.toJson());
    }
    return new JsonObject().put("date", date.toString()).put("meters", list).put("totals", new JsonObject()
        .put("meters", meters.size()).put("expected", expected).put("compiled", compiled).put("missing", missing)
        .put("completeness_pct", expected == 0 ? 100.0 : Math.round(10_000.0 * compiled / expected) / 100.0)
        .put("energy", new JsonObject(new LinkedHashMap<>(energy))));
  }
}
