package io.iotmeter.protocol;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The parameter rules of each command (protocol "Commands"): ranges of {@code update_config},
 * required fields of {@code start_ota}, no parameters for the others. A command a device would
 * reject is refused before it is stored.
 */
public final class CommandParams {

  /** {@code update_config} keys with their inclusive ranges. */
  public static final Map<String, long[]> CONFIG_RANGES = Map.of(
      "sampling_cadence_ms", new long[] {100, 60_000},
      "send_interval_s", new long[] {1, 3600},
      "hello_interval_s", new long[] {5, 3600});

  private static final Set<String> OTA_FIELDS = Set.of("fw_version", "fw_url", "fw_sha256", "fw_size_bytes");
  private static final Pattern SEMVER = Pattern.compile("\\d+\\.\\d+\\.\\d+([-+][0-9A-Za-z.+-]{1,40})?");
  private static final Pattern SHA256 = Pattern.compile("[0-9a-fA-F]{64}");
  private static final Pattern HOST = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.-]{0,252})");

  private CommandParams() {
  }

  /** Checks {@code params} for {@code cmd}; throws {@link InvalidCommandException} naming the field. */
  public static void validate(CommandName cmd, JsonObject params) {
    switch (cmd) {
      case UPDATE_CONFIG -> validateUpdateConfig(params);
      case START_OTA -> validateStartOta(params);
      case REBOOT, FACTORY_RESET, REQUEST_STATUS -> {
        if (!params.isEmpty()) {
          throw new InvalidCommandException("Command " + WireEnum.wire(cmd) + " takes no params, got "
              + params.fieldNames());
        }
      }
    }
  }

  private static void validateUpdateConfig(JsonObject params) {
    if (params.isEmpty()) {
      throw new InvalidCommandException("update_config needs at least one of params."
          + String.join(", params.", CONFIG_RANGES.keySet()) + ", params.brokers");
    }
    for (String key : params.fieldNames()) {
      Object value = params.getValue(key);
      if (key.equals("brokers")) {
        validateBrokers(value);
      } else if (CONFIG_RANGES.containsKey(key)) {
        long[] range = CONFIG_RANGES.get(key);
        if (!isWholeNumber(value) || ((Number) value).longValue() < range[0] || ((Number) value).longValue() > range[1]) {
          throw new InvalidCommandException("params." + key + " must be an integer from " + range[0] + " to " + range[1]);
        }
      } else {
        throw new InvalidCommandException("params." + key + " is not a setting of update_config (known: "
            + String.join(", ", CONFIG_RANGES.keySet()) + ", brokers)");
      }
    }
  }

  private static void validateBrokers(Object value) {
    if (!(value instanceof JsonArray brokers) || brokers.isEmpty() || brokers.size() > 5) {
      throw new InvalidCommandException("params.brokers must be a list of 1 to 5 {\"host\", \"port\"} objects");
    }
    for (int i = 0; i < brokers.size(); i++) {
      String field = "params.brokers[" + i + "]";
      if (!(brokers.getValue(i) instanceof JsonObject broker)) {
        throw new InvalidCommandException(field + " must be an object {\"host\", \"port\"}");
      }
      if (!(broker.getValue("host") instanceof String host) || !HOST.matcher(host).matches()) {
        throw new InvalidCommandException(field + ".host must be a host name or address");
      }
      Object port = broker.getValue("port");
      if (!isWholeNumber(port) || ((Number) port).longValue() < 1 || ((Number) port).longValue() > 65535) {
        throw new InvalidCommandException(field + ".port must be an integer from 1 to 65535");
      }
    }
  }

  private static void validateStartOta(JsonObject params) {
    for (String field : OTA_FIELDS) {
      if (params.getValue(field) == null) {
        throw new InvalidCommandException("start_ota needs params." + field);
      }
    }
    for (String key : params.fieldNames()) {
      if (!OTA_FIELDS.contains(key)) {
        throw new InvalidCommandException("params." + key + " is not a parameter of start_ota (known: "
            + String.join(", ", OTA_FIELDS) + ")");
      }
    }
    if (!(params.getValue("fw_version") instanceof String v) || !SEMVER.matcher(v).matches()) {
      throw new InvalidCommandException("params.fw_version must be a semantic version such as 2.1.0");
    }
    if (!(params.getValue("fw_url") instanceof String url) || !isHttpUrl(url)) {
      throw new InvalidCommandException("params.fw_url must be an http or https URL");
    }
    if (!(params.getValue("fw_sha256") instanceof String sha) || !SHA256.matcher(sha).matches()) {
      throw new InvalidCommandException("params.fw_sha256 must be 64 hexadecimal characters");
    }
    Object size = params.getValue("fw_size_bytes");
    if (!isWholeNumber(size) || ((Number) size).longValue() < 1) {
      throw new InvalidCommandException("params.fw_size_bytes must be a positive integer");
    }
  }

  private static boolean isHttpUrl(String text) {
    try {
      java.net.URI uri = new java.net.URI(text);
      return ("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) && uri.getHost() != null
          && text.length() <= 2048;
    } catch (java.net.URISyntaxException e) {
      return false;
    }
  }

  private static boolean isWholeNumber(Object value) {
    if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
      return true;
    }
    if (value instanceof java.math.BigInteger) {
      return false; // beyond any range we accept
    }
    return value instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue()) && !Double.isInfinite(n.doubleValue());
  }
}
