package io.iotmeter.ops;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.EncodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;

/**
 * A message body as JSON text for the tap. JSON bodies stay JSON (their binary fields, such
 * as MQTT payloads, are base64 already); a string becomes a JSON string; a buffer becomes its
 * text when it is UTF-8, else {@code {"base64": ...}} (URL-safe, unpadded); a failure reply becomes
 * {@code {"failure": {type, code, message}}}.
 *
 * <p>Secrets never show: the value of every field named like one ({@link #SECRET_FIELDS}: API
 * keys, device passwords, issued credentials, broker provisioning, tokens), at any depth, is
 * shown as {@value #MASK}.
 *
 * <p>A rendering over {@link #MAX_CHARS} is shortened, {@link #truncated()} set and the full
 * length kept: a telemetry datagram of 200 samples would otherwise fill a terminal and a
 * browser's memory. A JSON object first has its long strings cut (to {@link #MAX_FIELD_CHARS}
 * and an ellipsis), so that it stays an object whose small fields — device, topic, sequence —
 * remain readable next to the start of its payload; anything still too long becomes a JSON
 * string of its first {@link #MAX_CHARS} characters and an ellipsis.
 *
 * @param json   valid JSON text
 * @param length the length of the whole rendering, before any cut
 */
public record BodyText(String json, boolean truncated, int length) {

  public static final int MAX_CHARS = 4096;
  public static final int MAX_FIELD_CHARS = 256;
  /** The alphabet of Vert.x's JSON codec (URL-safe, unpadded), so all base64 on the tap reads alike. */
  private static final Base64.Encoder BASE64 = Base64.getUrlEncoder().withoutPadding();

  /** Fields whose value is a secret wherever they appear (bus catalogue: identity, bridge provisioning, commands). */
  static final java.util.Set<String> SECRET_FIELDS = java.util.Set.of("key", "api_key", "admin_key", "password", "secret",
      "secret_hash", "secret_key", "access_key", "token");
  static final String MASK = "***";

  public static BodyText of(Object body) {
    if (body instanceof io.iotmeter.bus.LocalBody local) {
      // A node-local object: shown in its catalogue shape (built only while someone taps).
      body = local.toJson();
    }
    if (body instanceof JsonObject || body instanceof JsonArray) {
      body = masked(body);
    }
    String json = encode(body);
    if (json.length() <= MAX_CHARS) {
      return new BodyText(json, false, json.length());
    }
    if (body instanceof JsonObject object) {
      String shortened = shortenStrings(object).encode();
      if (shortened.length() <= MAX_CHARS) {
        return new BodyText(shortened, true, json.length());
      }
    }
    return new BodyText(Json.encode(cut(json, MAX_CHARS)), true, json.length());
  }

  /** The JSON value with every secret field's value masked; the same instance when it holds none. */
  static Object masked(Object value) {
    if (value instanceof JsonObject object) {
      JsonObject copy = null;
      for (String name : object.fieldNames()) {
        Object field = object.getValue(name);
        Object shown = SECRET_FIELDS.contains(name.toLowerCase(Locale.ROOT)) && field != null ? MASK : masked(field);
        if (shown != field && copy == null) {
          copy = object.copy();
        }
        if (copy != null) {
          copy.put(name, shown);
        }
      }
      return copy == null ? object : copy;
    }
    if (value instanceof JsonArray array) {
      JsonArray copy = null;
      for (int i = 0; i < array.size(); i++) {
        Object item = array.getValue(i);
        Object shown = masked(item);
        if (shown != item && copy == null) {
          copy = array.copy();
        }
        if (copy != null) {
          copy.set(i, shown);
        }
      }
      return copy == null ? array : copy;
    }
    return value;
  }

  /** A copy whose top-level strings and binary fields (as base64) are cut to {@link #MAX_FIELD_CHARS}. */
  private static JsonObject shortenStrings(JsonObject object) {
    JsonObject copy = new JsonObject();
    for (String name : object.fieldNames()) {
      Object value = object.getValue(name);
      String text = value instanceof String string ? string
          : value instanceof byte[] || value instanceof Buffer ? BASE64.encodeToString(object.getBinary(name)) : null;
      copy.put(name, text != null && text.length() > MAX_FIELD_CHARS ? cut(text, MAX_FIELD_CHARS) : value);
    }
    return copy;
  }

  private static String cut(String text, int length) {
    int end = Character.isHighSurrogate(text.charAt(length - 1)) ? length - 1 : length;
    return text.substring(0, end) + "…";
  }

  private static String encode(Object body) {
    try {
      if (body == null) {
        return "null";
      } else if (body instanceof JsonObject object) {
        return object.encode();
      } else if (body instanceof JsonArray array) {
        return array.encode();
      } else if (body instanceof String || body instanceof Character) {
        return Json.encode(body.toString());
      } else if (body instanceof Boolean || body instanceof Integer || body instanceof Long
          || body instanceof Short || body instanceof Byte) {
        return body.toString();
      } else if (body instanceof Number number) {
        double value = number.doubleValue();
        return Double.isFinite(value) ? Json.encode(number) : Json.encode(number.toString());
      } else if (body instanceof Buffer buffer) {
        return bytes(buffer.getBytes());
      } else if (body instanceof byte[] bytes) {
        return bytes(bytes);
      } else if (body instanceof ReplyException failure) {
        return new JsonObject().put("failure", new JsonObject()
            .put("type", failure.failureType().name().toLowerCase(Locale.ROOT))
            .put("code", failure.failureCode())
            .put("message", failure.getMessage())).encode();
      }
    } catch (EncodeException e) {
      // A JSON object holding a value Jackson cannot write: fall through to its text.
    }
    return new JsonObject().put("class", body.getClass().getName()).put("text", String.valueOf(body)).encode();
  }

  private static String bytes(byte[] bytes) {
    try {
      return Json.encode(StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString());
    } catch (CharacterCodingException e) {
      return new JsonObject().put("base64", BASE64.encodeToString(bytes)).encode();
    }
  }
}
