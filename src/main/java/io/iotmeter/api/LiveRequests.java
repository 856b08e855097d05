package io.iotmeter.api;

import io.iotmeter.bridge.BridgeGuard;
import io.iotmeter.bus.BusAddress;
import io.iotmeter.security.Role;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;

import java.util.List;

/**
 * The requests bridge clients may send ({@code iot.live.command.request},
 * {@code iot.live.alert.ack}), answered by the same code as their REST routes — the same
 * validation, storage and hand-off — and audited like them, with the caller the bridge
 * authenticated (headers {@code iot-key-id}, {@code iot-key-name}, {@code iot-role}). The role
 * is checked here again: the bus is internal, but this is where the rule belongs.
 */
final class LiveRequests {

  private final CommandRoutes commands;
  private final AlertRoutes alerts;
  private final AuditTrail audit;
  private final boolean secured;
  private final List<MessageConsumer<Object>> consumers;

  LiveRequests(Vertx vertx, CommandRoutes commands, AlertRoutes alerts, AuditTrail audit, boolean secured) {
    this.commands = commands;
    this.alerts = alerts;
    this.audit = audit;
    this.secured = secured;
    this.consumers = List.of(
        vertx.eventBus().consumer(BusAddress.LIVE_COMMAND_REQUEST.address(), this::onCommand),
        vertx.eventBus().consumer(BusAddress.LIVE_ALERT_ACK.address(), this::onAlertAck));
  }

  Future<?> completion() {
    return Future.all(consumers.stream().map(MessageConsumer::completion).toList());
  }

  void close() {
    consumers.forEach(MessageConsumer::unregister);
  }

  private void onCommand(Message<Object> request) {
    answer(request, BusAddress.LIVE_COMMAND_REQUEST, body -> {
      String deviceId = body.getValue("device_id") instanceof String id ? id : null;
      if (!Inputs.isDeviceId(deviceId)) {
        throw ApiException.badRequest("field 'device_id' must be a device id");
      }
      return new Route("/api/devices/:id/commands", "/api/devices/" + deviceId + "/commands",
          caller -> commands.create(deviceId, JsonInput.of(body), caller.name()));
    });
  }

  private void onAlertAck(Message<Object> request) {
    answer(request, BusAddress.LIVE_ALERT_ACK, body -> {
      if (!(body.getValue("alert_id") instanceof Number n) || n.longValue() < 1 || n.longValue() > Integer.MAX_VALUE
          || n.doubleValue() != n.longValue()) {
        throw ApiException.badRequest("field 'alert_id' must be a positive whole number");
      }
      int alertId = n.intValue();
      return new Route("/api/alerts/:alert_id/acknowledge", "/api/alerts/" + alertId + "/acknowledge",
          caller -> alerts.acknowledge(alertId));
    });
  }

  /** What a bus request does, under the REST route it stands for (for the audit). */
  private record Route(String route, String path, java.util.function.Function<ApiGate.Caller, Future<ApiResponse>> action) {
  }

  private void answer(Message<Object> request, BusAddress address, java.util.function.Function<JsonObject, Route> parse) {
    ApiGate.Caller caller = callerOf(request.headers());
    Route route;
    try {
      if (!(request.body() instanceof JsonObject body)) {
        throw ApiException.badRequest("the request body must be a JSON object");
      }
      route = parse.apply(body);
    } catch (ApiException e) {
      audit.record(caller, "BUS", address.address(), address.address(), e.status(), "bridge");
      request.fail(e.status(), e.getMessage());
      return;
    }
    Future<ApiResponse> answered;
    try {
      // The routes' validation throws its 400s, as it does for REST.
      answered = caller.role().includes(Role.OPERATOR)
          ? route.action().apply(caller)
          : Future.failedFuture(new ApiException(403, "API key '" + caller.name() + "' (role " + caller.role().wireName()
              + ") may not send " + address.address() + ": it needs the operator role"));
    } catch (ApiException e) {
      answered = Future.failedFuture(e);
    }
    answered.onComplete(done -> {
      int status = done.succeeded() ? done.result().status()
          : done.cause() instanceof ApiException api ? api.status() : 503;
      audit.record(caller, "BUS", route.route(), route.path(), status, "bridge");
      if (done.succeeded()) {
        request.reply(done.result().body(), new DeliveryOptions().addHeader("status", Integer.toString(status)));
      } else {
        request.fail(status, status == 503 ? "unavailable: " + done.cause().getMessage() : done.cause().getMessage());
      }
    });
  }

  /** The caller the bridge authenticated; anonymous (every right) with security off, as for REST. */
  private ApiGate.Caller callerOf(MultiMap headers) {
    if (!secured) {
      return ApiGate.Caller.ANONYMOUS;
    }
    String role = headers.get(BridgeGuard.ROLE);
    Role parsed;
    try {
      parsed = role == null ? Role.VIEWER : Role.parse(role);
    } catch (IllegalArgumentException e) {
      parsed = Role.VIEWER;
    }
    return new ApiGate.Caller(headers.get(BridgeGuard.KEY_ID), String.valueOf(headers.get(BridgeGuard.KEY_NAME)), parsed);
  }
}
