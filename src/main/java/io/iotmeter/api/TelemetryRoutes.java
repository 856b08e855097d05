package io.iotmeter.api;

import io.iotmeter.derived.EnergyIntegrator;
import io.iotmeter.derived.EnergyMetric;
import io.iotmeter.ops.PlatformMetrics;
import io.iotmeter.registry.DeviceRepository;
import io.iotmeter.store.ArchiveReader;
import io.iotmeter.store.TimeSeriesReader;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/** Reading the stores: a device's measurements and its raw-message archive. */
public final class TelemetryRoutes {

  /** Metric names as devices and the platform write them ({@code voltage_dc}, {@code power_active}). */
  private static final Pattern METRIC = Pattern.compile("[A-Za-z][A-Za-z0-9_.-]{0,63}");
  /** Archive prefixes are key paths below the device: category folders and file-name starts. */
  private static final Pattern PREFIX = Pattern.compile("[A-Za-z0-9_.:/-]{0,200}");
  private static final int DEFAULT_LIMIT = 100;
  private static final int MAX_LIMIT = 1000;

  /** Points one metrics answer may hold ({@code http.max_metric_points}); beyond: 400, or paging. */
  private final int maxPoints;
  private final DeviceRepository devices;
  private final TimeSeriesReader timeSeries;
  private final ArchiveReader archive;
  private final Timer queryTimer;
  private final Timer listTimer;

  public TelemetryRoutes(DeviceRepository devices, TimeSeriesReader timeSeries, ArchiveReader archive, MeterRegistry metrics,
                         int maxPoints) {
    this.maxPoints = maxPoints;
    this.devices = devices;
    this.timeSeries = timeSeries;
    this.archive = archive;
    this.queryTimer = PlatformMetrics.latencyTimer("device_manager.influxdb.query.duration", "Time-series query latency")
        .register(metrics);
    this.listTimer = PlatformMetrics.latencyTimer("device_manager.minio.list.duration", "Object-store listing latency")
        .register(metrics);
  }

  public void mount(ApiRoutes routes) {
    routes.get("/api/devices/:id/metrics", ctx -> {
          boolean csv = wantsCsv(ctx);
          return metrics(ctx).map(response -> csv ? csv(ctx, response) : response);
        })
        .get("/api/devices/:id/raw-data", this::rawData);
  }

  private Future<ApiResponse> metrics(RoutingContext ctx) {
    String id = Inputs.deviceIdParam(ctx);
    TimeRange range = TimeRange.parse(Inputs.query(ctx, "start", 64).orElse(null),
        Inputs.query(ctx, "stop", 64).orElse(null), Instant.now());
    Optional<String> metric = Inputs.query(ctx, "metric", 64);
    if (metric.isPresent() && !METRIC.matcher(metric.get()).matches()) {
      throw ApiException.badRequest("Query parameter 'metric' must be a metric name (letters, digits, '_', '.', '-'), not '"
          + Inputs.printable(metric.get()) + "'");
    }
    Optional<EnergyMetric> energy = metric.flatMap(EnergyMetric::of);
    Optional<Integer> limit = Inputs.queryInt(ctx, "limit", 1, maxPoints);
    Optional<MetricsPage> after = Inputs.query(ctx, "after", 200).map(cursor -> MetricsPage.parse(cursor, maxPoints));
    if (energy.isPresent()) {
      if (limit.isPresent() || after.isPresent()) {
        throw ApiException.badRequest("Energy is integrated over the whole range: it takes no 'limit' or 'after'; narrow start/stop");
      }
      // A device never seen has no power samples: an empty series, as the reference answers.
      return devices.find(id).compose(device -> {
        JsonObject metadata = device.map(d -> d.getJsonObject("metadata", new JsonObject())).orElse(new JsonObject());
        return timed(queryTimer, () -> timeSeries.query(id, range.start(), range.stop(), Optional.of(energy.get().powerMetric()),
                maxPoints + 1))
            .map(power -> ApiResponse.ok(energySeries(id, energy.get(), capped(power), maxGap(metadata))));
      });
    }
    if (limit.isEmpty() && after.isEmpty()) {
      // As the reference answers: the whole range — as long as it fits in one answer — read from
      // the store, not the registry, so a device it never saw has an empty list, not a 404.
      return timed(queryTimer, () -> timeSeries.query(id, range.start(), range.stop(), metric, maxPoints + 1))
          .map(rows -> ApiResponse.ok(capped(rows)));
    }
    int size = limit.orElse(maxPoints);
    MetricsPage page = after.orElse(MetricsPage.from(range.start()));
    if (page.time().isBefore(range.start()) || !page.time().isBefore(range.stop())) {
      throw ApiException.badRequest("Query parameter 'after' lies outside start/stop: page with the same start and stop");
    }
    return timed(queryTimer, () -> timeSeries.query(id, page.time(), range.stop(), metric, size + page.skip() + 1))
        .map(rows -> {
          JsonArray points = page.pageOf(rows);
          if (points.size() > size) {
            JsonArray first = new JsonArray(points.getList().subList(0, size));
            String cursor = page.next(first).encode();
            Paging.announceNext(ctx, cursor);
            return ApiResponse.ok(first);
          }
          return ApiResponse.ok(points);
        });
  }

  /** {@code format=csv}, or an Accept header that prefers {@code text/csv} to JSON. */
  static boolean wantsCsv(RoutingContext ctx) {
    Optional<String> format = Inputs.query(ctx, "format", 10);
    if (format.isPresent()) {
      return switch (format.get()) {
        case "csv" -> true;
        case "json" -> false;
        default -> throw ApiException.badRequest("Query parameter 'format' must be json or csv");
      };
    }
    String accept = ctx.request().getHeader("Accept");
    return accept != null && accept.contains("text/csv") && !accept.contains("application/json");
  }

  /**
   * The points as CSV ({@code time,device_id,metric,value}, a header line first): ids and metric
   * names hold no comma or quote, so no field needs quoting. Paging headers stay as they are.
   */
  private static ApiResponse csv(RoutingContext ctx, ApiResponse response) {
    StringBuilder text = new StringBuilder("time,device_id,metric,value\r\n");
    for (Object o : (JsonArray) response.body()) {
      JsonObject point = (JsonObject) o;
      text.append(point.getString("time")).append(',').append(point.getString("device_id")).append(',')
          .append(point.getString("metric")).append(',').append(point.getValue("value")).append("\r\n");
    }
    ctx.response().setStatusCode(response.status()).putHeader("content-type", "text/csv; charset=utf-8")
        .putHeader("Content-Disposition", "attachment; filename=\"" + Inputs.deviceIdParam(ctx) + "-metrics.csv\"")
        .end(text.toString());
    return response;
  }

  /** A range holding more than one answer may is refused with what to do instead. */
  private JsonArray capped(JsonArray rows) {
    if (rows.size() > maxPoints) {
      throw ApiException.badRequest("The range holds more than " + maxPoints + " points: narrow start/stop, name a "
          + "metric, or page with limit (and after, from the X-Next-Cursor header)");
    }
    return rows;
  }


  /**
   * Neighbouring power samples further apart than 2.5 sampling periods of the device are not
   * integrated: a datagram is missing between them.
   */
  private static Duration maxGap(JsonObject metadata) {
    Object cadence = metadata.getValue("sampling_cadence_ms");
    long millis = cadence instanceof Number n && n.longValue() > 0 ? n.longValue() : io.iotmeter.protocol.DeviceDefaults.SAMPLING_CADENCE_MS;
    return Duration.ofMillis(Math.max(1000, millis * 5 / 2));
  }

  private static JsonArray energySeries(String deviceId, EnergyMetric energy, JsonArray power, Duration maxGap) {
    List<EnergyIntegrator.Sample> samples = power.stream().map(o -> (JsonObject) o)
        .map(p -> new EnergyIntegrator.Sample(Instant.parse(p.getString("time")), p.getDouble("value"))).toList();
    JsonArray series = new JsonArray();
    EnergyIntegrator.integrate(samples, energy, maxGap).forEach(s -> series.add(new JsonObject()
        .put("time", s.time().toString()).put("device_id", deviceId).put("metric", energy.metricName())
        .put("value", s.value())));
    return series;
  }

  private Future<ApiResponse> rawData(RoutingContext ctx) {
    String id = Inputs.deviceIdParam(ctx);
    int limit = Inputs.query(ctx, "limit", 10).map(TelemetryRoutes::parseLimit).orElse(DEFAULT_LIMIT);
    String prefix = Inputs.query(ctx, "prefix", 200).orElse("");
    if (!PREFIX.matcher(prefix).matches() || prefix.contains("..") || prefix.startsWith("/")) {
      throw ApiException.badRequest("Query parameter 'prefix' must be a key path below the device such as "
          + "'telemetry/' (letters, digits, '_', '.', ':', '-', '/'; no '..')");
    }
    // From the archive, as the reference answers: a device it never saw has an empty list.
    return timed(listTimer, () -> archive.list(id, prefix, limit))
        .map(ApiResponse::ok);
  }

  private static int parseLimit(String text) {
    try {
      int limit = Integer.parseInt(text);
      if (limit >= 1 && limit <= MAX_LIMIT) {
        return limit;
      }
    } catch (NumberFormatException e) {
      // falls through to the error below
    }
    throw ApiException.badRequest("Query parameter 'limit' must be an integer from 1 to " + MAX_LIMIT);
  }

  private static <T> Future<T> timed(Timer timer, java.util.function.Supplier<Future<T>> operation) {
    long start = System.nanoTime();
    return operation.get().andThen(done -> timer.record(System.nanoTime() - start, java.util.concurrent.TimeUnit.NANOSECONDS));
  }
}
