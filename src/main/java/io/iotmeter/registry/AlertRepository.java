package io.iotmeter.registry;

import io.iotmeter.protocol.WireEnum;
import io.iotmeter.store.Rows;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

import java.time.Instant;
import java.util.Optional;

/** The {@code device_alerts} table. */
public final class AlertRepository {

  private static final String COLUMNS = "id, device_id, alert_type, severity, message, acknowledged, created_at";

  private final Pool pool;

  public AlertRepository(Pool pool) {
    this.pool = pool;
  }

  /**
   * A device's alerts, newest first, optionally only (un)acknowledged ones: at most {@code limit},
   * those after ({@code afterCreatedAt}, {@code afterId}) when given (the last row of the page before).
   */
  public Future<JsonArray> list(String deviceId, Optional<Boolean> acknowledged, int limit, Instant afterCreatedAt, Long afterId) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM device_alerts "
            + "WHERE device_id = $1 AND ($2::boolean IS NULL OR acknowledged = $2) "
            + "AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::bigint)) "
            + "ORDER BY created_at DESC, id DESC LIMIT $5")
        .execute(Tuple.of(deviceId, acknowledged.orElse(null), Rows.offset(afterCreatedAt), afterId, limit))
        .map(rows -> Rows.array(rows, AlertRepository::toJson));
  }

  /** The newest alerts of every device, optionally only (un)acknowledged ones; {@code before} (an id) pages back. */
  public Future<JsonArray> listAll(Optional<Boolean> acknowledged, int limit, Integer before) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM device_alerts WHERE ($1::boolean IS NULL OR acknowledged = $1) "
            + "AND ($2::int IS NULL OR id < $2) ORDER BY id DESC LIMIT $3")
        .execute(Tuple.of(acknowledged.orElse(null), before, limit))
        .map(rows -> Rows.array(rows, AlertRepository::toJson));
  }

  public Future<JsonObject> create(String deviceId, String alertType, AlertSeverity severity, String message) {
    return pool.preparedQuery("INSERT INTO device_alerts (device_id, alert_type, severity, message) "
            + "VALUES ($1, $2, $3, $4) RETURNING " + COLUMNS)
        .execute(Tuple.of(deviceId, alertType, WireEnum.wire(severity), message))
        .map(rows -> toJson(rows.iterator().next()));
  }

  public Future<Optional<JsonObject>> acknowledge(int alertId) {
    return pool.preparedQuery("UPDATE device_alerts SET acknowledged = true WHERE id = $1 RETURNING " + COLUMNS)
        .execute(Tuple.of(alertId))
        .map(rows -> Rows.first(rows, AlertRepository::toJson));
  }

  static JsonObject toJson(Row row) {
    return new JsonObject()
        .put("id", row.getInteger("id"))
        .put("device_id", row.getString("device_id"))
        .put("alert_type", row.getString("alert_type"))
        .put("severity", row.getString("severity"))
        .put("message", row.getString("message"))
        .put("acknowledged", row.getBoolean("acknowledged"))
        .put("created_at", Rows.iso(row.getOffsetDateTime("created_at")));
  }
}
