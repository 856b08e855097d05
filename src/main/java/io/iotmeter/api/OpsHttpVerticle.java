package io.iotmeter.api;

import io.iotmeter.config.Settings;
import io.iotmeter.ops.BusTap;
import io.iotmeter.ops.ClusterTap;
import io.iotmeter.ops.PlatformMetrics;
import io.iotmeter.config.StartupException;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.web.Router;

/**
 * Health and metrics of a node without the REST API (an ingest node of a cluster), on
 * {@code ops.port} (8081, as the reference's collector): {@code /metrics} with this node's
 * {@code mqtt_collector_*} numbers, {@code /healthz}, {@code /readyz}.
 */
public final class OpsHttpVerticle extends VerticleBase {

  private HttpServer server;
  private BusTap tap;
  private ClusterTap clusterTap;

  @Override
  public Future<?> start() {
    Settings ops = Settings.of(config(), "ops");
    int port = ops.integer("port");
    PrometheusMeterRegistry metrics = PlatformMetrics.registry(config());
    Router router = Router.router(vertx);
    router.get("/metrics").handler(ctx -> ctx.response()
        .putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8").end(metrics.scrape()));
    // No keys on the ops port: with security on, a failing check is named without its details.
    boolean open = !io.iotmeter.security.SecuritySettings.of(config()).enabled();
    new HealthRoutes(ComponentHealth.register(vertx, HealthChecks.create(vertx), config()), ctx -> open)
        .mount(new ApiRoutes(router));
    Settings debug = Settings.of(config(), "debug");
    if (debug.flag("bus_tap")) {
      // A node without the API still shows its bus to a /debug/bus stream opened elsewhere in the cluster.
      tap = BusTap.acquire(vertx);
      clusterTap = new ClusterTap(vertx, tap, debug.integer("max_streams"));
    }
    server = vertx.createHttpServer(new HttpServerOptions().setHost(ops.text("host")));
    return server.requestHandler(router).listen(port)
        .recover(e -> Future.failedFuture(StartupException.explainListenFailure(e, "Ops HTTP", port, "ops.port")));
  }

  @Override
  public Future<?> stop() {
    if (clusterTap != null) {
      clusterTap.close();
      tap.release();
    }
    return server.close();
  }
}
