package io.iotmeter.api;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.quarantine.QuarantineStore;
import io.iotmeter.journal.SinkKind;
import io.vertx.core.Future;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Pool;

import java.util.Arrays;
import java.util.regex.Pattern;

/**
 * The quarantine: messages a sink could not store ({@code kind=quarantined}, the default) and
 * messages the intake refused ({@code kind=rejected}), newest first, paged with {@code before}
 * (the last id of the previous page); one with its payload; and replay of a quarantined message
 * after a fix (through the intake, which owns the journal).
 */
public final class QuarantineRoutes {

  private static final Pattern ID = Pattern.compile("[1-9][0-9]{0,17}");
  private static final int DEFAULT_LIMIT = 100;
  private static final int MAX_LIMIT = 1000;

  private final Pool pool;
  private final EventBus bus;
  private final long timeoutMs;

  public QuarantineRoutes(Pool pool, EventBus bus, long timeoutMs) {
    this.pool = pool;
    this.bus = bus;
    this.timeoutMs = timeoutMs;
  }

  public void mount(ApiRoutes routes) {
    routes.get("/api/quarantine", this::list)
        .get("/api/quarantine/:qid", this::get)
        .post("/api/quarantine/:qid/replay", this::replay);
  }

  private Future<ApiResponse> list(RoutingContext ctx) {
    String kind = Inputs.query(ctx, "kind", 20).orElse(QuarantineStore.QUARANTINED);
    if (!kind.equals(QuarantineStore.QUARANTINED) && !kind.equals(QuarantineStore.REJECTED)) {
      throw ApiException.badRequest("Query parameter 'kind' must be one of [quarantined, rejected], not '"
          + Inputs.printable(kind) + "'");
    }
    String deviceId = Inputs.query(ctx, "device_id", 100).orElse(null);
    if (deviceId != null && !Inputs.isDeviceId(deviceId)) {
      throw ApiException.badRequest("Query parameter 'device_id' is not a device id: '" + Inputs.printable(deviceId) + "'");
    }
    String sink = Inputs.query(ctx, "sink", 20).orElse(null);
    if (sink != null && Arrays.stream(SinkKind.values()).noneMatch(k -> k.configName().equals(sink))) {
      throw ApiException.badRequest("Query parameter 'sink' must be one of [archive, timeseries, registry], not '"
          + Inputs.printable(sink) + "'");
    }
    Boolean replayed = Inputs.queryBoolean(ctx, "replayed").orElse(null);
    int limit = Inputs.queryInt(ctx, "limit", 1, MAX_LIMIT).orElse(DEFAULT_LIMIT);
    long before = Inputs.query(ctx, "before", 20).map(text -> {
      if (!ID.matcher(text).matches()) {
        throw ApiException.badRequest("Query parameter 'before' must be a quarantine id, not '" + Inputs.printable(text) + "'");
      }
      return Long.parseLong(text);
    }).orElse(Long.MAX_VALUE);
    return QuarantineStore.list(pool, new QuarantineStore.Filter(kind, deviceId, sink, replayed, limit, before))
        .map(ApiResponse::ok);
  }

  private Future<ApiResponse> get(RoutingContext ctx) {
    long id = idParam(ctx);
    return QuarantineStore.get(pool, id)
        .map(found -> ApiResponse.ok(found.orElseThrow(() -> ApiException.notFound("Quarantined message not found: " + id))));
  }

  private Future<ApiResponse> replay(RoutingContext ctx) {
    long id = idParam(ctx);
    return bus.<JsonObject>request(BusAddress.QUARANTINE_REPLAY.address(), new JsonObject().put("id", id),
            new DeliveryOptions().setSendTimeout(timeoutMs))
        .map(reply -> new ApiResponse(202, reply.body().copy().put("message", "Replay queued: the "
            + reply.body().getString("sink") + " sink takes the message up again from the intake journal")))
        .recover(e -> Future.failedFuture(replayFailure(id, e)));
  }

  private static ApiException replayFailure(long id, Throwable e) {
    if (e instanceof ReplyException reply) {
      if (reply.failureType() == ReplyFailure.RECIPIENT_FAILURE && (reply.failureCode() == 404 || reply.failureCode() == 409)) {
        return new ApiException(reply.failureCode(), reply.getMessage());
      }
      if (reply.failureType() == ReplyFailure.NO_HANDLERS) {
        return new ApiException(503, "No intake is running to replay quarantined message " + id);
      }
    }
    return new ApiException(503, "Replay of quarantined message " + id + " failed: " + e.getMessage());
  }

  private static long idParam(RoutingContext ctx) {
    String text = ctx.pathParam("qid");
    if (text == null || !ID.matcher(text).matches()) {
      throw ApiException.notFound("Quarantined message not found: " + Inputs.printable(text));
    }
    return Long.parseLong(text);
  }
}
