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
      "s3.secret_key", "minioadmin123",
      "timeseries.influxdb.token", "iot-admin-token-secret-12345",
      "mqtt_bridge.password", "iot-platform-password");

  private DefaultSecrets() {
  }

  /** The settings that hold a well-known password and are in use; empty when none (or allowed). */
  public static List<String> found(JsonObject config) {
    if (config.getJsonObject("security", new JsonObject()).getBoolean("allow_default_secrets", false)) {
      return List.of();
    }
    List<String> found = new ArrayList<>();
    KNOWN.forEach((key, value) -> {
      if (value.equals(value(config, key)) && inUse(config, key)) {
        found.add(key);
      }
    });
    found.sort(String::compareTo);
    return found;
  }

  private static boolean inUse(JsonObject config, String key) {
    JsonObject deploy = config.getJsonObject("deploy", new JsonObject());
    return switch (key) {
      case "postgres.password" -> !config.getJsonObject("postgres", new JsonObject()).getBoolean("embedded", false);
      case "s3.secret_key" -> !config.getJsonObject("s3", new JsonObject()).getBoolean("embedded", false);
      case "timeseries.influxdb.token" -> "influxdb".equals(config.getJsonObject("timeseries", new JsonObject()).getString("store"));
      case "mqtt_bridge.password" -> deploy.getInteger("mqtt_bridge", 0) > 0;
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
