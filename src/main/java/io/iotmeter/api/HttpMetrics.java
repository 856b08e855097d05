package io.iotmeter.api;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.iotmeter.ops.PlatformMetrics;
import io.vertx.ext.web.RoutingContext;

import java.util.concurrent.TimeUnit;

/**
 * The reference's HTTP metrics: {@code http_requests_total} and
 * {@code http_request_duration_seconds} (histogram), labelled with method, status class
 * ({@code 2xx}) and handler (the route template, so ids do not explode the label space).
 */
public final class HttpMetrics {

  private static final String ROUTE_KEY = "iot.route";
  private static final String UNMATCHED = "unmatched";
  /**
   * The methods that become a label value; any other (a client may send any token as a method)
   * is {@code other}: a label from input would leave a counter and a timer behind per made-up
   * method, forever.
   */
  public static final java.util.Set<String> KNOWN_METHODS =
      java.util.Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH");

  /** The label value of a request's method. */
  public static String methodLabel(String method) {
    return KNOWN_METHODS.contains(method) ? method : "other";
  }

  private final MeterRegistry registry;

  public HttpMetrics(MeterRegistry registry) {
    this.registry = registry;
    // Every route's success series from the first scrape, at 0 (rate() needs a series to exist).
    for (io.iotmeter.security.AccessRules.Rule rule : io.iotmeter.security.AccessRules.HTTP) {
      register(rule.method().name(), "2xx", rule.path());
    }
    register("GET", "2xx", "/metrics");
  }

  private Counter register(String method, String status, String handler) {
    PlatformMetrics.latencyTimer("http.request.duration", "HTTP request latency")
        .tags("method", method, "status", status, "handler", handler).register(registry);
    return Counter.builder("http.requests").description("HTTP requests by method, status class and handler")
        .tags("method", method, "status", status, "handler", handler).register(registry);
  }

  static void tagRoute(RoutingContext ctx, String template) {
    ctx.put(ROUTE_KEY, template);
  }

  /** The first handler of the router: measures the whole exchange. */
  public void handle(RoutingContext ctx) {
    long start = System.nanoTime();
    ctx.addEndHandler(done -> {
      String handler = ctx.get(ROUTE_KEY, UNMATCHED);
      String method = methodLabel(ctx.request().method().name());
      String status = (ctx.response().getStatusCode() / 100) + "xx";
      Counter.builder("http.requests").description("HTTP requests by method, status class and handler")
          .tags("method", method, "status", status, "handler", handler)
          .register(registry).increment();
      PlatformMetrics.latencyTimer("http.request.duration", "HTTP request latency")
          .tags("method", method, "status", status, "handler", handler)
          .register(registry).record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    });
    ctx.next();
  }
}
