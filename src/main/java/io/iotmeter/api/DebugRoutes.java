package io.iotmeter.api;

import io.iotmeter.config.Settings;
import io.iotmeter.config.StartupException;
import io.iotmeter.ops.AddressPattern;
import io.iotmeter.ops.BusTap;
import io.iotmeter.ops.ClusterTap;
import io.iotmeter.ops.TapRequest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The event-bus inspection routes, mounted only with {@code debug.bus_tap: true}: otherwise
 * they do not exist and answer 404 like any unknown path, because the stream shows device data.
 *
 * <ul>
 *   <li>{@code GET /debug/bus?address=PATTERN[&address=...][&rate=N][&sample=N]}: the messages
 *       as server-sent events (see {@link TapEventStream});</li>
 *   <li>{@code GET /debug/addresses}: the address catalogue with this node's live counters.</li>
 * </ul>
 */
public final class DebugRoutes implements AutoCloseable {

  private static final Set<String> STREAM_PARAMETERS = Set.of("address", "rate", "sample");
  private static final Pattern WHOLE_NUMBER = Pattern.compile("[0-9]{1,9}");
  private static final long SAMPLE_INTERVAL_MS = 1_000;

  private final Vertx vertx;
  private final BusTap tap;
  private final ClusterTap cluster;
  private final int maxStreams;
  private final int defaultRate;
  private final long sampleTimer;
  private boolean closed;

  private DebugRoutes(Vertx vertx, BusTap tap, int maxStreams, int defaultRate) {
    this.vertx = vertx;
    this.tap = tap;
    this.cluster = tap == null ? null : new ClusterTap(vertx, tap, maxStreams);
    this.maxStreams = maxStreams;
    this.defaultRate = defaultRate;
    this.sampleTimer = tap == null ? -1 : vertx.setPeriodic(SAMPLE_INTERVAL_MS, id -> tap.sample());
  }

  /**
   * Mounts the routes when the configuration's {@code debug.bus_tap} is true; closing the result
   * releases the tap (call it from the verticle's {@code stop}).
   *
   * @throws StartupException for a {@code debug} setting out of range
   */
  static DebugRoutes mount(Vertx vertx, Router router, JsonObject config, ApiGate gate, AuditTrail audit) {
    Settings debug = Settings.of(config, "debug");
    if (!debug.flag("bus_tap")) {
      return new DebugRoutes(vertx, null, 0, 0);
    }
    int maxStreams = setting(debug, "max_streams", 1, 1_000);
    int defaultRate = setting(debug, "default_rate", 1, TapRequest.MAX_RATE);
    DebugRoutes routes = new DebugRoutes(vertx, BusTap.acquire(vertx), maxStreams, defaultRate);
    // Every look at the bus is audited, refused ones too: it shows device data.
    router.get("/debug/bus").handler(ctx -> gate.admit(ctx, io.iotmeter.security.AccessRules.required(
        io.vertx.core.http.HttpMethod.GET, "/debug/bus"), "/debug/bus")
        .onSuccess(caller -> {
          audited(audit, ctx, caller, 200);
          routes.openStream(ctx, caller);
        })
        .onFailure(e -> {
          audited(audit, ctx, ApiGate.caller(ctx), e instanceof ApiException api ? api.status() : 500);
          ctx.fail(e);
        }));
    new ApiRoutes(router, gate, audit).get("/debug/addresses", ctx -> Future.succeededFuture(ApiResponse.ok(routes.addresses())));
    return routes;
  }

  private static void audited(AuditTrail audit, RoutingContext ctx, ApiGate.Caller caller, int status) {
    audit.record(caller, "GET", "/debug/bus", ctx.request().path(), status,
        ctx.request().remoteAddress() == null ? null : ctx.request().remoteAddress().hostAddress());
  }

  private static int setting(Settings debug, String key, int min, int max) {
    int value = debug.integer(key);
    if (value < min || value > max) {
      throw new StartupException("debug." + key + " must be from " + min + " to " + max + ", not " + value);
    }
    return value;
  }

  private JsonObject addresses() {
    JsonObject report = tap.report();
    report.getJsonObject("streams").put("max", maxStreams);
    return report;
  }

  private void openStream(RoutingContext ctx, ApiGate.Caller caller) {
    HttpMetrics.tagRoute(ctx, "/debug/bus");
    TapRequest request;
    try {
      request = streamRequest(ctx);
    } catch (ApiException e) {
      ctx.fail(e);
      return;
    }
    if (TapEventStream.open(ctx, tap, cluster, request, ctx.queryParam("address"), maxStreams,
        caller == null ? null : caller.keyId()).isEmpty()) {
      ctx.fail(new ApiException(429,
          "Too many bus tap streams open on this node (debug.max_streams = " + maxStreams + "); close one and retry"));
    }
  }

  private TapRequest streamRequest(RoutingContext ctx) {
    for (String name : ctx.queryParams().names()) {
      if (!STREAM_PARAMETERS.contains(name)) {
        throw ApiException.badRequest("Unknown query parameter '" + Inputs.printable(name) + "' (known: address, rate, sample)");
      }
    }
    List<String> globs = ctx.queryParam("address");
    AddressPattern pattern;
    try {
      pattern = AddressPattern.parse(globs);
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest("Query parameter 'address' " + Inputs.printable(e.getMessage()));
    }
    int rate = wholeNumber(ctx, "rate", defaultRate, TapRequest.MAX_RATE, "messages per second");
    int sample = wholeNumber(ctx, "sample", 1, TapRequest.MAX_SAMPLE, "(1 in N messages)");
    return new TapRequest(pattern, rate, sample);
  }

  private static int wholeNumber(RoutingContext ctx, String name, int fallback, int max, String unit) {
    return Inputs.query(ctx, name, 20).map(text -> {
      if (!WHOLE_NUMBER.matcher(text).matches() || Integer.parseInt(text) < 1 || Integer.parseInt(text) > max) {
        throw ApiException.badRequest("Query parameter '" + name + "' must be a whole number from 1 to " + max + " "
            + unit + ", not '" + Inputs.printable(text) + "'");
      }
      return Integer.parseInt(text);
    }).orElse(fallback);
  }

  @Override
  public void close() {
    if (tap != null && !closed) {
      closed = true;
      vertx.cancelTimer(sampleTimer);
      cluster.close();
      tap.release();
    }
  }
}
