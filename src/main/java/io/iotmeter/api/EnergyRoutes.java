package io.iotmeter.api;

import io.iotmeter.energy.Completeness;
import io.iotmeter.energy.DeviceMetadata;
import io.iotmeter.energy.EnergyPeriod;
import io.iotmeter.energy.EnergySettings;
import io.iotmeter.energy.EnergyStore;
import io.iotmeter.energy.EnergyVersion;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Pool;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Energy billing data (docs/energy.md): a meter's compiled periods and their versions, the
 * settlement export, the completeness report and a train's energy. Read only: nothing is written
 * through the API.
 */
public final class EnergyRoutes {

  /** Periods one answer for a meter may hold (35 days of five-minute periods is 10,080). */
  static final int MAX_PERIODS = 20_000;
  /** Rows one export answer holds; more follow with since= (the answer's X-Next-Since). */
  static final int MAX_EXPORT = 50_000;

  private final Pool pool;
  private final EnergySettings settings;

  public EnergyRoutes(Pool pool, EnergySettings settings) {
    this.pool = pool;
    this.settings = settings;
  }

  public void mount(ApiRoutes routes) {
    routes.get("/api/devices/:id/energy-periods", this::periods)
        .get("/api/devices/:id/energy-periods/:period_start/versions", this::versions)
        .get("/api/energy/export", this::export)
        .get("/api/energy/completeness", this::completeness)
        .get("/api/trains/:train_id/energy", this::train);
  }

  private Future<ApiResponse> periods(RoutingContext ctx) {
    String id = Inputs.deviceIdParam(ctx);
    TimeRange range = TimeRange.parse(Inputs.query(ctx, "start", 64).orElse("-24h"), Inputs.query(ctx, "stop", 64).orElse(null),
        Instant.now());
    return EnergyStore.latestOf(pool, id, range.start(), range.stop(), MAX_PERIODS + 1).map(versions -> {
      if (versions.size() > MAX_PERIODS) {
        throw ApiException.badRequest("The range holds more than " + MAX_PERIODS + " periods: narrow start/stop");
      }
      JsonArray list = new JsonArray();
      versions.forEach(v -> list.add(v.toJson()));
      return ApiResponse.ok(list);
    });
  }

  private Future<ApiResponse> versions(RoutingContext ctx) {
    String id = Inputs.deviceIdParam(ctx);
    String text = ctx.pathParam("period_start");
    Instant start;
    try {
      start = OffsetDateTime.parse(text).toInstant();
    } catch (DateTimeParseException e) {
      throw ApiException.badRequest("Path parameter 'period_start' must be an ISO-8601 instant such as 2026-02-12T10:05:00Z; got '"
          + Inputs.printable(text) + "'");
    }
    return EnergyStore.versionsOf(pool, id, start).map(versions -> {
      if (versions.isEmpty()) {
        throw ApiException.notFound("No compiled period of device '" + id + "' starts at " + start);
      }
      JsonArray list = new JsonArray();
      versions.forEach(v -> list.add(v.toJson()));
      return ApiResponse.ok(list);
    });
  }

  /**
   * The settlement export: every meter's periods of a UTC day at their latest version, ordered by
   * change; {@code since} (a change id) keeps only what changed after it, and pages: the answer's
   * {@code X-Next-Since} is where the next fetch starts ({@code X-More: true} when the day has more).
   */
  private Future<ApiResponse> export(RoutingContext ctx) {
    LocalDate date = date(ctx);
    long since = Inputs.query(ctx, "since", 20).map(EnergyRoutes::changeId).orElse(0L);
    boolean csv = TelemetryRoutes.wantsCsv(ctx);
    Instant from = date.atStartOfDay(ZoneOffset.UTC).toInstant();
    return EnergyStore.export(pool, from, from.plus(Duration.ofDays(1)), since, MAX_EXPORT + 1).map(rows -> {
      boolean more = rows.size() > MAX_EXPORT;
      List<EnergyVersion> page = more ? rows.subList(0, MAX_EXPORT) : rows;
      long next = page.isEmpty() ? since : page.get(page.size() - 1).changeId();
      ctx.response().putHeader("X-Next-Since", Long.toString(next)).putHeader("X-More", Boolean.toString(more));
      if (csv) {
        StringBuilder text = new StringBuilder(EnergyVersion.CSV_HEADER).append("\r\n");
        page.forEach(v -> text.append(v.toCsv()).append("\r\n"));
        ctx.response().setStatusCode(200).putHeader("content-type", "text/csv; charset=utf-8")
            .putHeader("Content-Disposition", "attachment; filename=\"energy-" + date + ".csv\"")
            .end(text.toString());
        return ApiResponse.ok(new JsonArray());
      }
      JsonArray periods = new JsonArray();
      page.forEach(v -> periods.add(v.toJson().put("codes", codes(v.period())).put("change_id", v.changeId())));
      return ApiResponse.ok(new JsonObject().put("date", date.toString()).put("since", since).put("next_since", next)
          .put("more", more).put("periods", periods));
    });
  }

  private static JsonObject codes(EnergyPeriod period) {
    return new JsonObject().put("time", period.time().code()).put("energy", period.energy().code())
        .put("location", period.location().code());
  }

  private Future<ApiResponse> completeness(RoutingContext ctx) {
    LocalDate date = date(ctx);
    return Completeness.of(pool, date, settings, Instant.now()).map(report -> ApiResponse.ok(report.toJson()));
  }

  /** A train's meters summed per period (the train each period was compiled under); the worst quality of its meters. */
  private Future<ApiResponse> train(RoutingContext ctx) {
    String train = ctx.pathParam("train_id");
    if (!DeviceMetadata.TRAIN_ID.matcher(train).matches()) {
      throw ApiException.badRequest("Path parameter 'train_id' must be 1 to 64 letters, digits, '_', '.', ':' or '-'");
    }
    LocalDate date = date(ctx);
    Instant from = date.atStartOfDay(ZoneOffset.UTC).toInstant();
    return EnergyStore.train(pool, train, from, from.plus(Duration.ofDays(1))).map(rows -> {
      Map<Instant, List<EnergyVersion>> byPeriod = new TreeMap<>();
      rows.forEach(v -> byPeriod.computeIfAbsent(v.period().start(), t -> new ArrayList<>()).add(v));
      JsonArray periods = new JsonArray();
      double[] totals = new double[4];
      java.util.TreeSet<String> meters = new java.util.TreeSet<>();
      byPeriod.forEach((start, versions) -> {
        double[] sum = new double[4];
        for (EnergyVersion v : versions) {
          sum[0] += v.period().activeImportKwh();
          sum[1] += v.period().activeExportKwh();
          sum[2] += v.period().reactiveImportKvarh();
          sum[3] += v.period().reactiveExportKvarh();
          meters.add(v.deviceId());
        }
        for (int i = 0; i < 4; i++) {
          totals[i] += sum[i];
        }
        EnergyPeriod.EnergyQuality energy = versions.stream().map(v -> v.period().energy())
            .max(Comparator.comparingInt(EnergyRoutes::badness)).orElseThrow();
        EnergyPeriod.TimeQuality time = versions.stream().map(v -> v.period().time()).max(Comparator.naturalOrder()).orElseThrow();
        periods.add(new JsonObject().put("period_start", start.toString())
            .put("period_end", versions.get(0).period().end().toString())
            .put("active_import_kwh", sum[0]).put("active_export_kwh", sum[1])
            .put("reactive_import_kvarh", sum[2]).put("reactive_export_kvarh", sum[3])
            .put("meters", versions.size())
            .put("quality", new JsonObject().put("time", time.wireName()).put("energy", energy.wireName())));
      });
      return ApiResponse.ok(new JsonObject().put("train_id", train).put("date", date.toString())
          .put("meters", new JsonArray(new ArrayList<>(meters))).put("periods", periods)
          .put("totals", new JsonObject().put("active_import_kwh", totals[0]).put("active_export_kwh", totals[1])
              .put("reactive_import_kvarh", totals[2]).put("reactive_export_kvarh", totals[3])));
    });
  }

  /** measured < estimated < incomplete < invalid: a sum is as good as its worst part. */
  private static int badness(EnergyPeriod.EnergyQuality quality) {
    return quality.ordinal();
  }

  /** {@code date=YYYY-MM-DD} (a UTC day), today's when absent. */
  private static LocalDate date(RoutingContext ctx) {
    Optional<String> text = Inputs.query(ctx, "date", 10);
    if (text.isEmpty()) {
      return LocalDate.now(ZoneOffset.UTC);
    }
    try {
      return LocalDate.parse(text.get());
    } catch (DateTimeParseException e) {
      throw ApiException.badRequest("Query parameter 'date' must be a day as YYYY-MM-DD (UTC), such as 2026-02-12; got '"
          + Inputs.printable(text.get()) + "'");
    }
  }

  private static long changeId(String text) {
    try {
      long id = Long.parseLong(text);
      if (id >= 0) {
        return id;
      }
    } catch (NumberFormatException e) {
      // the message below
    }
    throw ApiException.badRequest("Query parameter 'since' must be a change id (a whole number from 0), as X-Next-Since gave it");
  }
}
