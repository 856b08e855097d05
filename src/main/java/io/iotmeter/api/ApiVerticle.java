package io.iotmeter.api;

import io.iotmeter.config.Settings;
import io.iotmeter.config.StartupException;
import io.iotmeter.ops.PlatformMetrics;
import io.iotmeter.registry.AlertRepository;
import io.iotmeter.registry.CommandRepository;
import io.iotmeter.registry.DeviceRepository;
import io.iotmeter.registry.RegistryStats;
import io.iotmeter.security.SecuritySettings;
import io.iotmeter.bridge.BridgeGuard;
import io.iotmeter.bridge.BridgeSettings;
import io.iotmeter.bridge.SockJsBridge;
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
  private ApiGate gate;
  private long statsTimer = -1;
  private LiveRequests liveRequests;
  private BridgeGuard sockJsGuard;

  @Override
  public Future<?> start() {
    JsonObject config = config();
    Settings http = Settings.of(config, "http");
    long bodyLimit = http.whole("body_limit_bytes");
    int port = http.integer("port");
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
    cors(http).ifPresent(handler -> router.route().handler(handler));
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

    gate = new ApiGate(vertx, SecuritySettings.of(config));
    AuditTrail audit = new AuditTrail(pool, metrics);
    ApiRoutes routes = new ApiRoutes(router, gate, audit);
    new HealthRoutes(readiness, ctx -> !gate.enabled() || ApiGate.caller(ctx) != null).mount(routes);
    new IdentityRoutes(vertx.eventBus(), audit).mount(routes);
    ApiDocsRoutes.load().mount(routes, router);
    new DeviceRoutes(devices, vertx.eventBus()).mount(routes);
    AlertRoutes alertRoutes = new AlertRoutes(devices, new AlertRepository(pool));
    alertRoutes.mount(routes);
    CommandRoutes commandRoutes = new CommandRoutes(devices, new CommandRepository(pool), vertx.eventBus(),
        Settings.of(config, "commands").whole("publish_timeout_ms"), metrics,
        CommandDestinations.of(config, gate.enabled()));
    commandRoutes.mount(routes);
    // Bridge clients' requests: the same code as the routes above, audited alike.
    liveRequests = new LiveRequests(vertx, commandRoutes, alertRoutes, audit, gate.enabled());
    BridgeSettings bridgeSettings = BridgeSettings.of(config);
    if (bridgeSettings.sockJsEnabled()) {
      sockJsGuard = new BridgeGuard(vertx, "sockjs", bridgeSettings, SecuritySettings.of(config), metrics);
      router.route("/eventbus/*").subRouter(SockJsBridge.router(vertx, sockJsGuard));
    }
    storeWorkers = vertx.createSharedWorkerExecutor("api-store-reads", 8);
    timeSeries = new TimeSeriesQueries(config.getJsonObject("timeseries"), storeWorkers);
    archive = new ArchiveListing(ObjectStores.open(config.getJsonObject("s3")), storeWorkers);
    new TelemetryRoutes(devices, timeSeries, archive, metrics, http.integer("max_metric_points")).mount(routes);
    new EnergyRoutes(pool, io.iotmeter.energy.EnergySettings.of(config)).mount(routes);
    RegistryStats registryStats = new RegistryStats(pool);
    new StatsRoutes(registryStats, gauges).mount(routes);
    // The registry gauges are scraped without anybody reading /api/stats: refresh them now and then.
    statsTimer = io.iotmeter.ops.Periodic.every(vertx, http.whole("stats_refresh_ms"), "Registry gauges",
        org.slf4j.LoggerFactory.getLogger(ApiVerticle.class), () -> registryStats.read().onSuccess(gauges::update)
            .compose(v -> registryStats.connections()).onSuccess(gauges::updateConnections));
    new QuarantineRoutes(pool, vertx.eventBus(), Settings.of(config, "commands").whole("publish_timeout_ms"))
        .mount(routes);
    debug = DebugRoutes.mount(vertx, router, config, gate, audit);
    DashboardRoutes.mount(router);

    HttpServerOptions serverOptions = new HttpServerOptions().setHost(http.text("host"));
    io.iotmeter.security.TlsSettings tls = io.iotmeter.security.TlsSettings.of("http.tls", http.section("tls").json());
    if (tls.enabled()) {
      try {
        tls.applyTo(serverOptions);
        tls.exportExpiry(metrics, "http");
      } catch (IllegalArgumentException e) {
        return Future.failedFuture(new StartupException(e.getMessage()));
      }
    }
    return liveRequests.completion().compose(v -> vertx.createHttpServer(serverOptions)
        .requestHandler(router)
        .listen(port))
        .recover(e -> Future.failedFuture(StartupException.explainListenFailure(e, "HTTP", port, "http.port")));
  }

  /** Cross-origin calls from the listed web origins only; none when the list is empty. */
  private static java.util.Optional<io.vertx.ext.web.handler.CorsHandler> cors(Settings http) {
    java.util.List<String> origins = http.section("cors").texts("allowed_origins");
    if (origins.isEmpty()) {
      return java.util.Optional.empty();
    }
    io.vertx.ext.web.handler.CorsHandler handler = origins.contains("*") ? io.vertx.ext.web.handler.CorsHandler.create()
        : io.vertx.ext.web.handler.CorsHandler.create().addOrigins(origins);
    return java.util.Optional.of(handler
        .allowedMethods(java.util.Set.of(io.vertx.core.http.HttpMethod.GET, io.vertx.core.http.HttpMethod.POST,
            io.vertx.core.http.HttpMethod.PUT, io.vertx.core.http.HttpMethod.DELETE))
        .allowedHeaders(java.util.Set.of("Authorization", "Content-Type")));
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(statsTimer);
    debug.close();
    gate.close();
    liveRequests.close();
    if (sockJsGuard != null) {
      sockJsGuard.close();
    }
    return storeWorkers.executeBlocking(() -> {
      timeSeries.close();
      archive.close();
      return null;
    }, false).eventually(() -> storeWorkers.close()).eventually(() -> pool.close());
  }
}
