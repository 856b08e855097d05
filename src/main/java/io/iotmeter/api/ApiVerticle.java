package io.iotmeter.api;

import io.iotmeter.boot.StartupException;
import io.iotmeter.ops.PlatformMetrics;
import io.iotmeter.registry.AlertRepository;
import io.iotmeter.registry.CommandRepository;
import io.iotmeter.registry.DeviceRepository;
import io.iotmeter.registry.RegistryStats;
import io.iotmeter.archive.ArchiveListing;
import io.iotmeter.archive.ObjectStores;
import io.iotmeter.store.Database;
import io.iotmeter.timeseries.TimeSeriesQueries;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.healthchecks.Status;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.sqlclient.Pool;

/**
 * The REST API of the reference system (its contract, unchanged for existing clients), health checks and
 * {@code /metrics}. Reads and writes the registry through its own connection pool; hands
 * commands to MQTT over the event bus only.
 */
public final class ApiVerticle extends VerticleBase {

  private Pool pool;
  private WorkerExecutor storeWorkers;
  private TimeSeriesQueries timeSeries;
  private ArchiveListing archive;
  private DebugRoutes debug;

  @Override
  public Future<?> start() {
    JsonObject config = config();
    JsonObject http = config.getJsonObject("http");
    long bodyLimit = http.getLong("body_limit_bytes", 65_536L);
    int port = http.getInteger("port");
    PrometheusMeterRegistry metrics = PlatformMetrics.registry(config);
    pool = Database.pool(vertx, config.getJsonObject("postgres"), "api-" + deploymentID() + "-" + System.identityHashCode(this));

    DeviceRepository devices = new DeviceRepository(pool);
    HealthChecks readiness = HealthChecks.create(vertx)
        .register("database", 2_000, promise -> pool.query("SELECT 1").execute()
            .onSuccess(rows -> promise.complete(Status.OK()))
            .onFailure(promise::fail));
    ComponentHealth.register(vertx, readiness, config);
    Gauge.builder("device_manager.info", () -> 1).description("Service version")
        .tag("version", PlatformMetrics.version()).register(metrics);

    Router router = Router.router(vertx);
    router.route().handler(new HttpMetrics(metrics)::handle);
    router.route().handler(BodyHandler.create(false).setBodyLimit(bodyLimit));
    ErrorResponder errors = new ErrorResponder(bodyLimit);
    router.route().failureHandler(errors::handle);
    router.errorHandler(404, errors::handle);
    router.errorHandler(405, errors::handle);
    RegistryGauges gauges = RegistryGauges.of(metrics);
    router.get("/metrics").handler(ctx -> {
      HttpMetrics.tagRoute(ctx, "/metrics");
      ctx.response().putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8")
          .end(metrics.scrape() + gauges.renderPrometheus());
    });

    ApiRoutes routes = new ApiRoutes(router);
    new HealthRoutes(readiness).mount(routes);
    new DeviceRoutes(devices).mount(routes);
    new AlertRoutes(devices, new AlertRepository(pool)).mount(routes);
    new CommandRoutes(devices, new CommandRepository(pool), vertx.eventBus(),
        config.getJsonObject("commands").getLong("publish_timeout_ms", 2_000L), metrics).mount(routes);
    storeWorkers = vertx.createSharedWorkerExecutor("api-store-reads", 8);
    timeSeries = new TimeSeriesQueries(config.getJsonObject("timeseries"), storeWorkers);
    archive = new ArchiveListing(ObjectStores.open(config.getJsonObject("s3")), storeWorkers);
    new TelemetryRoutes(devices, timeSeries, archive, metrics, http.getInteger("max_metric_points", 100_000)).mount(routes);
    new StatsRoutes(new RegistryStats(pool), gauges).mount(routes);
    new QuarantineRoutes(pool, vertx.eventBus(), config.getJsonObject("commands").getLong("publish_timeout_ms", 2_000L))
        .mount(routes);
    debug = DebugRoutes.mount(vertx, router, config);

    return vertx.createHttpServer(new HttpServerOptions().setHost(http.getString("host", "0.0.0.0")))
        .requestHandler(router)
        .listen(port)
        .recover(e -> Future.failedFuture(StartupException.explainListenFailure(e, "HTTP", port, "http.port")));
  }

  @Override
  public Future<?> stop() {
    debug.close();
    return storeWorkers.executeBlocking(() -> {
      timeSeries.close();
      archive.close();
      return null;
    }, false).eventually(() -> storeWorkers.close()).eventually(() -> pool.close());
  }
}
