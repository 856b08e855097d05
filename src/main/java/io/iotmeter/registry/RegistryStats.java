package io.iotmeter.registry;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;

/** Registry-wide counts for {@code GET /api/stats}. */
public final class RegistryStats {

  private final Pool pool;

  public RegistryStats(Pool pool) {
    this.pool = pool;
  }

  /** {@code {"total_devices", "device_by_status": [{"status","count"}], "unacknowledged_alerts"}}. */
  public Future<JsonObject> read() {
    Future<JsonArray> byStatus = pool.preparedQuery("SELECT status, count(*) AS count FROM devices GROUP BY status ORDER BY status")
        .execute()
        .map(rows -> {
          JsonArray array = new JsonArray();
          rows.forEach(r -> array.add(new JsonObject().put("status", r.getString("status")).put("count", r.getLong("count"))));
          return array;
        });
    Future<Long> unacknowledged = pool.preparedQuery("SELECT count(*) FROM device_alerts WHERE NOT acknowledged")
        .execute()
        .map(rows -> rows.iterator().next().getLong(0));
    return Future.all(byStatus, unacknowledged).map(all -> {
      JsonArray statuses = byStatus.result();
      long total = statuses.stream().mapToLong(o -> ((JsonObject) o).getLong("count")).sum();
      return new JsonObject()
          .put("total_devices", total)
          .put("device_by_status", statuses)
          .put("unacknowledged_alerts", unacknowledged.result());
    });
  }

  /** Devices by connection status (online, offline, unknown) → count; statuses without devices are absent. */
  public Future<java.util.Map<String, Long>> connections() {
    return pool.preparedQuery("SELECT connection_status, count(*) FROM devices GROUP BY connection_status").execute()
        .map(rows -> {
          java.util.Map<String, Long> counts = new java.util.HashMap<>();
          rows.forEach(r -> counts.put(String.valueOf(r.getString(0)).toLowerCase(java.util.Locale.ROOT), r.getLong(1)));
          return counts;
        });
  }
}
