package io.iotmeter.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One section of the configuration over its defaults, for the typed settings records each
 * verticle reads once at start. The defaults live in one place only, {@code conf/default.yaml}:
 * a section given in part (a test's few keys, an old configuration file) is completed from it,
 * so no code carries a default of its own. A key missing from both, or a value of the wrong
 * type, is a {@link StartupException} naming the setting — never a {@code NullPointerException}
 * or a silently different default.
 */
public final class Settings {

  private static final JsonObject DEFAULTS = loadDefaults();

  private final String path;
  private final JsonObject values;

  private Settings(String path, JsonObject values) {
    this.path = path;
    this.values = values;
  }

  /** {@code conf/default.yaml} as the launcher reads it first (a copy). */
  public static JsonObject defaults() {
    return DEFAULTS.copy();
  }

  /** The section at {@code path} (dotted, e.g. {@code sinks.archive}) of the whole configuration {@code config}. */
  public static Settings of(JsonObject config, String path) {
    JsonObject section = config;
    for (String key : path.split("\\.")) {
      section = section == null ? null : section.getJsonObject(key);
    }
    return section(path, section);
  }

  /** {@code section}, the configuration's section at {@code path} (null: none given), over its defaults. */
  public static Settings section(String path, JsonObject section) {
    JsonObject defaults = DEFAULTS;
    for (String key : path.split("\\.")) {
      defaults = defaults == null ? null : defaults.getJsonObject(key);
    }
    JsonObject merged = defaults == null ? new JsonObject() : defaults.copy();
    if (section != null) {
      merge(merged, section);
    }
    return new Settings(path, merged);
  }

  /** {@code over} onto {@code base}, section by section; a key given as null (YAML {@code key:}) keeps its default. */
  private static void merge(JsonObject base, JsonObject over) {
    over.forEach(entry -> {
      Object value = entry.getValue();
      if (value instanceof java.util.Map<?, ?> map) {
        value = new JsonObject(new java.util.LinkedHashMap<>(castMap(map)));
      }
      if (value == null) {
        return;
      }
      if (value instanceof JsonObject nested && base.getValue(entry.getKey()) instanceof JsonObject kept) {
        JsonObject copy = kept.copy();
        merge(copy, nested);
        base.put(entry.getKey(), copy);
      } else {
        base.put(entry.getKey(), value);
      }
    });
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> castMap(Map<?, ?> map) {
    return (Map<String, Object>) map;
  }

  /** A sub-section, e.g. {@code tls}. */
  public Settings section(String key) {
    Object value = values.getValue(key);
    if (value != null && !(value instanceof JsonObject)) {
      throw wrong(key, "a section", value);
    }
    return new Settings(path + "." + key, value == null ? new JsonObject() : (JsonObject) value);
  }

  /** The section's values, defaults included (for code that passes a section on as JSON). */
  public JsonObject json() {
    return values.copy();
  }

  public String path() {
    return path;
  }

  public int integer(String key) {
    long value = whole(key);
    if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
      throw wrong(key, "a whole number from " + Integer.MIN_VALUE + " to " + Integer.MAX_VALUE, value);
    }
    return (int) value;
  }

  public long whole(String key) {
    Object value = required(key);
    if (value instanceof Integer || value instanceof Long) {
      return ((Number) value).longValue();
    }
    throw wrong(key, "a whole number", value);
  }

  public double number(String key) {
    Object value = required(key);
    if (value instanceof Number n && Double.isFinite(n.doubleValue())) {
      return n.doubleValue();
    }
    throw wrong(key, "a number", value);
  }

  public boolean flag(String key) {
    Object value = required(key);
    if (value instanceof Boolean b) {
      return b;
    }
    throw wrong(key, "true or false", value);
  }

  public String text(String key) {
    Object value = required(key);
    if (value instanceof String s) {
      return s;
    }
    if (value instanceof Number || value instanceof Boolean) {
      return String.valueOf(value); // a YAML password of digits, unquoted
    }
    throw wrong(key, "a text", value);
  }

  public List<String> texts(String key) {
    Object value = required(key);
    if (value instanceof JsonArray array) {
      return array.stream().map(String::valueOf).toList();
    }
    throw wrong(key, "a list", value);
  }

  public Duration millis(String key) {
    return Duration.ofMillis(whole(key));
  }

  public Duration seconds(String key) {
    return Duration.ofSeconds(whole(key));
  }

  private Object required(String key) {
    Object value = values.getValue(key);
    if (value == null) {
      throw new StartupException("Setting " + path + "." + key + " is missing (and has no default in conf/default.yaml)");
    }
    return value;
  }

  private StartupException wrong(String key, String expected, Object value) {
    return new StartupException("Setting " + path + "." + key + " must be " + expected + ", not " + abbreviate(value)
        + " (set as " + ConfigOverrides.envName(path + "." + key) + " or in a configuration file)");
  }

  private static String abbreviate(Object value) {
    String text = value instanceof JsonObject || value instanceof JsonArray ? value.toString() : "'" + value + "'";
    return text.length() > 60 ? text.substring(0, 60) + "…" : text;
  }

  @SuppressWarnings("unchecked")
  private static JsonObject loadDefaults() {
    try (InputStream in = Settings.class.getClassLoader().getResourceAsStream("conf/default.yaml")) {
      if (in == null) {
        throw new IllegalStateException("conf/default.yaml is not on the class path");
      }
      Map<String, Object> yaml = new Yaml(new SafeConstructor(new LoaderOptions())).load(in);
      // Through JSON text, so that nested maps and lists become JsonObject and JsonArray throughout.
      return new JsonObject(JsonObject.mapFrom(yaml).encode());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
