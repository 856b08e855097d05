package io.iotmeter.api;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.CheckResult;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code /health} (legacy), {@code /healthz} (liveness: the process answers) and
 * {@code /readyz} (readiness: every registered check passes; a 503 names the ones that fail).
 */
public final class HealthRoutes {

  private static final String SERVICE = "device-manager";

  private final HealthChecks readiness;
  /** Whether this request may see why a check fails (with security on: an authenticated caller). */
  private final java.util.function.Predicate<RoutingContext> details;

  public HealthRoutes(HealthChecks readiness, java.util.function.Predicate<RoutingContext> details) {
    this.readiness = readiness;
    this.details = details;
  }

  public void mount(ApiRoutes routes) {
    routes.get("/health", ctx -> Future.succeededFuture(ApiResponse.ok(
            new JsonObject().put("status", "healthy").put("service", SERVICE))))
        .get("/healthz", ctx -> Future.succeededFuture(ApiResponse.ok(
            new JsonObject().put("status", "alive").put("service", SERVICE))))
        .get("/readyz", this::ready);
  }

  private Future<ApiResponse> ready(RoutingContext ctx) {
    return readiness.checkStatus().map(result -> {
      JsonArray checks = new JsonArray();
      JsonArray failed = new JsonArray();
      if (result.getChecks() != null) {
        for (CheckResult check : result.getChecks()) {
          JsonObject entry = new JsonObject().put("name", check.getId()).put("status", check.getUp() ? "up" : "down");
          if (!check.getUp()) {
            JsonObject data = check.getData();
            if (details.test(ctx)) {
              entry.put("reason", data == null ? "check failed" : data.getString("cause", data.encode()));
            }
            failed.add(check.getId());
          }
          checks.add(entry);
        }
      }
      JsonObject body = new JsonObject().put("status", failed.isEmpty() ? "ready" : "not ready")
          .put("service", SERVICE).put("checks", checks);
      if (!failed.isEmpty()) {
        body.put("failed", failed);
      }
      return new ApiResponse(failed.isEmpty() ? 200 : 503, body);
    });
  }
}
