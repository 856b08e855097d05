package io.iotmeter;

import io.iotmeter.boot.ClusterSetup;
import io.iotmeter.boot.CommandLine;
import io.iotmeter.boot.ConfigLoader;
import io.iotmeter.boot.Platform;
import io.iotmeter.boot.SecretMasker;
import io.iotmeter.config.StartupException;
import io.iotmeter.ops.PlatformMetrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.micrometer.VertxPrometheusOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The launcher: {@code java -jar iot-meter.jar run [--profile P] [--data-dir DIR] [--conf FILE]}.
 *
 * <p>A small main class rather than Vert.x's {@code VertxApplication}: the platform needs its
 * own subcommands and options (profiles, data directory), a configuration that decides which
 * verticles run, and a clean one-line error for an operator instead of a stack trace.
 */
public final class Main {

  private static final Logger LOG = LoggerFactory.getLogger(Main.class);
  /** How long a SIGTERM waits for verticles to undeploy and stores to flush. */
  private static final long SHUTDOWN_TIMEOUT_S = 30;

  private Main() {
  }

  public static void main(String[] args) {
    if (args.length > 0 && (args[0].equals("tap") || args[0].equals("addresses"))) {
      // Clients of a running platform: no configuration, no Vert.x; they parse their own options.
      String[] rest = java.util.Arrays.copyOfRange(args, 1, args.length);
      System.exit(args[0].equals("tap")
          ? io.iotmeter.ops.BusTapClient.run(rest, System.out, System.err)
          : io.iotmeter.ops.AddressListing.run(rest, System.out, System.err));
      return;
    }
    CommandLine cli;
    try {
      cli = CommandLine.parse(args, System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println("iot-meter: " + e.getMessage());
      System.err.println(CommandLine.USAGE);
      System.exit(2);
      return;
    }
    if (cli.command().equals("help")) {
      System.out.println(CommandLine.USAGE);
      return;
    }
    if (!run(cli, System.getenv())) {
      System.exit(1); // the shutdown hook closes whatever did start
    }
  }

  /**
   * Starts the platform and blocks the calling (main) thread until it has started; returns false
   * when it could not start. The platform then runs until the JVM is asked to stop.
   */
  static boolean run(CommandLine cli, Map<String, String> env) {
    JsonObject config;
    try {
      config = loadConfig(cli, env);
      io.iotmeter.boot.LogFormat.apply(config);
      LOG.info("Starting IoT Meter {} with profile '{}', effective configuration:\n{}",
          PlatformMetrics.version(), cli.profile(), SecretMasker.mask(config).encodePrettily());
      LOG.info(io.iotmeter.boot.MemoryBudget.describe(config, Runtime.getRuntime().maxMemory()));
    } catch (StartupException e) {
      System.err.println("iot-meter: " + e.getMessage());
      return false;
    }

    Vertx vertx;
    try {
      vertx = awaitOffEventLoop(createVertx(config), 0);
    } catch (StartupException e) {
      System.err.println("iot-meter: " + e.getMessage()); // a cluster setting of the wrong type
      return false;
    } catch (Exception e) {
      System.err.println("iot-meter: cannot join the cluster: " + (e.getCause() == null ? e : e.getCause()).getMessage());
      return false;
    }
    Platform platform = new Platform(vertx, config);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> shutdown(vertx, platform), "iot-meter-shutdown"));
    try {
      awaitOffEventLoop(platform.start(), 0);
      LOG.info("IoT Meter is running; REST API on port {}", config.getJsonObject("http").getInteger("port"));
      // The main thread ends here; Vert.x's threads keep the JVM alive until shutdown.
      return true;
    } catch (Exception e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      if (cause instanceof StartupException) {
        LOG.debug("Startup failed", cause);
        System.err.println("iot-meter: " + cause.getMessage());
      } else {
        LOG.error("Startup failed", cause);
        System.err.println("iot-meter: startup failed: " + cause);
      }
      return false;
    }
  }

  private static JsonObject loadConfig(CommandLine cli, Map<String, String> env) {
    Vertx configVertx = Vertx.vertx();
    try {
      return awaitOffEventLoop(ConfigLoader.load(configVertx, cli, env), 0);
    } catch (Exception e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw cause instanceof StartupException s ? s : new StartupException("Cannot read configuration: " + cause, cause);
    } finally {
      configVertx.close();
    }
  }

  /**
   * A Vert.x instance with its own Prometheus registry, named in the configuration; clustered
   * over Hazelcast when {@code cluster.enabled}.
   */
  public static Future<Vertx> createVertx(JsonObject config) {
    String registryName = PlatformMetrics.DEFAULT_REGISTRY + "-" + java.util.UUID.randomUUID();
    config.put("metrics", config.getJsonObject("metrics", new JsonObject()).put("registry_name", registryName));
    MicrometerMetricsOptions metrics = new MicrometerMetricsOptions()
        .setEnabled(true)
        .setRegistryName(registryName)
        .setJvmMetricsEnabled(true)
        .setPrometheusOptions(new VertxPrometheusOptions().setEnabled(true))
        // Vert.x's own HTTP server metrics label the method too: a made-up method becomes "other"
        // there, as in ours (api.HttpMetrics.methodLabel), so input cannot add series.
        .addLabelMatch(new io.vertx.micrometer.Match().setDomain(io.vertx.micrometer.MetricsDomain.HTTP_SERVER)
            .setLabel(io.vertx.micrometer.Label.HTTP_METHOD.toString())
            .setType(io.vertx.micrometer.MatchType.REGEX)
            .setValue("^(?!(" + String.join("|", io.iotmeter.api.HttpMetrics.KNOWN_METHODS) + ")$).*$")
            .setAlias("other"));
    VertxOptions options = new VertxOptions().setMetricsOptions(metrics);
    if (!ClusterSetup.enabled(config)) {
      return Future.succeededFuture(Vertx.builder().with(options).withMetrics(new MicrometerMetricsFactory()).build());
    }
    return Vertx.builder()
        .with(options.setEventBusOptions(ClusterSetup.eventBusOptions(config)))
        .withMetrics(new MicrometerMetricsFactory())
        .withClusterManager(ClusterSetup.clusterManager(config))
        .buildClustered();
  }

  /**
   * Waits for {@code future} (no limit when {@code timeoutSeconds} is 0). Only the launcher's own
   * threads wait — the main thread while starting, the JVM's shutdown hook while stopping —
   * never an event loop.
   */
  private static <T> T awaitOffEventLoop(Future<T> future, long timeoutSeconds) throws Exception {
    var result = future.toCompletionStage().toCompletableFuture();
    return timeoutSeconds > 0 ? result.get(timeoutSeconds, TimeUnit.SECONDS) : result.get();
  }

  private static void shutdown(Vertx vertx, Platform platform) {
    LOG.info("Stopping IoT Meter: undeploying verticles, flushing stores");
    try {
      awaitOffEventLoop(platform.stop().eventually(vertx::close), SHUTDOWN_TIMEOUT_S);
      LOG.info("IoT Meter stopped");
    } catch (Exception e) {
      LOG.warn("Shutdown did not complete cleanly within {} s: {}", SHUTDOWN_TIMEOUT_S, e.toString());
    }
  }
}
