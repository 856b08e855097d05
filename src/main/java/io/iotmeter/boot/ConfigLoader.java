package io.iotmeter.boot;

import io.iotmeter.config.ConfigOverrides;
import io.iotmeter.config.StartupException;
import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Builds the effective configuration, each layer overriding the one before:
 * {@code conf/default.yaml} → the profile's base profiles → {@code conf/<profile>.yaml} → the user's {@code --conf} file →
 * {@code IOT_*} environment variables → command-line options.
 */
public final class ConfigLoader {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ConfigLoader.class);

  /** Profiles that build on another: cluster nodes talk to the same servers as compose. */
  private static final Map<String, List<String>> PROFILE_BASES = Map.of("cluster", List.of("compose"));

  private ConfigLoader() {
  }

  public static Future<JsonObject> load(Vertx vertx, CommandLine cli, Map<String, String> env) {
    ConfigRetrieverOptions options = new ConfigRetrieverOptions()
        .setIncludeDefaultStores(false)
        .setScanPeriod(-1)
        .addStore(yaml("conf/default.yaml"));
    PROFILE_BASES.getOrDefault(cli.profile(), List.of()).forEach(base -> options.addStore(yaml("conf/" + base + ".yaml")));
    options.addStore(yaml("conf/" + cli.profile() + ".yaml"));
    if (cli.confFile().isPresent()) {
      Path file = Path.of(cli.confFile().get()).toAbsolutePath();
      if (!Files.isRegularFile(file)) {
        return Future.failedFuture(new StartupException("Configuration file not found: " + file));
      }
      options.addStore(yaml(file.toString()));
    }
    ConfigRetriever retriever = ConfigRetriever.create(vertx, options);
    return retriever.getConfig()
        .eventually(retriever::close)
        .recover(e -> Future.failedFuture(new StartupException("Cannot read configuration: " + e.getMessage(), e)))
        .map(config -> {
          List<String> unknown = ConfigOverrides.apply(config, env);
          unknown.forEach(variable -> LOG.warn("Environment variable {} matches no configuration key; ignored", variable));
          config.put("profile", cli.profile());
          config.put("roles", new io.vertx.core.json.JsonArray(new java.util.ArrayList<>(cli.roles())));
          cli.dataDir().ifPresent(dir -> config.put("data_dir", dir));
          config.put("data_dir", Path.of(config.getString("data_dir", "./data")).toAbsolutePath().normalize().toString());
          return config;
        });
  }

  private static ConfigStoreOptions yaml(String path) {
    return new ConfigStoreOptions().setType("file").setFormat("yaml")
        .setConfig(new JsonObject().put("path", path));
  }
}
