package io.iotmeter.api;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code start}/{@code stop} parameters of the metrics endpoint: a relative duration
 * ({@code -30m}, {@code -24h}, {@code -7d}; units ms, s, m, h, d, w), {@code now()}, or an
 * ISO-8601 instant with a zone ({@code 2026-02-12T10:00:00Z}). Parsed into instants here, so
 * no query language ever sees the client's text.
 */
public record TimeRange(Instant start, Instant stop) {

  private static final Pattern RELATIVE = Pattern.compile("-(\\d{1,9})(ms|s|m|h|d|w)");
  /** Nothing older than this can be asked for (keeps arithmetic far from overflow). */
  private static final Duration MAX_LOOKBACK = Duration.ofDays(100 * 366);

  public static TimeRange parse(String start, String stop, Instant now) {
    Instant from = parseTime("start", start == null ? "-1h" : start, now);
    Instant to = parseTime("stop", stop == null ? "now()" : stop, now);
    if (!from.isBefore(to)) {
      throw ApiException.badRequest("Query parameter 'start' must be before 'stop'");
    }
    return new TimeRange(from, to);
  }

  static Instant parseTime(String field, String text, Instant now) {
    if (text.equals("now()")) {
      return now;
    }
    Matcher relative = RELATIVE.matcher(text);
    if (relative.matches()) {
      long amount = Long.parseLong(relative.group(1));
      Duration unit = switch (relative.group(2)) {
        case "ms" -> Duration.ofMillis(1);
        case "s" -> Duration.ofSeconds(1);
        case "m" -> Duration.ofMinutes(1);
        case "h" -> Duration.ofHours(1);
        case "d" -> Duration.ofDays(1);
        default -> Duration.ofDays(7);
      };
      if (amount > MAX_LOOKBACK.dividedBy(unit)) {
        throw ApiException.badRequest("Query parameter '" + field + "' reaches back more than 100 years");
      }
      return now.minus(unit.multipliedBy(amount));
    }
    try {
      return OffsetDateTime.parse(text).toInstant();
    } catch (DateTimeParseException e) {
      throw ApiException.badRequest("Query parameter '" + field + "' must be a relative duration such as -1h, "
          + "now(), or an ISO-8601 instant such as 2026-02-12T10:00:00Z; got '" + Inputs.printable(text) + "'");
    }
  }
}
