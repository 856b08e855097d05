package io.iotmeter.api;

import io.iotmeter.security.Access;
import io.iotmeter.security.AccessRules;
import io.vertx.core.Future;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * Mounts API actions on the router. An action returns a future response; whatever it throws
 * or fails with goes to {@link ErrorResponder}, so no handler writes error bodies itself. Each
 * route records its path template for the HTTP metrics ({@code /api/devices/:id}, not the id).
 */
public final class ApiRoutes {

  /** A route's work: validate, call the stores, describe the response. */
  @FunctionalInterface
  public interface Action {
    Future<ApiResponse> handle(RoutingContext ctx);
  }

  private final Router router;
  private final ApiGate gate;
  private final AuditTrail audit;

  /**
   * Routes whose every call is checked by {@code gate} against its rule in {@link AccessRules},
   * and whose every state-changing call (also a refused one) goes to the {@code audit} trail.
   */
  ApiRoutes(Router router, ApiGate gate, AuditTrail audit) {
    this.router = router;
    this.gate = gate;
    this.audit = audit;
  }

  /** Routes without a gate: only {@link Access#PUBLIC} ones may be mounted (the ops port's probes). */
  public ApiRoutes(Router router) {
    this(router, null, null);
  }

  public ApiRoutes get(String path, Action action) {
    return add(HttpMethod.GET, path, action);
  }

  public ApiRoutes post(String path, Action action) {
    return add(HttpMethod.POST, path, action);
  }

  public ApiRoutes put(String path, Action action) {
    return add(HttpMethod.PUT, path, action);
  }

  public ApiRoutes delete(String path, Action action) {
    return add(HttpMethod.DELETE, path, action);
  }

  private ApiRoutes add(HttpMethod method, String path, Action action) {
    Access access = AccessRules.required(method, path);
    if (gate == null && access != Access.PUBLIC) {
      throw new IllegalStateException(method + " " + path + " needs the " + access + " role but is mounted without a gate");
    }
    router.route(method, path).handler(ctx -> {
      HttpMetrics.tagRoute(ctx, path);
      // State changes are audited, and every look at /debug/* (it shows the bus: device data).
      if (audit != null && (method != HttpMethod.GET || path.startsWith("/debug/"))) {
        ctx.addEndHandler(v -> audit.record(ApiGate.caller(ctx), method.name(), path, ctx.request().path(),
            ctx.response().getStatusCode(), ctx.request().remoteAddress() == null ? null : ctx.request().remoteAddress().hostAddress()));
      }
      Future<ApiGate.Caller> admitted = gate == null ? Future.succeededFuture(null) : gate.admit(ctx, access, path);
      admitted.compose(caller -> {
        jsonBodyOnly(ctx);
        return action.handle(ctx);
      }).onSuccess(response -> send(ctx, response)).onFailure(ctx::fail);
    });
    return this;
  }

  /**
   * A body must say it is JSON: this refuses the forms and {@code text/plain} a cross-site page
   * can send without asking, and tells a client that forgot the header what is wrong.
   */
  private static void jsonBodyOnly(RoutingContext ctx) {
    io.vertx.ext.web.RequestBody body = ctx.body();
    if (body == null || body.length() <= 0) {
      return;
    }
    String type = ctx.request().getHeader("Content-Type");
    String mediaType = type == null ? "" : type.split(";", 2)[0].trim();
    if (!mediaType.equalsIgnoreCase("application/json")) {
      throw new ApiException(415, "Content-Type must be application/json"
          + (type == null ? " (none was sent)" : ", got '" + (type.length() > 100 ? type.substring(0, 100) + "…" : type) + "'"));
    }
  }

  static void send(RoutingContext ctx, ApiResponse response) {
    if (ctx.response().ended()) {
      return;
    }
    Object body = response.body();
    String text = body instanceof JsonObject o ? o.encode() : body instanceof JsonArray a ? a.encode() : String.valueOf(body);
    ctx.response()
        .setStatusCode(response.status())
        .putHeader("content-type", "application/json")
        .end(text);
  }
}
