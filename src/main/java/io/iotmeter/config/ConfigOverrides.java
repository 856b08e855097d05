package io.iotmeter.config;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Environment-variable overrides, by one rule: every configuration key can be set as
 * {@code IOT_} + its path in upper case with {@code _} between the levels —
 * {@code http.port} is {@code IOT_HTTP_PORT}, {@code postgres.pool_size} is
 * {@code IOT_POSTGRES_POOL_SIZE}.
 *
 * <p>The variable's text is converted to the type the key has in the defaults (so a
 * password "12345" stays a string and a port "8081" becomes a number); lists and objects
 * are given as JSON. A variable that names no key is reported, not silently ignored.
 */
public final class ConfigOverrides {

  public static final String PREFIX = "IOT_";

  /** Variables read by the launcher itself rather than mapped onto a key. */
  private static final List<String> LAUNCHER_VARIABLES = List.of("IOT_PROFILE", "IOT_CONF");

  private ConfigOverrides() {
  }

  /** The environment variable that overrides {@code dottedKey}. */
  public static String envName(String dottedKey) {
    return PREFIX + dottedKey.replace('.', '_').toUpperCase(java.util.Locale.ROOT);
  }

  /** Every leaf key of {@code config} with its environment variable name, sorted. */
  public static Map<String, String> variables(JsonObject config) {
    Map<String, String> names = new TreeMap<>();
    collectLeaves(config, "", names);
    return names;
  }

  /**
   * Applies the {@code IOT_*} entries of {@code env} to {@code config} (in place).
   *
   * @return the variables that matched no key (to be reported by the caller)
   */
  public static List<String> apply(JsonObject config, Map<String, String> env) {
    Map<String, String> byVariable = new TreeMap<>();
    variables(config).forEach((key, variable) -> byVariable.put(variable, key));
    List<String> unknown = new ArrayList<>();
    new TreeMap<>(env).forEach((variable, text) -> {
      if (!variable.startsWith(PREFIX) || LAUNCHER_VARIABLES.contains(variable)) {
        return;
      }
      String key = byVariable.get(variable);
      if (key == null) {
        unknown.add(variable);
      } else {
        set(config, key, text, variable);
      }
    });
    return unknown;
  }

  /** Sets {@code dottedKey} to {@code text}, converted to the type of the current value. */
  public static void set(JsonObject config, String dottedKey, String text, String source) {
    String[] path = dottedKey.split("\\.");
    JsonObject parent = config;
    for (int i = 0; i < path.length - 1; i++) {
      JsonObject next = parent.getJsonObject(path[i]);
      if (next == null) {
        next = new JsonObject();
        parent.put(path[i], next);
      }
      parent = next;
    }
    String leaf = path[path.length - 1];
    parent.put(leaf, convert(parent.getValue(leaf), text, source));
  }

  private static Object convert(Object current, String text, String source) {
    try {
      if (current instanceof Boolean) {
        if (!text.equalsIgnoreCase("true") && !text.equalsIgnoreCase("false")) {
          throw new IllegalArgumentException("expected true or false");
        }
        return Boolean.parseBoolean(text);
      }
      if (current instanceof Integer || current instanceof Long) {
        return Long.parseLong(text.trim());
      }
      if (current instanceof Number) {
        return Double.parseDouble(text.trim());
      }
      if (current instanceof JsonArray) {
        return new JsonArray(text);
      }
      if (current instanceof JsonObject) {
        return new JsonObject(text);
      }
      return text;
    } catch (IllegalArgumentException | DecodeException e) {
      throw new StartupException("Invalid value for " + source + ": '" + text + "' ("
          + e.getMessage() + ")");
    }
  }

  private static void collectLeaves(JsonObject object, String prefix, Map<String, String> into) {
    for (String field : object.fieldNames()) {
      Object value = object.getValue(field);
      String key = prefix.isEmpty() ? field : prefix + "." + field;
      if (value instanceof JsonObject nested && !nested.isEmpty()) {
        collectLeaves(nested, key, into);
      } else {
        into.put(key, envName(key));
      }
    }
  }
}
