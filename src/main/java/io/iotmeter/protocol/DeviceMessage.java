package io.iotmeter.protocol;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A validated device → platform message (protocol v2, or a legacy v1 telemetry payload).
 * {@link #parse} checks everything the protocol prescribes for the topic's category and
 * throws {@link MalformedMessageException} with the error type it is counted under.
 *
 * @param seq     the per-device counter; null for status messages and v1 payloads
 * @param ts      when the device created the message ({@code ts}, or {@code timestamp} in v1)
 * @param payload the message as received, parsed, for the consumers that read its fields; null for
 *                telemetry, whose measurements hold all of it (a message waiting in the sinks'
 *                buffers then costs its measurements, not a map per sample: ten times less heap)
 * @param deviceIdMismatch the payload names another device than the topic (the topic wins;
 *                counted, never trusted — protocol "Topics")
 * @param measurements the samples of a telemetry message, validated and converted once, here
 *                (v1 payloads mapped as the protocol says); empty for the other categories
 */
public record DeviceMessage(DeviceTopic topic, int version, Long seq, Instant ts, JsonObject payload,
                            boolean deviceIdMismatch, List<Measurement> measurements) {

  /** seq wraps after 2^32 − 1 (protocol "Common envelope"). */
  public static final long MAX_SEQ = 0xFFFF_FFFFL;
  public static final int MAX_MEASUREMENTS = 200;
  /**
   * The largest magnitude a measured value may have. No meter measures more (a traction supply is
   * about 10^4 V and 10^4 A), and it keeps every value derived from it finite: S = V·I and
   * P = V·I·PF stay below 10^45, S² below 10^90 — far from a double's 1.8·10^308.
   */
  public static final double MAX_MAGNITUDE = 1e15;
  /** A hello's {@code uptime_s} (a 32-bit counter of seconds is 136 years). */
  public static final long MAX_UPTIME_S = 0xFFFF_FFFFL;
  private static final Instant EARLIEST = Instant.parse("1678-01-01T00:00:00Z");
  /** The last instant of 2261: the protocol refuses a time "after 2261", so 23:59:59.5 that day is still taken. */
  private static final Instant LATEST = Instant.parse("2261-12-31T23:59:59.999999999Z");

  /** Metric names: what both time-series stores take as a tag value and a query parameter, as is. */
  public static final Pattern MEASUREMENT_TYPE = Pattern.compile("[A-Za-z][A-Za-z0-9_]{0,63}");
  /**
   * Units: 1 to 16 letters, digits, punctuation or symbols ({@code V}, {@code m/s²}, {@code °C},
   * {@code %}) — no spaces, control or format characters, no lone surrogates, which a store would
   * refuse or change. An empty unit means none.
   */
  private static final Pattern UNIT = Pattern.compile("[\\p{L}\\p{N}\\p{P}\\p{S}]{1,16}");
  private static final Set<String> V1_ENVELOPE = Set.of("timestamp", "device_id", "v", "unit");
  private static final Set<String> ACK_RESULTS = Set.of("accepted", "rejected", "error", "unsupported");
  private static final Set<String> OTA_STATES = Set.of("downloading", "verifying", "applying", "success", "failed");

  public String deviceId() {
    return topic.deviceId();
  }

  public Category category() {
    return topic.category();
  }

  /** Heap a parsed measurement holds, about (the record, its Instant; names are shared), for buffer bounds. */
  public static final int MEASUREMENT_BYTES = 96;

  public boolean isLegacy() {
    return version == 1;
  }

  /** Parses and validates a payload received on {@code topicText}. */
  public static DeviceMessage parse(String topicText, byte[] payloadBytes) {
    DeviceTopic topic = DeviceTopic.parse(topicText).orElseThrow(() -> new MalformedMessageException(
        MalformedMessageException.INVALID_TOPIC, "Not a device topic (iot/{device_id}/telemetry, hello, status, command/ack"
            + " or ota/status; a device_id of 1 to 100 letters, digits, '.', '_' or '-', first a letter or digit): "
            + abbreviate(String.valueOf(topicText), 200)));
    if (topic.category() == Category.TELEMETRY) {
      // Nearly every message: read by the streaming parser, without a tree, when it is the usual form.
      DeviceMessage usual = TelemetryReader.read(topic, payloadBytes);
      if (usual != null) {
        return usual;
      }
    }
    return parseGeneral(topic, payloadBytes);
  }

  /**
   * Parses any payload through a JSON tree: everything {@link TelemetryReader} leaves to it, and
   * every error's wording.
   */
  static DeviceMessage parseGeneral(DeviceTopic topic, byte[] payloadBytes) {
    JsonObject json = decode(payloadBytes);
    Object v = json.getValue("v");
    // A v1 payload has no seq, and may name its version (protocol "Version 1 payloads": v is one of its envelope keys).
    if (topic.category() == Category.TELEMETRY && !json.containsKey("seq") && (!json.containsKey("v") || isInteger(v, 1))) {
      return parseLegacy(topic, json);
    }
    if (!isInteger(v, 2)) {
      throw invalid("field 'v' must be 2");
    }
    Instant ts = instant(json, "ts");
    boolean mismatch = json.containsKey("device_id") && !topic.deviceId().equals(json.getValue("device_id"));
    if (topic.category() == Category.STATUS) {
      requireOneOf(json, "status", Set.of("online", "offline"));
      return new DeviceMessage(topic, 2, null, ts, json, mismatch, List.of());
    }
    long seq = wholeNumber(json, "seq", 0, MAX_SEQ);
    Object msgType = json.getValue("msg_type");
    if (msgType != null && !topic.category().categoryName().equals(msgType)) {
      throw invalid("field 'msg_type' is '" + abbreviate(String.valueOf(msgType)) + "' on a " + topic.category().categoryName() + " topic");
    }
    List<Measurement> measurements = List.of();
    switch (topic.category()) {
      case TELEMETRY -> measurements = List.copyOf(measurementsOf(json));
      case HELLO -> {
        requireString(json, "fw_version", 50);
        wholeNumber(json, "uptime_s", 0, MAX_UPTIME_S);
        wholeNumber(json, "broker_connections", 0, 100);
        number(json, "buf_usage_pct", 0, 100);
        if (json.getValue("temp_internal") != null) {
          number(json, "temp_internal", -273, 1000);
        }
      }
      case COMMAND_ACK -> {
        requireString(json, "cmd_id", 64);
        requireOneOf(json, "result", ACK_RESULTS);
        optionalString(json, "detail", 4000);
      }
      case OTA_STATUS -> {
        requireString(json, "cmd_id", 64);
        requireOneOf(json, "ota_state", OTA_STATES);
        number(json, "progress_pct", 0, 100);
        optionalString(json, "fw_version_target", 50);
        optionalString(json, "detail", 4000);
      }
      default -> throw new IllegalStateException(topic.category().toString());
    }
    return new DeviceMessage(topic, 2, seq, ts, topic.category() == Category.TELEMETRY ? null : json, mismatch, measurements);
  }

  /**
   * The samples of a v1 payload, as the protocol maps them: each numeric field except the
   * envelope keys becomes one measurement named after the field, stamped with
   * {@code timestamp}; a {@code unit} field applies to them.
   */
  private static List<Measurement> legacyMeasurements(Instant ts, JsonObject payload) {
    List<Measurement> list = new ArrayList<>();
    String unit = unitOf(payload.getValue("unit"), "unit");
    for (String field : payload.fieldNames()) {
      if (!V1_ENVELOPE.contains(field) && payload.getValue(field) instanceof Number n) {
        list.add(new Measurement(ts, Names.SHARED.canonical(field), n.doubleValue(), Names.SHARED.canonical(unit)));
      }
    }
    return List.copyOf(list);
  }

  private static List<Measurement> measurementsOf(JsonObject json) {
    if (!(json.getValue("measurements") instanceof JsonArray array)) {
      throw invalid("field 'measurements' must be an array");
    }
    if (array.size() > MAX_MEASUREMENTS) {
      throw invalid("field 'measurements' holds " + array.size() + " entries (at most " + MAX_MEASUREMENTS + ")");
    }
    List<Measurement> list = new ArrayList<>(array.size());
    for (int i = 0; i < array.size(); i++) {
      if (!(array.getValue(i) instanceof JsonObject m)) {
        throw invalid("measurements[" + i + "] must be an object");
      }
      String where = "measurements[" + i + "].";
      if (!m.containsKey("type") && m.containsKey("n")) {
        list.add(senml(m, where, json));
        continue;
      }
      if (!(m.getValue("type") instanceof String type) || !isMetricName(type)) {
        throw invalid(where + "type must be a measurement name");
      }
      if (!(m.getValue("val") instanceof Number val) || !storable(val)) {
        throw invalid(where + "val must be a number of magnitude at most " + MAX_MAGNITUDE);
      }
      String unit = unitOf(m.getValue("unit"), where + "unit");
      list.add(new Measurement(instant(m, "ts", where + "ts"), Names.SHARED.canonical(type), val.doubleValue(), Names.SHARED.canonical(unit)));
    }
    return list;
  }

  /** SenML's boundary between relative and absolute times (RFC 8428, 4.5.3): 2^28 seconds. */
  private static final double SENML_ABSOLUTE = 268_435_456;

  /**
   * A measurement in SenML form (RFC 8428: {@code n} name, {@code v} value, {@code u} unit,
   * {@code t} time), as the reference's example client sends them: the same measurement as
   * {@code type}, {@code val}, {@code unit}, {@code ts}. {@code t} is seconds since 1970 from
   * 2^28 on; below that (or absent) it is relative to the message's {@code ts}.
   */
  private static Measurement senml(JsonObject m, String where, JsonObject message) {
    if (!(m.getValue("n") instanceof String name) || !isMetricName(name)) {
      throw invalid(where + "n must be a measurement name");
    }
    if (!(m.getValue("v") instanceof Number v) || !storable(v)) {
      throw invalid(where + "v must be a number of magnitude at most " + MAX_MAGNITUDE);
    }
    String unit = unitOf(m.getValue("u"), where + "u");
    Object t = m.getValue("t");
    if (t != null && !(t instanceof Number)) {
      throw invalid(where + "t must be a number of seconds");
    }
    double seconds = t == null ? 0 : ((Number) t).doubleValue();
    if (!Double.isFinite(seconds) || Math.abs(seconds) > 1e11) {
      throw invalid(where + "t must be a number of seconds since 1970 (or relative to ts)");
    }
    long nanos = Math.round((seconds - Math.floor(seconds)) * 1e9);
    Instant time = seconds >= SENML_ABSOLUTE
        ? Instant.ofEpochSecond((long) Math.floor(seconds), nanos)
        : instant(message, "ts").plusSeconds((long) Math.floor(seconds)).plusNanos(nanos);
    if (time.isBefore(EARLIEST) || time.isAfter(LATEST)) {
      throw invalid(where + "t is outside the years 1678 to 2261");
    }
    return new Measurement(time, Names.SHARED.canonical(name), v.doubleValue(), Names.SHARED.canonical(unit));
  }

  private static DeviceMessage parseLegacy(DeviceTopic topic, JsonObject json) {
    Instant ts = instant(json, "timestamp");
    boolean mismatch = json.containsKey("device_id") && !topic.deviceId().equals(json.getValue("device_id"));
    unitOf(json.getValue("unit"), "unit");
    boolean anyNumber = false;
    for (String field : json.fieldNames()) {
      // Every numeric field becomes a metric of that name: it must be one the stores take.
      if (!V1_ENVELOPE.contains(field) && json.getValue(field) instanceof Number n) {
        if (!isMetricName(field)) {
          throw invalid("v1 field '" + abbreviate(field) + "' is no metric name (a letter, then up to 63 letters, digits or '_')");
        }
        if (!storable(n)) {
          throw invalid("v1 field '" + field + "' must be a number of magnitude at most " + MAX_MAGNITUDE);
        }
        anyNumber = true;
      }
    }
    if (!anyNumber) {
      throw invalid("a v1 payload needs at least one numeric field");
    }
    return new DeviceMessage(topic, 1, null, ts, null, mismatch, legacyMeasurements(ts, json));
  }

  private static JsonObject decode(byte[] bytes) {
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      throw new MalformedMessageException(MalformedMessageException.JSON_DECODE, "Payload is not UTF-8");
    }
    // PostgreSQL cannot store NUL in text; such a payload is refused here, not by a failing batch.
    if (text.indexOf('\u0000') >= 0 || hasNulEscape(text)) {
      throw invalid("payload contains NUL characters");
    }
    try {
      return new JsonObject(text);
    } catch (DecodeException | ClassCastException e) {
      throw new MalformedMessageException(MalformedMessageException.JSON_DECODE, "Payload is not a JSON object");
    }
  }

  /**
   * Whether the JSON text holds the NUL escape (backslash, u, 0000): a backslash that is not itself escaped
   * (an odd number of them) before {@code u0000}. The text {@code \\u0000} is a backslash and
   * the letters {@code u0000} — no NUL, nothing PostgreSQL would refuse.
   */
  private static boolean hasNulEscape(String text) {
    for (int at = text.indexOf("\\u0000"); at >= 0; at = text.indexOf("\\u0000", at + 1)) {
      int backslashes = 0;
      for (int i = at; i >= 0 && text.charAt(i) == '\\'; i--) {
        backslashes++;
      }
      if (backslashes % 2 == 1) {
        return true;
      }
    }
    return false;
  }

  /** A finite number the stores can hold and every derived value stays finite with (see {@link #MAX_MAGNITUDE}). */
  private static boolean storable(Number n) {
    double value = n.doubleValue();
    return Double.isFinite(value) && Math.abs(value) <= MAX_MAGNITUDE;
  }

  /** A measurement's unit: null when absent or empty; otherwise it must match {@link #UNIT}. */
  private static String unitOf(Object unit, String name) {
    if (unit == null || "".equals(unit)) {
      return null;
    }
    if (!(unit instanceof String u) || !isUnit(u)) {
      throw invalid("field '" + name + "' must be a unit of 1 to 16 letters, digits, punctuation or symbols");
    }
    return u;
  }

  /**
   * {@link #MEASUREMENT_TYPE} without a regex (it runs for every sample): an ASCII letter, then up
   * to 63 ASCII letters, digits or '_'.
   */
  static boolean isMetricName(String name) {
    int n = name.length();
    if (n == 0 || n > 64 || !isAsciiLetter(name.charAt(0))) {
      return false;
    }
    for (int i = 1; i < n; i++) {
      char c = name.charAt(i);
      if (!isAsciiLetter(c) && !(c >= '0' && c <= '9') && c != '_') {
        return false;
      }
    }
    return true;
  }

  private static boolean isAsciiLetter(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  }

  /**
   * {@link #UNIT}, with a shortcut for the units meters send: every printable ASCII character
   * but the space is a letter, digit, punctuation or symbol, so such a unit of 1 to 16 characters
   * matches; anything else is left to the pattern.
   */
  static boolean isUnit(String unit) {
    int n = unit.length();
    boolean ascii = n >= 1 && n <= 16;
    for (int i = 0; ascii && i < n; i++) {
      char c = unit.charAt(i);
      ascii = c > ' ' && c < 0x7f;
    }
    return ascii || UNIT.matcher(unit).matches();
  }

  /** Control characters shown as code points, so that an error message cannot break a log line. */
  private static String printable(String text) {
    StringBuilder out = new StringBuilder(text.length());
    text.codePoints().forEach(cp -> {
      if (Character.isISOControl(cp) || Character.getType(cp) == Character.FORMAT || Character.getType(cp) == Character.SURROGATE) {
        out.append(String.format("\\u%04x", cp));
      } else {
        out.appendCodePoint(cp);
      }
    });
    return out.toString();
  }

  private static MalformedMessageException invalid(String message) {
    return new MalformedMessageException(MalformedMessageException.INVALID_PAYLOAD, message);
  }

  private static Instant instant(JsonObject json, String field) {
    return instant(json, field, field);
  }

  private static Instant instant(JsonObject json, String field, String name) {
    if (!(json.getValue(field) instanceof String text)) {
      throw invalid("field '" + name + "' must be an ISO-8601 time");
    }
    Instant instant;
    try {
      instant = IsoInstant.parse(text);
    } catch (DateTimeParseException e) {
      throw invalid("field '" + name + "' must be an ISO-8601 time with a zone, not '" + abbreviate(text) + "'");
    }
    if (!inStoredRange(instant)) {
      throw invalid("field '" + name + "' is outside the years 1678 to 2261: " + abbreviate(text));
    }
    return instant;
  }

  /** The time-series stores keep nanoseconds since 1970 in a signed 64-bit number: 1678 to 2261. */
  static boolean inStoredRange(Instant instant) {
    return !instant.isBefore(EARLIEST) && !instant.isAfter(LATEST);
  }

  /** A JSON integer of that value (2.0 is not one; neither is 2^32 + 2, whose int value is 2). */
  private static boolean isInteger(Object value, long expected) {
    return (value instanceof Integer || value instanceof Long) && ((Number) value).longValue() == expected;
  }

  private static long wholeNumber(JsonObject json, String field, long min, long max) {
    Object value = json.getValue(field);
    if (!(value instanceof Integer || value instanceof Long) || ((Number) value).longValue() < min || ((Number) value).longValue() > max) {
      throw invalid("field '" + field + "' must be an integer from " + min + " to " + max);
    }
    return ((Number) value).longValue();
  }

  private static void number(JsonObject json, String field, double min, double max) {
    if (!(json.getValue(field) instanceof Number n) || !(n.doubleValue() >= min && n.doubleValue() <= max)) {
      throw invalid("field '" + field + "' must be a number from " + min + " to " + max);
    }
  }

  private static void requireString(JsonObject json, String field, int maxLength) {
    if (!(json.getValue(field) instanceof String s) || s.isEmpty() || s.length() > maxLength) {
      throw invalid("field '" + field + "' must be a non-empty string of at most " + maxLength + " characters");
    }
  }

  private static void optionalString(JsonObject json, String field, int maxLength) {
    Object value = json.getValue(field);
    if (value != null && (!(value instanceof String s) || s.length() > maxLength)) {
      throw invalid("field '" + field + "' must be a string of at most " + maxLength + " characters");
    }
  }

  private static void requireOneOf(JsonObject json, String field, Set<String> allowed) {
    if (!(json.getValue(field) instanceof String s) || !allowed.contains(s)) {
      throw invalid("field '" + field + "' must be one of " + allowed);
    }
  }

  private static String abbreviate(String text) {
    return abbreviate(text, 40);
  }

  private static String abbreviate(String text, int max) {
    String shown = printable(text);
    return shown.length() > max ? shown.substring(0, max) + "…" : shown;
  }
}
