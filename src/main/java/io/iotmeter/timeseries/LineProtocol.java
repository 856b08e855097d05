package io.iotmeter.timeseries;

import com.influxdb.client.domain.WritePrecision;

import java.time.Instant;

/**
 * Points as InfluxDB line protocol, the text both InfluxDB 2 and QuestDB accept on
 * {@code /api/v2/write}:
 * {@code iot_telemetry,device_id=dc-meter-001,metric=voltage_dc,unit=V value=756.3 1770890401000000000}.
 *
 * <p>Written here rather than with the client's {@code Point} class because that one leaves
 * backslashes unescaped: a tag value ending in {@code \} would swallow the separator after it.
 */
final class LineProtocol {

  static final String MEASUREMENT = "iot_telemetry";

  /**
   * Nanoseconds, InfluxDB's native precision: every instant a device can send (milli- or
   * microseconds) is stored exactly, so two samples never collapse into one point. With
   * milliseconds, samples 100 µs apart would silently overwrite each other.
   */
  static final WritePrecision PRECISION = WritePrecision.NS;

  private LineProtocol() {
  }

  static String line(Point point) {
    StringBuilder line = new StringBuilder(96);
    appendLine(line, point);
    return line.toString();
  }

  /** Appends one point's line (without the line break): a request body is one builder, not a string per line. */
  static void appendLine(StringBuilder line, Point point) {
    line.append(MEASUREMENT);
    // Tags in key order: InfluxDB sorts them anyway, and sorted input spares it the work.
    appendTag(line, "device_id", point.deviceId());
    appendTag(line, "metric", point.metric());
    if (point.unit() != null) {
      appendTag(line, "unit", point.unit());
    }
    // Double.toString is the shortest text that reads back as the same double; InfluxDB and
    // QuestDB both parse its exponent form (1.0E-7). No 'i' suffix: the field is a float.
    line.append(" value=").append(point.value());
    line.append(' ').append(epochNanos(point.time()));
  }

  /**
   * Escapes a tag value: comma, equals sign and space end a tag unless escaped, and a backslash
   * is doubled so that it can never escape the character after it (both stores read
   * {@code \\} as one backslash).
   */
  static String escapeTagValue(String value) {
    StringBuilder escaped = new StringBuilder(value.length() + 8);
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (needsEscape(c)) {
        escaped.append('\\');
      }
      escaped.append(c);
    }
    return escaped.toString();
  }

  private static boolean needsEscape(char c) {
    return c == ',' || c == '=' || c == ' ' || c == '\\';
  }

  private static void appendTag(StringBuilder line, String key, String value) {
    line.append(',').append(key).append('=');
    for (int i = 0; i < value.length(); i++) {
      if (needsEscape(value.charAt(i))) {
        line.append(escapeTagValue(value));
        return;
      }
    }
    // The usual case: nothing to escape, the value goes in as it is.
    line.append(value);
  }

  private static long epochNanos(Instant time) {
    // Point only admits instants whose nanosecond count fits in a long; near the lower limit the
    // product wraps around and the addition undoes it (two's-complement arithmetic).
    return time.getEpochSecond() * 1_000_000_000L + time.getNano();
  }
}
