package io.iotmeter.security;

import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The reference deployment's well-known passwords. A platform that uses one of them against a
 * real server (anything but the embedded ones, which listen on 127.0.0.1 only) refuses to start,
 * unless {@code security.allow_default_secrets: true} says this is a development setup.
 */
public final class DefaultSecrets {

  /** Setting → the well-known value, where the setting is in use (see {@link #inUse}). */
  private static final Map<String, String> KNOWN = Map.of(
      "postgres.password", "iot_password",
      "s3.access_key", "minioadmin",
      "s3.secret_key", "minioadmin123",
      "timeseries.questdb.password", "quest",
      "timeseries.influxdb.token", "iot-admin-token-secret-12345",
      "mqtt_bridge.password", "iot-platform-password",
      // k8s/platform/secrets.yaml's development cluster secret
      "cluster.secret", "iot-dev-cluster-secret-change-me",
      // docker/docker-compose.yml's development admin key (shared with its simulator service)
      "security.admin_key", "iot-dev-admin-key-change-me-0123");

  private DefaultSecrets() {
  }

  /** Like {@link #found(JsonObject, java.util.function.Predicate)} for a node that deploys everything its configuration lists. */
  public static List<String> found(JsonObject config) {
    JsonObject deploy = config.getJsonObject("deploy", new JsonObject());
    return found(config, name -> deploy.getInteger(name, 0) > 0);
  }

  /**
   * The settings that hold a well-known password and that this node uses; empty when none (or
   * allowed). {@code deploys} tells whether the node runs a verticle (by its configuration name):
   * a simulator-only node uses no store.
   */
  public static List<String> found(JsonObject config, java.util.function.Predicate<String> deploys) {
    if (config.getJsonObject("security", new JsonObject()).getBoolean("allow_default_secrets", false)) {
      return List.of();
    }
    List<String> found = new ArrayList<>();
    KNOWN.forEach((key, value) -> {
      if (value.equals(value(config, key)) && inUse(config, key, deploys)) {
        found.add(key);
      }
    });
    found.sort(String::compareTo);
    return found;
  }

  private static boolean inUse(JsonObject config, String key, java.util.function.Predicate<String> deploys) {
    boolean registry = java.util.stream.Stream.of("intake", "registry_sink", "lifecycle", "identity", "api", "archive_sink",
        "timeseries_sink").anyMatch(deploys);
    return switch (key) {
      case "postgres.password" -> registry && !config.getJsonObject("postgres", new JsonObject()).getBoolean("embedded", false);
      case "s3.access_key", "s3.secret_key" -> (deploys.test("archive_sink") || deploys.test("api"))
          && !config.getJsonObject("s3", new JsonObject()).getBoolean("embedded", false);
      case "timeseries.questdb.password" -> (deploys.test("timeseries_sink") || deploys.test("api"))
          && "questdb".equals(config.getJsonObject("timeseries", new JsonObject()).getString("store"))
          && !config.getJsonObject("timeseries", new JsonObject()).getBoolean("embedded", false);
      case "timeseries.influxdb.token" -> (deploys.test("timeseries_sink") || deploys.test("api"))
          && "influxdb".equals(config.getJsonObject("timeseries", new JsonObject()).getString("store"));
      case "mqtt_bridge.password" -> deploys.test("mqtt_bridge");
      case "security.admin_key" -> deploys.test("identity");
      case "cluster.secret" -> config.getJsonObject("cluster", new JsonObject()).getBoolean("enabled", false);
      default -> true;
    };
  }

  private static String value(JsonObject config, String dottedKey) {
    String[] path = dottedKey.split("\\.");
    JsonObject node = config;
    for (int i = 0; i < path.length - 1; i++) {
      node = node.getJsonObject(path[i], new JsonObject());
    }
    Object value = node.getValue(path[path.length - 1]);
    return value == null ? null : String.valueOf(value);
  }
}
