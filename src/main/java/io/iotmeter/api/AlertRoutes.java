package io.iotmeter.api;

import io.iotmeter.registry.AlertRepository;
import io.iotmeter.registry.AlertSeverity;
import io.iotmeter.registry.DeviceRepository;
import io.vertx.core.Future;
import io.vertx.ext.web.RoutingContext;

import java.util.Optional;

/** Alerts: list per device, create, acknowledge. */
public final class AlertRoutes {

  private final DeviceRepository devices;
  private final AlertRepository alerts;

  public AlertRoutes(DeviceRepository devices, AlertRepository alerts) {
    this.devices = devices;
    this.alerts = alerts;
  }

  public void mount(ApiRoutes routes) {
    routes.get("/api/devices/:id/alerts", this::list)
        .post("/api/devices/:id/alerts", this::create)
        .post("/api/alerts/:alert_id/acknowledge", this::acknowledge)
        .get("/api/alerts", this::listAll);
  }

  private Future<ApiResponse> list(RoutingContext ctx) {
    String id = Inputs.deviceIdParam(ctx);
    Optional<Boolean> acknowledged = Inputs.queryBoolean(ctx, "acknowledged");
    // As the reference answers: a device it never saw has no alerts, an empty list (not a 404).
    return Paging.list(ctx, "alerts", (limit, after) -> alerts.list(id, acknowledged, limit,
        after == null ? null : after.createdAt(), after == null ? null : after.id()));
  }

  private Future<ApiResponse> create(RoutingContext ctx) {
    String id = Inputs.deviceIdParam(ctx);
    JsonInput body = JsonInput.of(ctx, true);
    String type = Optional.ofNullable(body.optionalString("alert_type", 100)).orElse("general");
    String severityText = body.optionalString("severity", 20);
    AlertSeverity severity = severityText == null ? AlertSeverity.INFO
        : Inputs.parseEnum("severity", severityText, AlertSeverity.class, "Field");
    String message = body.optionalString("message", 4000);
    return KnownDevice.require(devices, id)
        .compose(v -> alerts.create(id, type, severity, message))
        .map(ApiResponse::created);
  }

  /** Every device's alerts, newest first (the dashboard's alert list). */
  private Future<ApiResponse> listAll(RoutingContext ctx) {
    Optional<Boolean> acknowledged = Inputs.queryBoolean(ctx, "acknowledged");
    int limit = Inputs.queryInt(ctx, "limit", 1, 1000).orElse(100);
    Integer before = Inputs.queryInt(ctx, "before", 1, Integer.MAX_VALUE).orElse(null);
    return alerts.listAll(acknowledged, limit, before).map(ApiResponse::ok);
  }

  private Future<ApiResponse> acknowledge(RoutingContext ctx) {
    return acknowledge(Inputs.positiveIntParam(ctx, "alert_id", "Alert not found"));
  }

  /** The REST route's and the bridges' ({@code iot.live.alert.ack}) acknowledgement. */
  Future<ApiResponse> acknowledge(int alertId) {
    return alerts.acknowledge(alertId)
        .map(found -> ApiResponse.ok(found.orElseThrow(() -> ApiException.notFound("Alert not found: " + alertId))));
  }
}
