package io.iotmeter.api;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.Map;

/**
 * Reads request bodies and their fields, turning every kind of bad input into a 400 whose
 * message names the field. PostgreSQL cannot store the NUL character in text or JSONB, so
 * strings containing it are refused here rather than failing later as a 500.
 */
public final class JsonInput {

  private final JsonObject body;

  private JsonInput(JsonObject body) {
    this.body = body;
  }

  /** A body that arrived as JSON already (a request over the event bus). */
  public static JsonInput of(JsonObject body) {
    return new JsonInput(body);
  }

  /** The request body as a JSON object; an empty body counts as {@code {}} when allowed. */
  public static JsonInput of(RoutingContext ctx, boolean emptyAllowed) {
    Buffer raw = ctx.body().buffer();
    if (raw == null || raw.length() == 0 || raw.toString().isBlank()) {
      if (emptyAllowed) {
        return new JsonInput(new JsonObject());
      }
      throw ApiException.badRequest("Request body must be a JSON object");
    }
    Object parsed;
    try {
      parsed = raw.toJsonValue();
    } catch (DecodeException e) {
      throw ApiException.badRequest("Malformed JSON body: " + firstLine(e.getMessage()));
    }
    if (!(parsed instanceof JsonObject object)) {
      throw ApiException.badRequest("Request body must be a JSON object");
    }
    return new JsonInput(object);
  }

  public boolean has(String field) {
    return body.containsKey(field);
  }

  /** A required, non-blank string of at most {@code maxLength} characters. */
  public String requiredString(String field, int maxLength) {
    if (!body.containsKey(field) || body.getValue(field) == null) {
      throw ApiException.badRequest("Missing required field: " + field);
    }
    String value = optionalString(field, maxLength);
    if (value.isBlank()) {
      throw ApiException.badRequest("Field '" + field + "' must not be empty");
    }
    return value;
  }

  /** A string of at most {@code maxLength} characters, or null when absent or null. */
  public String optionalString(String field, int maxLength) {
    Object value = body.getValue(field);
    if (value == null) {
      return null;
    }
    if (!(value instanceof String text)) {
      throw ApiException.badRequest("Field '" + field + "' must be a string");
    }
    if (text.length() > maxLength) {
      throw ApiException.badRequest("Field '" + field + "' must be at most " + maxLength + " characters");
    }
    rejectNul(field, text);
    return text;
  }

  /** A JSON object, or null when absent or null. */
  public JsonObject optionalObject(String field) {
    Object value = body.getValue(field);
    if (value == null) {
      return null;
    }
    if (!(value instanceof JsonObject object)) {
      throw ApiException.badRequest("Field '" + field + "' must be a JSON object");
    }
    rejectNulDeep(field, object);
    return object;
  }

  static void rejectNul(String field, String text) {
    if (text.indexOf('\u0000') >= 0) {
      throw ApiException.badRequest("Field '" + field + "' must not contain NUL characters");
    }
  }

  private static void rejectNulDeep(String field, Object value) {
    if (value instanceof String text) {
      rejectNul(field, text);
    } else if (value instanceof JsonObject object) {
      for (Map.Entry<String, Object> entry : object) {
        rejectNul(field, entry.getKey());
        rejectNulDeep(field, entry.getValue());
      }
    } else if (value instanceof JsonArray array) {
      array.forEach(item -> rejectNulDeep(field, item));
    }
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "not valid JSON";
    }
    int newline = message.indexOf('\n');
    String line = newline < 0 ? message : message.substring(0, newline);
    return line.length() > 200 ? line.substring(0, 200) : line;
  }
}
