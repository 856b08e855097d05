package io.iotmeter.boot;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Locale;
import java.util.regex.Pattern;

/** A copy of the configuration fit for logs: values of secret-looking keys become "****". */
public final class SecretMasker {

  private static final Pattern SECRET_KEY = Pattern.compile(".*(password|secret|token|credential|access_key|admin_key|api_key).*");

  private SecretMasker() {
  }

  public static JsonObject mask(JsonObject config) {
    JsonObject copy = new JsonObject();
    config.forEach(entry -> copy.put(entry.getKey(), mask(entry.getKey(), entry.getValue())));
    return copy;
  }

  private static Object mask(String key, Object value) {
    if (value instanceof JsonObject object) {
      return mask(object);
    }
    if (value instanceof JsonArray array) {
      JsonArray copy = new JsonArray();
      array.forEach(item -> copy.add(mask(key, item)));
      return copy;
    }
    if (value != null && SECRET_KEY.matcher(key.toLowerCase(Locale.ROOT)).matches()) {
      return "****";
    }
    return value;
  }
}
