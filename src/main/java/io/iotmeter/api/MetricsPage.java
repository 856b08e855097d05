package io.iotmeter.api;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;

/**
 * Paging of {@code GET /api/devices/{id}/metrics}. Points come in (time, metric) order; a page
 * ends after {@code limit} points and the next one starts from the cursor: the last point's time
 * and how many points at that very time were returned already (several metrics share a time).
 * The cursor is opaque to clients ({@code after=}, from the {@code X-Next-Cursor} and
 * {@code Link} headers of the previous page).
 */
record MetricsPage(Instant time, int skip) {

  /**
   * @param maxSkip the most points at one time a cursor may skip: the answer's cap, so that a
   *                hand-made cursor cannot make a page load more than twice the cap (points that
   *                share one time are a handful in practice)
   */
  static MetricsPage parse(String cursor, int maxSkip) {
    try {
      String text = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.US_ASCII);
      int bar = text.indexOf('|');
      MetricsPage page = new MetricsPage(Instant.parse(text.substring(0, bar)), Integer.parseInt(text.substring(bar + 1)));
      if (page.skip < 0 || page.skip > maxSkip) {
        throw new IllegalArgumentException();
      }
      return page;
    } catch (RuntimeException e) {
      throw ApiException.badRequest("Query parameter 'after' is not a cursor this API gave out (take it from the X-Next-Cursor header)");
    }
  }

  String encode() {
    return Base64.getUrlEncoder().withoutPadding().encodeToString((time + "|" + skip).getBytes(StandardCharsets.US_ASCII));
  }

  /**
   * What {@code rows} (queried from this cursor's time, at most {@code limit + skip + 1}) holds
   * for this page: the first {@code skip} points at the cursor's time were on the previous page.
   */
  JsonArray pageOf(JsonArray rows) {
    JsonArray page = new JsonArray();
    String at = time.toString();
    int skipped = 0;
    for (int i = 0; i < rows.size(); i++) {
      JsonObject row = rows.getJsonObject(i);
      if (skipped < skip && Instant.parse(row.getString("time")).equals(time)) {
        skipped++;
        continue;
      }
      page.add(row);
    }
    return page;
  }

  /** The cursor after {@code page} (its last point), counting the points at that time on earlier pages. */
  MetricsPage next(JsonArray page) {
    Instant last = Instant.parse(page.getJsonObject(page.size() - 1).getString("time"));
    int atLast = last.equals(time) ? skip : 0;
    for (int i = 0; i < page.size(); i++) {
      if (Instant.parse(page.getJsonObject(i).getString("time")).equals(last)) {
        atLast++;
      }
    }
    return new MetricsPage(last, atLast);
  }

  /** The first page: nothing to skip. */
  static MetricsPage from(Instant start) {
    return new MetricsPage(start, 0);
  }
}
