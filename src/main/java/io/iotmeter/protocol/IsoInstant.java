package io.iotmeter.protocol;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;

/**
 * ISO-8601 date-times with a zone, as {@link OffsetDateTime#parse} reads them, but without its
 * general-purpose formatter for the one form meters send: {@code 2026-01-01T00:00:00Z},
 * optionally with 1 to 9 fraction digits and a {@code ±HH:MM} offset. Every sample of every
 * datagram has such a time, and the formatter's field maps cost more than the rest of the
 * validation together. Anything else (lower-case letters, missing seconds, an offset with
 * seconds, ...) goes to {@link OffsetDateTime#parse}, so what is accepted and refused is exactly
 * what it accepts and refuses.
 */
public final class IsoInstant {

  private IsoInstant() {
  }

  /** @throws DateTimeParseException as {@link OffsetDateTime#parse} would */
  public static Instant parse(String text) {
    Instant fast = fast(text);
    return fast != null ? fast : OffsetDateTime.parse(text).toInstant();
  }

  /** The common form, or null for anything the general parser should judge. */
  static Instant fast(String t) {
    int n = t.length();
    if (n < 20 || t.charAt(4) != '-' || t.charAt(7) != '-' || t.charAt(10) != 'T' || t.charAt(13) != ':'
        || t.charAt(16) != ':') {
      return null;
    }
    int year = digits(t, 0, 4);
    int month = digits(t, 5, 2);
    int day = digits(t, 8, 2);
    int hour = digits(t, 11, 2);
    int minute = digits(t, 14, 2);
    int second = digits(t, 17, 2);
    if (year < 0 || month < 0 || day < 0 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0
        || second > 59) {
      return null;
    }
    int at = 19;
    int nanos = 0;
    if (t.charAt(at) == '.') {
      int start = ++at;
      while (at < n && at - start < 10 && isDigit(t.charAt(at))) {
        nanos = nanos * 10 + (t.charAt(at) - '0');
        at++;
      }
      int count = at - start;
      if (count == 0 || count > 9) {
        return null;
      }
      for (int i = count; i < 9; i++) {
        nanos *= 10;
      }
    }
    int offsetSeconds;
    if (at == n - 1 && t.charAt(at) == 'Z') {
      offsetSeconds = 0;
    } else if (at == n - 6 && (t.charAt(at) == '+' || t.charAt(at) == '-') && t.charAt(at + 3) == ':') {
      int hours = digits(t, at + 1, 2);
      int minutes = digits(t, at + 4, 2);
      if (hours < 0 || hours > 18 || minutes < 0 || minutes > 59 || (hours == 18 && minutes > 0)) {
        return null;
      }
      offsetSeconds = (t.charAt(at) == '-' ? -1 : 1) * (hours * 3600 + minutes * 60);
    } else {
      return null;
    }
    long epochDay;
    try {
      epochDay = LocalDate.of(year, month, day).toEpochDay(); // checks the month's length and leap years
    } catch (DateTimeException e) {
      return null;
    }
    return Instant.ofEpochSecond(epochDay * 86_400 + hour * 3600L + minute * 60L + second - offsetSeconds, nanos);
  }

  /** 0001-01-01 and 9999-12-31T23:59:59Z, the years {@link #format} writes itself. */
  private static final long FIRST_SECOND = -62_135_596_800L;
  private static final long LAST_SECOND = 253_402_300_799L;

  /**
   * {@code instant} exactly as {@link java.time.format.DateTimeFormatter#ISO_INSTANT} (and
   * {@link Instant#toString}) writes it — {@code 2026-01-01T00:00:00Z}, with the fraction in
   * groups of three digits when there is one — without the formatter's field machinery: the
   * archive writes two such times per message. Years outside 1 to 9999 go to the formatter.
   */
  public static String format(Instant instant) {
    long seconds = instant.getEpochSecond();
    if (seconds < FIRST_SECOND || seconds > LAST_SECOND) {
      return java.time.format.DateTimeFormatter.ISO_INSTANT.format(instant);
    }
    long days = Math.floorDiv(seconds, 86_400);
    int secondOfDay = (int) Math.floorMod(seconds, 86_400);
    LocalDate date = LocalDate.ofEpochDay(days);
    char[] out = new char[30];
    int at = put(out, 0, date.getYear(), 4);
    out[at++] = '-';
    at = put(out, at, date.getMonthValue(), 2);
    out[at++] = '-';
    at = put(out, at, date.getDayOfMonth(), 2);
    out[at++] = 'T';
    at = put(out, at, secondOfDay / 3600, 2);
    out[at++] = ':';
    at = put(out, at, secondOfDay / 60 % 60, 2);
    out[at++] = ':';
    at = put(out, at, secondOfDay % 60, 2);
    int nanos = instant.getNano();
    if (nanos > 0) {
      out[at++] = '.';
      if (nanos % 1_000_000 == 0) {
        at = put(out, at, nanos / 1_000_000, 3);
      } else if (nanos % 1000 == 0) {
        at = put(out, at, nanos / 1000, 6);
      } else {
        at = put(out, at, nanos, 9);
      }
    }
    out[at++] = 'Z';
    return new String(out, 0, at);
  }

  /** {@code value} as {@code width} digits, zero-padded, at {@code at}; returns the position after them. */
  private static int put(char[] out, int at, int value, int width) {
    for (int i = at + width - 1; i >= at; i--) {
      out[i] = (char) ('0' + value % 10);
      value /= 10;
    }
    return at + width;
  }

  private static int digits(String t, int from, int count) {
    int value = 0;
    for (int i = from; i < from + count; i++) {
      char c = t.charAt(i);
      if (!isDigit(c)) {
        return -1;
      }
      value = value * 10 + (c - '0');
    }
    return value;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }
}
