package io.iotmeter.energy;

import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.util.Objects;

/**
 * One version of one meter's compiled period, as stored and served: the compilation's result, the
 * meter's billing identity at the time, and why this version was made.
 *
 * @param reason   {@code initial} (the first compilation), {@code late_data} (data for the period
 *                 reached the store after the version before), {@code recompiled} (the same data
 *                 compiled again gave another result: the meter's metadata or the compiler changed)
 * @param changeId the version's place among all versions of all meters (the export's cursor)
 */
public record EnergyVersion(String deviceId, String consumptionPointId, String trainId, EnergyPeriod period, int version,
                            String reason, Instant compiledAt, long changeId) {

  public static final String INITIAL = "initial";
  public static final String LATE_DATA = "late_data";
  public static final String RECOMPILED = "recompiled";

  /** Whether another compilation says the same: then it makes no new version. */
  public boolean sameAs(String otherConsumptionPoint, String otherTrain, EnergyPeriod other) {
    return consumptionPointId.equals(otherConsumptionPoint) && Objects.equals(trainId, otherTrain) && period.equals(other);
  }

  /** The API's shape (docs/api.md, "Energy billing data"). */
  public JsonObject toJson() {
    return new JsonObject()
        .put("device_id", deviceId)
        .put("consumption_point_id", consumptionPointId)
        .put("train_id", trainId)
        .put("period_start", period.start().toString())
        .put("period_end", period.end().toString())
        .put("active_import_kwh", period.activeImportKwh())
        .put("active_export_kwh", period.activeExportKwh())
        .put("reactive_import_kvarh", period.reactiveImportKvarh())
        .put("reactive_export_kvarh", period.reactiveExportKvarh())
        .put("latitude", period.latitude())
        .put("longitude", period.longitude())
        .put("location_age_s", period.locationAgeS())
        .put("coverage_pct", period.coveragePct())
        .put("source", period.source().wireName())
        .put("quality", new JsonObject()
            .put("time", period.time().wireName())
            .put("energy", period.energy().wireName())
            .put("location", period.location().wireName()))
        .put("version", version)
        .put("reason", reason)
        .put("compiled_at", compiledAt.toString());
  }

  /** The export's columns, in order. */
  public static final String CSV_HEADER = "consumption_point_id,device_id,train_id,period_start,period_end,active_import_kwh,"
      + "active_export_kwh,reactive_import_kvarh,reactive_export_kvarh,latitude,longitude,location_age_s,coverage_pct,"
      + "source,quality_time,quality_energy,quality_location,time_code,energy_code,location_code,version,reason,"
      + "compiled_at,change_id";

  /**
   * One export line: ids hold no comma or quote (device ids and consumption points are checked;
   * a train id is quoted in case), numbers as Java prints doubles, empty where there is no value.
   */
  public String toCsv() {
    return String.join(",", consumptionPointId, deviceId, trainId == null ? "" : quoted(trainId),
        period.start().toString(), period.end().toString(),
        Double.toString(period.activeImportKwh()), Double.toString(period.activeExportKwh()),
        Double.toString(period.reactiveImportKvarh()), Double.toString(period.reactiveExportKvarh()),
        text(period.latitude()), text(period.longitude()), text(period.locationAgeS()), Double.toString(period.coveragePct()),
        period.source().wireName(), period.time().wireName(), period.energy().wireName(), period.location().wireName(),
        period.time().code(), period.energy().code(), period.location().code(), Integer.toString(version), reason,
        compiledAt.toString(), Long.toString(changeId));
  }

  private static String text(Double value) {
    return value == null ? "" : value.toString();
  }

  private static String quoted(String text) {
    return text.matches("[A-Za-z0-9_.:-]*") ? text : '"' + text.replace("\"", "\"\"") + '"';
  }
}
