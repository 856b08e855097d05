package io.iotmeter.api;

import io.iotmeter.protocol.WireEnum;
import io.vertx.ext.web.RoutingContext;

import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Validation of path and query parameters. Identifiers are checked against their pattern
 * before any store sees them: a device id that could never have been registered is simply
 * unknown (404), whatever hostile text it carries.
 */
public final class Inputs {

  /**
   * Device ids appear in MQTT topics and object keys, so they exclude {@code / + #} and
   * whitespace: letters, digits, '.', '_' and '-', starting with a letter or digit.
   */
  public static final Pattern DEVICE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
  private static final Pattern POSITIVE_INT = Pattern.compile("[1-9][0-9]{0,9}");

  private Inputs() {
  }

  public static boolean isDeviceId(String text) {
    return text != null && DEVICE_ID.matcher(text).matches();
  }

  /** The {@code :id} path parameter; 404 when it cannot name a device. */
  public static String deviceIdParam(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    if (!isDeviceId(id)) {
      throw deviceNotFound(id);
    }
    return id;
  }

  public static ApiException deviceNotFound(String id) {
    return ApiException.notFound("Device not found: " + printable(id));
  }

  /** A positive integer path parameter (database ids); 404 with {@code notFound} otherwise. */
  public static int positiveIntParam(RoutingContext ctx, String name, String notFound) {
    String text = ctx.pathParam(name);
    if (text == null || !POSITIVE_INT.matcher(text).matches() || Long.parseLong(text) > Integer.MAX_VALUE) {
      throw ApiException.notFound(notFound);
    }
    return Integer.parseInt(text);
  }

  /** A UUID path parameter; 404 with {@code notFound} otherwise. */
  public static UUID uuidParam(RoutingContext ctx, String name, String notFound) {
    try {
      return UUID.fromString(ctx.pathParam(name));
    } catch (IllegalArgumentException | NullPointerException e) {
      throw ApiException.notFound(notFound);
    }
  }

  /** A query parameter given at most once, without control characters; empty when absent or blank. */
  public static Optional<String> query(RoutingContext ctx, String name, int maxLength) {
    List<String> values = ctx.queryParam(name);
    if (values.isEmpty() || values.get(0).isEmpty()) {
      return Optional.empty();
    }
    if (values.size() > 1) {
      throw ApiException.badRequest("Query parameter '" + name + "' given more than once");
    }
    String value = values.get(0);
    if (value.length() > maxLength) {
      throw ApiException.badRequest("Query parameter '" + name + "' must be at most " + maxLength + " characters");
    }
    if (value.chars().anyMatch(Character::isISOControl)) {
      throw ApiException.badRequest("Query parameter '" + name + "' contains control characters");
    }
    return Optional.of(value);
  }

  /** A whole-number query parameter within {@code min}..{@code max}; 400 naming the range otherwise. */
  public static Optional<Integer> queryInt(RoutingContext ctx, String name, int min, int max) {
    return query(ctx, name, 11).map(text -> {
      try {
        int value = Integer.parseInt(text);
        if (value >= min && value <= max) {
          return value;
        }
      } catch (NumberFormatException e) {
        // answered below
      }
      throw ApiException.badRequest("Query parameter '" + name + "' must be an integer from " + min + " to " + max
          + ", not '" + printable(text) + "'");
    });
  }

  /** A query parameter that must be one of an enum's words. */
  public static <E extends Enum<E>> Optional<E> queryEnum(RoutingContext ctx, String name, Class<E> type) {
    return query(ctx, name, 50).map(text -> parseEnum(name, text, type, "Query parameter"));
  }

  /** {@code true}/{@code false} query parameter. */
  public static Optional<Boolean> queryBoolean(RoutingContext ctx, String name) {
    return query(ctx, name, 10).map(text -> switch (text.toLowerCase(java.util.Locale.ROOT)) {
      case "true" -> true;
      case "false" -> false;
      default -> throw ApiException.badRequest("Query parameter '" + name + "' must be true or false, not '" + printable(text) + "'");
    });
  }

  /** Parses an enum word or fails with a 400 that names the field and the allowed words. */
  public static <E extends Enum<E>> E parseEnum(String field, String text, Class<E> type, String what) {
    return WireEnum.parse(type, text).orElseThrow(() -> ApiException.badRequest(
        what + " '" + field + "' must be one of " + WireEnum.words(type) + ", not '" + printable(text) + "'"));
  }

  /** Echoes client text in messages safely: short, without control characters. */
  public static String printable(String text) {
    if (text == null) {
      return "";
    }
    String clean = text.codePoints()
        .map(c -> Character.isISOControl(c) ? '?' : c)
        .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append)
        .toString();
    return clean.length() > 100 ? clean.substring(0, 100) + "…" : clean;
  }
}
