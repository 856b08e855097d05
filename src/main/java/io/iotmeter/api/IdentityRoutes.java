package io.iotmeter.api;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.security.Role;
import io.vertx.core.Future;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code /api/keys} and {@code /api/devices/{id}/credentials}: API keys with roles and device
 * credentials, created and revoked by the identity verticle (the only owner of their tables).
 * A new secret appears in one response only.
 */
final class IdentityRoutes {

  private final EventBus bus;
  private final AuditTrail audit;

  IdentityRoutes(EventBus bus, AuditTrail audit) {
    this.bus = bus;
    this.audit = audit;
  }

  void mount(ApiRoutes routes) {
    routes.post("/api/keys", this::createKey)
        .get("/api/keys", ctx -> manage(new JsonObject().put("action", "list_keys")).map(r -> ApiResponse.ok(r.getJsonArray("keys"))))
        .delete("/api/keys/:key_id", ctx -> manage(new JsonObject().put("action", "delete_key")
            .put("id", ctx.pathParam("key_id"))).map(r -> ApiResponse.ok(new JsonObject().put("message", "API key deleted")
            .put("id", r.getString("id")))))
        .post("/api/devices/:id/credentials", ctx -> manage(new JsonObject().put("action", "issue_device")
            .put("device_id", ctx.pathParam("id"))).map(ApiResponse::created))
        .delete("/api/devices/:id/credentials", ctx -> manage(new JsonObject().put("action", "revoke_device")
            .put("device_id", ctx.pathParam("id"))).map(r -> ApiResponse.ok(new JsonObject()
            .put("message", "Credentials revoked").put("device_id", r.getString("device_id")))))
        .get("/api/audit", this::auditLog)
        // Who the caller is, so that a page can show what its role allows: nobody without a valid
        // key (security on), an anonymous admin with security off.
        .get("/api/whoami", ctx -> {
          ApiGate.Caller caller = ApiGate.caller(ctx);
          return Future.succeededFuture(ApiResponse.ok(new JsonObject()
              .put("security", caller != ApiGate.Caller.ANONYMOUS)
              .put("name", caller == null ? null : caller.name())
              .put("role", caller == null ? null : caller.role().wireName())));
        });
  }

  private Future<ApiResponse> auditLog(RoutingContext ctx) {
    int limit = Inputs.queryInt(ctx, "limit", 1, AuditTrail.MAX_LIMIT).orElse(100);
    String before = ctx.queryParams().get("before");
    Long beforeId;
    try {
      beforeId = before == null ? null : Long.valueOf(before);
    } catch (NumberFormatException e) {
      throw ApiException.badRequest("Query parameter 'before' must be an audit record id");
    }
    return audit.list(limit, beforeId).map(ApiResponse::ok);
  }

  private Future<ApiResponse> createKey(RoutingContext ctx) {
    JsonInput input = JsonInput.of(ctx, false);
    String name = input.requiredString("name", 100);
    String role = input.requiredString("role", 20);
    try {
      Role.parse(role);
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest(e.getMessage());
    }
    return manage(new JsonObject().put("action", "create_key").put("name", name).put("role", role)).map(ApiResponse::created);
  }

  private Future<JsonObject> manage(JsonObject request) {
    return bus.<JsonObject>request(BusAddress.IDENTITY_MANAGE.address(), request)
        .map(reply -> reply.body())
        .recover(e -> Future.failedFuture(e instanceof ReplyException reply && reply.failureCode() >= 400
            && reply.failureCode() < 500 ? new ApiException(reply.failureCode(), reply.getMessage())
            : new ApiException(503, "identity store unavailable: " + e.getMessage())));
  }
}
