package io.iotmeter.api;

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

  public ApiRoutes(Router router) {
    this.router = router;
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
    router.route(method, path).handler(ctx -> {
      HttpMetrics.tagRoute(ctx, path);
      Future<ApiResponse> result;
      try {
        result = action.handle(ctx);
      } catch (RuntimeException e) {
        result = Future.failedFuture(e);
      }
      result.onSuccess(response -> send(ctx, response)).onFailure(ctx::fail);
    });
    return this;
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
