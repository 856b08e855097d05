package io.iotmeter.api;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.ext.web.RoutingContext;

import java.util.Optional;
import java.util.function.BiFunction;

/**
 * Bounded lists of a device's rows (alerts, commands), newest first. Without {@code limit} or
 * {@code after} the whole list comes, as the reference answers, up to {@link #MAX_UNPAGED} rows;
 * a longer one is a 400 that says how to page. With them, a page of {@code limit} rows (1 to
 * {@link #MAX_PAGE}) and, when more follow, the cursor of the next one in {@code X-Next-Cursor}
 * and a {@code Link: <…>; rel="next"} header.
 */
final class Paging {

  static final int MAX_PAGE = 1_000;
  static final int MAX_UNPAGED = 10_000;

  private Paging() {
  }

  /**
   * @param read  reads at most the given number of rows after the cursor (null: from the newest)
   * @param what  what the rows are, for the error ("alerts")
   */
  static Future<ApiResponse> list(RoutingContext ctx, String what, BiFunction<Integer, ListCursor, Future<JsonArray>> read) {
    Optional<Integer> limit = Inputs.queryInt(ctx, "limit", 1, MAX_PAGE);
    Optional<ListCursor> after = Inputs.query(ctx, "after", 200).map(ListCursor::parse);
    if (limit.isEmpty() && after.isEmpty()) {
      return read.apply(MAX_UNPAGED + 1, null).map(rows -> {
        if (rows.size() > MAX_UNPAGED) {
          throw ApiException.badRequest("The device has more than " + MAX_UNPAGED + " " + what + ": page with limit "
              + "(and after, from the X-Next-Cursor header)");
        }
        return ApiResponse.ok(rows);
      });
    }
    int size = limit.orElse(MAX_PAGE);
    return read.apply(size + 1, after.orElse(null)).map(rows -> {
      if (rows.size() > size) {
        JsonArray page = new JsonArray(rows.getList().subList(0, size));
        announceNext(ctx, ListCursor.after(page.getJsonObject(size - 1)).encode());
        return ApiResponse.ok(page);
      }
      return ApiResponse.ok(rows);
    });
  }

  /** Tells the client where the next page starts: {@code X-Next-Cursor} and a {@code Link} to it. */
  static void announceNext(RoutingContext ctx, String cursor) {
    ctx.response().putHeader("X-Next-Cursor", cursor).putHeader("Link", "<" + nextLink(ctx, cursor) + ">; rel=\"next\"");
  }

  /** This request's URL with {@code after} replaced by the next cursor. */
  private static String nextLink(RoutingContext ctx, String cursor) {
    StringBuilder query = new StringBuilder();
    ctx.queryParams().forEach(entry -> {
      if (!entry.getKey().equals("after")) {
        query.append(query.length() == 0 ? "" : "&").append(encode(entry.getKey())).append('=').append(encode(entry.getValue()));
      }
    });
    query.append(query.length() == 0 ? "" : "&").append("after=").append(cursor);
    return ctx.request().path() + "?" + query;
  }

  private static String encode(String text) {
    return java.net.URLEncoder.encode(text, java.nio.charset.StandardCharsets.UTF_8);
  }
}
