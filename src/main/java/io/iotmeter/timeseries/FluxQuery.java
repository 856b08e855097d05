package io.iotmeter.timeseries;

import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.Optional;

/**
 * The Flux query for one device's points. InfluxDB OSS 2.x has no bound query parameters, so
 * every value enters the text as a literal built here: strings escaped by
 * {@link #stringLiteral}, times formatted from {@link Instant}s — never the caller's text.
 */
final class FluxQuery {

  private FluxQuery() {
  }

  /**
   * {@code range} keeps {@code start <= _time < stop}. No {@code group()}/{@code sort()}: each
   * series (one per metric and unit) comes back as its own table already in time order, and a
   * server-side sort would make InfluxDB buffer the whole result; the store merges the tables.
   */
  static String forDevice(String bucket, String deviceId, Instant start, Instant stop, Optional<String> metric) {
    return forDevice(bucket, deviceId, start, stop, metric, Integer.MAX_VALUE);
  }

  /**
   * The same, bounded before anything is loaded: each series is cut after its first
   * {@code maxRows} points (Flux's {@code limit} applies per table), then the series are merged
   * in (time, metric) order on the server and cut to {@code maxRows} again, so the answer holds
   * at most {@code maxRows} records however many metrics the device has.
   */
  static String forDevice(String bucket, String deviceId, Instant start, Instant stop, Optional<String> metric, int maxRows) {
    StringBuilder flux = new StringBuilder(320)
        .append("from(bucket: ").append(stringLiteral(bucket)).append(")\n")
        .append("  |> range(start: ").append(timeLiteral(start)).append(", stop: ").append(timeLiteral(stop)).append(")\n")
        .append("  |> filter(fn: (r) => r._measurement == ").append(stringLiteral(LineProtocol.MEASUREMENT))
        .append(" and r._field == \"value\" and r.device_id == ").append(stringLiteral(deviceId));
    metric.ifPresent(name -> flux.append(" and r.metric == ").append(stringLiteral(name)));
    flux.append(")\n")
        .append("  |> keep(columns: [\"_time\", \"_value\", \"device_id\", \"metric\"])");
    if (maxRows < Integer.MAX_VALUE) {
      String limit = "\n  |> limit(n: " + Math.max(0, maxRows) + ")";
      flux.append(limit).append("\n  |> group()\n  |> sort(columns: [\"_time\", \"metric\"])").append(limit);
    }
    return flux.toString();
  }

  /**
   * A Flux string literal holding exactly {@code text}. Escaped: the quote and backslash, which
   * would end the literal or start an escape; <code>${</code>, which would start an interpolated
   * expression; line breaks and tabs, to keep the query on its lines; other control characters
   * as {@code \xNN} bytes.
   */
  static String stringLiteral(String text) {
    StringBuilder literal = new StringBuilder(text.length() + 2).append('"');
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"' -> literal.append("\\\"");
        case '\\' -> literal.append("\\\\");
        case '\n' -> literal.append("\\n");
        case '\r' -> literal.append("\\r");
        case '\t' -> literal.append("\\t");
        case '$' -> literal.append(i + 1 < text.length() && text.charAt(i + 1) == '{' ? "\\$" : "$");
        default -> {
          if (c < 0x20 || c == 0x7f) {
            literal.append(String.format("\\x%02x", (int) c));
          } else {
            literal.append(c);
          }
        }
      }
    }
    return literal.append('"').toString();
  }

  /**
   * An RFC 3339 time literal. Instants beyond what InfluxDB stores are moved to its limits, which
   * selects the same points and keeps the literal a four-digit-year time Flux can parse.
   */
  static String timeLiteral(Instant time) {
    Instant storable = time.isBefore(Point.EARLIEST) ? Point.EARLIEST : time.isAfter(Point.LATEST) ? Point.LATEST : time;
    return DateTimeFormatter.ISO_INSTANT.format(storable);
  }
}
