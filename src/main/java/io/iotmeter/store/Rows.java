package io.iotmeter.store;

import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Optional;
import java.util.function.Function;

/** Small conversions from result rows to the API's JSON. */
public final class Rows {

  private Rows() {
  }

  /** ISO-8601 UTC instant ({@code 2026-02-12T10:00:00.123Z}), or null. */
  public static String iso(OffsetDateTime time) {
    return time == null ? null : DateTimeFormatter.ISO_INSTANT.format(time.toInstant());
  }

  /** An instant as a timestamptz parameter (UTC), or null. */
  public static OffsetDateTime offset(java.time.Instant time) {
    return time == null ? null : time.atOffset(java.time.ZoneOffset.UTC);
  }

  public static JsonArray array(RowSet<Row> rows, Function<Row, JsonObject> mapper) {
    JsonArray array = new JsonArray();
    rows.forEach(row -> array.add(mapper.apply(row)));
    return array;
  }

  public static Optional<JsonObject> first(RowSet<Row> rows, Function<Row, JsonObject> mapper) {
    var it = rows.iterator();
    return it.hasNext() ? Optional.of(mapper.apply(it.next())) : Optional.empty();
  }

  /** True when {@code failure} is PostgreSQL's unique_violation (SQLSTATE 23505). */
  public static boolean isUniqueViolation(Throwable failure) {
    return failure instanceof io.vertx.pgclient.PgException pg && "23505".equals(pg.getSqlState());
  }
}
