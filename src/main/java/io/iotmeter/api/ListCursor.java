package io.iotmeter.api;

import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;

/**
 * Where the next page of a device's alerts or commands starts (newest first): after the row with
 * this {@code created_at} and {@code id}. Opaque to clients ({@code after=}, from the previous
 * page's {@code X-Next-Cursor} header); it names a position only, so a hand-made one cannot make a
 * page larger than its {@code limit}.
 */
record ListCursor(Instant createdAt, long id) {

  static ListCursor after(JsonObject lastRow) {
    return new ListCursor(Instant.parse(lastRow.getString("created_at")), lastRow.getLong("id"));
  }

  static ListCursor parse(String cursor) {
    try {
      String text = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.US_ASCII);
      int bar = text.indexOf('|');
      ListCursor parsed = new ListCursor(Instant.parse(text.substring(0, bar)), Long.parseLong(text.substring(bar + 1)));
      if (parsed.id < 0) {
        throw new IllegalArgumentException();
      }
      return parsed;
    } catch (RuntimeException e) {
      throw ApiException.badRequest("Query parameter 'after' is not a cursor this API gave out (take it from the X-Next-Cursor header)");
    }
  }

  String encode() {
    return Base64.getUrlEncoder().withoutPadding().encodeToString((createdAt + "|" + id).getBytes(StandardCharsets.US_ASCII));
  }
}
