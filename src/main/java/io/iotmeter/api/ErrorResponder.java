package io.iotmeter.api;

import io.iotmeter.registry.DuplicateDeviceException;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.HttpException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.UUID;

/**
 * Turns every failure into the contract's {@code {"error": "..."}} body. Refused requests get
 * their 4xx; anything unexpected gets a generic 500 and is logged with a correlation id that
 * the response carries too, so a client report can be matched to the log line.
 */
public final class ErrorResponder {

  private static final Logger LOG = LoggerFactory.getLogger(ErrorResponder.class);

  private final long bodyLimitBytes;

  public ErrorResponder(long bodyLimitBytes) {
    this.bodyLimitBytes = bodyLimitBytes;
  }

  public void handle(RoutingContext ctx) {
    if (ctx.response().ended() || ctx.response().headWritten()) {
      return;
    }
    Throwable failure = ctx.failure();
    if (failure instanceof ApiException api) {
      if (api.status() == 401) {
        ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"iot-meter\"");
      }
      respond(ctx, api.status(), api.getMessage());
    } else if (failure instanceof DuplicateDeviceException duplicate) {
      respond(ctx, 409, duplicate.getMessage());
    } else if (failure instanceof io.iotmeter.archive.ObjectStoreException) {
      unavailable(ctx, "Archive store unavailable", failure);
    } else if (failure instanceof io.iotmeter.timeseries.TimeSeriesException) {
      unavailable(ctx, "Time-series store unavailable", failure);
    } else if (failure instanceof DecodeException) {
      respond(ctx, 400, "Malformed JSON body");
    } else if (failure == null || failure instanceof HttpException) {
      int status = failure instanceof HttpException http ? http.getStatusCode() : ctx.statusCode();
      if (status >= 400 && status < 500) {
        respond(ctx, status, messageFor(status));
      } else {
        serverError(ctx, failure);
      }
    } else {
      serverError(ctx, failure);
    }
  }

  private String messageFor(int status) {
    return switch (status) {
      case 400 -> "Bad request";
      case 404 -> "Not found";
      case 405 -> "Method not allowed";
      case 413 -> "Request body too large (limit " + bodyLimitBytes + " bytes)";
      case 415 -> "Unsupported media type";
      default -> "Request refused";
    };
  }

  /** A store behind the API is down: the client may retry later; the cause goes to the log. */
  private static void unavailable(RoutingContext ctx, String message, Throwable failure) {
    LOG.warn("{} {}: {}", ctx.request().method(), io.iotmeter.ops.LogText.escaped(ctx.request().path()), failure.getMessage());
    ctx.response().putHeader("Retry-After", "5");
    respond(ctx, 503, message);
  }

  private static void serverError(RoutingContext ctx, Throwable failure) {
    String correlationId = UUID.randomUUID().toString();
    org.slf4j.MDC.put("correlation_id", correlationId);
    try {
      LOG.error("[{}] {} {} failed", correlationId, ctx.request().method(), ctx.request().path(), failure);
    } finally {
      org.slf4j.MDC.remove("correlation_id");
    }
    ctx.response().putHeader("X-Correlation-Id", correlationId);
    respond(ctx, 500, new JsonObject().put("error", "Internal server error").put("correlation_id", correlationId));
  }

  static void respond(RoutingContext ctx, int status, String message) {
    respond(ctx, status, new JsonObject().put("error", message));
  }

  private static void respond(RoutingContext ctx, int status, JsonObject body) {
    ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(body.encode());
  }
}
