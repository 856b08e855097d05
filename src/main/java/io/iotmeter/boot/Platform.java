package io.iotmeter.boot;

import io.iotmeter.config.StartupException;
import io.iotmeter.embedded.EmbeddedPostgresServer;
import io.iotmeter.embedded.EmbeddedQuestDb;
import io.iotmeter.embedded.EmbeddedS3Server;
import io.iotmeter.store.Database;
import io.iotmeter.store.SchemaMigrations;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;

/**
 * The deployment plan of one node: starts the embedded servers its profile asks for, brings
 * the registry schema up to date, then deploys the configured verticles in catalogue order.
 *
 * <p>Not a verticle itself on purpose: Vert.x undeploys a verticle's children all at once,
 * but a clean stop needs an order — verticles in reverse start order (intake before the sinks
 * it feeds), and only then the embedded servers, so no verticle loses its store while it is
 * still flushing.
 */
public final class Platform {

  private static final Logger LOG = LoggerFactory.getLogger(Platform.class);
  private io.iotmeter.ops.EventLoopProbe loopProbe;

  private final Vertx vertx;
  private final JsonObject config;
  private final Deque<String> deployments = new ArrayDeque<>();
  /** Embedded servers in start order; stopped in reverse. */
  private final Deque<AutoCloseable> servers = new ArrayDeque<>();

  public Platform(Vertx vertx, JsonObject config) {
    this.vertx = vertx;
    this.config = config.copy();
  }

  /** The configuration the verticles get: the given one plus where the embedded servers listen. */
  public JsonObject effectiveConfig() {
    return config.copy();
  }

  /** Starts everything; on failure, whatever did start is stopped again. */
  public Future<Void> start() {
    java.util.List<String> defaults = io.iotmeter.security.DefaultSecrets.found(config, name -> deploys(config, name));
    if (!defaults.isEmpty()) {
      return Future.failedFuture(new StartupException("The reference deployment's well-known passwords are in use ("
          + String.join(", ", defaults) + "): set your own (IOT_" + defaults.get(0).toUpperCase(java.util.Locale.ROOT)
          .replace('.', '_') + "=...), or IOT_SECURITY_ALLOW_DEFAULT_SECRETS=true for a development setup"));
    }
    io.iotmeter.security.SecuritySettings security;
    try {
      security = io.iotmeter.security.SecuritySettings.of(config);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(new StartupException(e.getMessage()));
    }
    if (!security.enabled()) {
      LOG.warn("security.enabled is false: anonymous MQTT, an open REST API and unknown devices registered on their "
          + "first message, as in the reference system. For compatibility tests only; never on a network.");
    }
    // Every node decodes the live feed's bodies, wherever they were published (a codec crossing the
    // cluster must be known by name on the receiving node too).
    io.iotmeter.bus.JsonViewCodec.register(vertx, io.iotmeter.live.LiveTelemetry.class);
    loopProbe = io.iotmeter.ops.EventLoopProbe.start(vertx, io.iotmeter.ops.PlatformMetrics.registry(config),
        Math.max(1, 2 * Runtime.getRuntime().availableProcessors()));
    return startEmbeddedServers(config)
        .compose(v -> usesDatabase(config) ? migrate(config) : Future.<Void>succeededFuture())
        .compose(v -> deployAll(config))
        .recover(e -> stop().transform(cleaned -> Future.failedFuture(e)));
  }

  /**
   * Starts the servers the profile embeds, each with its data under {@code data_dir}, and
   * writes where they listen into the configuration the verticles get.
   */
  private Future<Void> startEmbeddedServers(JsonObject config) {
    Path dataDir = Path.of(config.getString("data_dir"));
    JsonObject postgres = config.getJsonObject("postgres");
    JsonObject s3 = config.getJsonObject("s3", new JsonObject());
    JsonObject timeseries = config.getJsonObject("timeseries", new JsonObject());
    Future<Void> chain = Future.succeededFuture();
    if (postgres.getBoolean("embedded", false)) {
      chain = chain.compose(v -> embed(() -> EmbeddedPostgresServer.start(dataDir.resolve("postgres"),
          postgres.getInteger("port", 0), postgres.getString("database"), postgres.getBoolean("durable", true)),
          server -> postgres.put("host", "127.0.0.1").put("port", server.port()).put("user", server.user())
              .put("password", server.password())));
    }
    if (s3.getBoolean("embedded", false)) {
      chain = chain.compose(v -> embed(() -> EmbeddedS3Server.start(dataDir.resolve("s3"), s3.getInteger("embedded_port", 0),
          s3.getString("access_key"), s3.getString("secret_key")),
          server -> s3.put("endpoint", server.endpoint())));
    }
    if (timeseries.getBoolean("embedded", false)) {
      JsonObject quest = timeseries.getJsonObject("questdb");
      chain = chain.compose(v -> embed(() -> EmbeddedQuestDb.start(dataDir.resolve("questdb"),
              quest.getInteger("http_port", 0), quest.getInteger("pg_port", 0)),
          server -> quest.put("host", "127.0.0.1").put("http_port", server.httpPort()).put("pg_port", server.pgPort())
              .put("user", server.user()).put("password", server.password())));
    }
    return chain;
  }

  private <S extends AutoCloseable> Future<Void> embed(java.util.concurrent.Callable<S> start, java.util.function.Consumer<S> publish) {
    return vertx.executeBlocking(start, false).map(server -> {
      servers.push(server);
      publish.accept(server);
      return null;
    });
  }

  /** Whether this node deploys the verticle of that configuration name (its roles and its deploy count). */
  private static boolean deploys(JsonObject config, String configName) {
    JsonObject deploy = config.getJsonObject("deploy", new JsonObject());
    List<String> roles = config.getJsonArray("roles", new io.vertx.core.json.JsonArray()).stream().map(String::valueOf).toList();
    return java.util.Arrays.stream(VerticleCatalog.values()).anyMatch(v -> v.configName().equals(configName)
        && deploy.getInteger(configName, 0) > 0 && NodeRole.deploys(roles, v));
  }

  private static boolean usesDatabase(JsonObject config) {
    JsonObject deploy = config.getJsonObject("deploy", new JsonObject());
    List<String> roles = config.getJsonArray("roles", new io.vertx.core.json.JsonArray()).stream().map(String::valueOf).toList();
    return java.util.Arrays.stream(VerticleCatalog.values())
        .anyMatch(v -> v != VerticleCatalog.SIMULATOR && v != VerticleCatalog.OPS
            && deploy.getInteger(v.configName(), 0) > 0 && NodeRole.deploys(roles, v));
  }

  private Future<Void> migrate(JsonObject config) {
    Pool pool = Database.pool(vertx, config.getJsonObject("postgres").copy().put("pool_size", 1), "migrations");
    return SchemaMigrations.migrate(vertx, pool)
        .eventually(pool::close)
        .recover(e -> Future.failedFuture(new StartupException("Cannot prepare the PostgreSQL registry at "
            + describe(config.getJsonObject("postgres")) + ": " + e.getMessage(), e)))
        .mapEmpty();
  }

  private Future<Void> deployAll(JsonObject config) {
    JsonObject deploy = config.getJsonObject("deploy", new JsonObject());
    List<String> known = Arrays.stream(VerticleCatalog.values()).map(VerticleCatalog::configName).toList();
    for (String name : deploy.fieldNames()) {
      if (!known.contains(name)) {
        return Future.failedFuture(new StartupException("deploy." + name + " names no verticle (known: " + known + ")"));
      }
    }
    List<String> roles = config.getJsonArray("roles", new io.vertx.core.json.JsonArray()).stream().map(String::valueOf).toList();
    Future<Void> chain = Future.succeededFuture();
    for (VerticleCatalog verticle : VerticleCatalog.values()) {
      int instances = deploy.getInteger(verticle.configName(), 0);
      if (instances > 0 && NodeRole.deploys(roles, verticle)) {
        chain = chain.compose(v -> vertx.deployVerticle(verticle.factory(),
                new DeploymentOptions().setConfig(config).setInstances(instances))
            .map(id -> {
              deployments.push(id);
              LOG.info("Deployed {} ({} instance{})", verticle.configName(), instances, instances == 1 ? "" : "s");
              return null;
            }));
      }
    }
    return chain;
  }

  /** Undeploys the verticles in reverse start order, then stops the embedded servers. */
  public Future<Void> stop() {
    if (loopProbe != null) {
      loopProbe.stop();
    }
    Future<Void> chain = Future.succeededFuture();
    while (!deployments.isEmpty()) {
      String id = deployments.pop();
      chain = chain.compose(v -> vertx.undeploy(id).recover(e -> {
        LOG.warn("Undeploying {} failed", id, e);
        return Future.succeededFuture();
      }));
    }
    while (!servers.isEmpty()) {
      AutoCloseable server = servers.pop();
      chain = chain.compose(v -> vertx.executeBlocking(() -> {
        server.close();
        return null;
      }, false).recover(e -> {
        LOG.warn("Stopping {} failed", server.getClass().getSimpleName(), e);
        return Future.succeededFuture();
      }).mapEmpty());
    }
    return chain;
  }

  private static String describe(JsonObject postgres) {
    return postgres.getString("host") + ":" + postgres.getInteger("port") + "/" + postgres.getString("database");
  }
}
