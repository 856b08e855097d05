package io.iotmeter.registry;

import io.iotmeter.store.Rows;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The {@code devices} table. Every statement is prepared; no input is ever pasted into SQL. */
public final class DeviceRepository {

  private static final String COLUMNS = "id, device_id, device_name, device_type, location, status, "
      + "connection_status, last_seen, fw_version, created_at, updated_at, metadata";

  private final Pool pool;

  public DeviceRepository(Pool pool) {
    this.pool = pool;
  }

  /**
   * Devices, newest first, optionally filtered by status and type; a page of {@code limit} after
   * skipping {@code offset} (no limit: all of them, as the reference's clients expect).
   */
  public Future<JsonArray> list(Optional<DeviceStatus> status, Optional<String> type, Optional<Integer> limit, int offset) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM devices "
            + "WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR device_type = $2) "
            + "ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4")
        .execute(Tuple.of(status.map(io.iotmeter.protocol.WireEnum::wire).orElse(null), type.orElse(null),
            limit.orElse(null), offset))
        .map(rows -> Rows.array(rows, DeviceRepository::toJson));
  }

  public Future<Optional<JsonObject>> find(String deviceId) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM devices WHERE device_id = $1")
        .execute(Tuple.of(deviceId))
        .map(rows -> Rows.first(rows, DeviceRepository::toJson));
  }

  public Future<Boolean> exists(String deviceId) {
    return pool.preparedQuery("SELECT 1 FROM devices WHERE device_id = $1")
        .execute(Tuple.of(deviceId))
        .map(rows -> rows.size() > 0);
  }

  /** Inserts a device; fails with {@link DuplicateDeviceException} when the id is taken. */
  public Future<JsonObject> create(NewDevice device) {
    return pool.preparedQuery("INSERT INTO devices (device_id, device_name, device_type, location, status, metadata) "
            + "VALUES ($1, $2, $3, $4, $5, $6) RETURNING " + COLUMNS)
        .execute(Tuple.of(device.deviceId(), device.deviceName(), device.deviceType(), device.location(),
            io.iotmeter.protocol.WireEnum.wire(device.status()), device.metadata()))
        .map(rows -> toJson(rows.iterator().next()))
        .recover(e -> Future.failedFuture(Rows.isUniqueViolation(e) ? new DuplicateDeviceException(device.deviceId()) : e));
  }

  /**
   * Updates the given columns (keys are column names chosen by the caller from a fixed set,
   * values are bound parameters) and {@code updated_at}.
   */
  public Future<Optional<JsonObject>> update(String deviceId, Map<DeviceColumn, Object> changes) {
    Map<DeviceColumn, Object> ordered = new LinkedHashMap<>(changes);
    List<Object> params = new ArrayList<>();
    StringBuilder set = new StringBuilder("updated_at = now()");
    ordered.forEach((column, value) -> {
      params.add(value);
      set.append(", ").append(column.sql()).append(" = $").append(params.size());
    });
    if (ordered.containsKey(DeviceColumn.FW_VERSION)) {
      set.append(", fw_version_at = now()"); // a hello older than this does not undo it
    }
    params.add(deviceId);
    return pool.preparedQuery("UPDATE devices SET " + set + " WHERE device_id = $" + params.size() + " RETURNING " + COLUMNS)
        .execute(Tuple.from(params))
        .map(rows -> Rows.first(rows, DeviceRepository::toJson));
  }

  public Future<Boolean> delete(String deviceId) {
    return pool.preparedQuery("DELETE FROM devices WHERE device_id = $1")
        .execute(Tuple.of(deviceId))
        .map(rows -> rows.rowCount() > 0);
  }

  /** Sets {@code last_seen} to now; false when the device is unknown. */
  public Future<Boolean> touchLastSeen(String deviceId) {
    return pool.preparedQuery("UPDATE devices SET last_seen = now() WHERE device_id = $1")
        .execute(Tuple.of(deviceId))
        .map(rows -> rows.rowCount() > 0);
  }

  /** The columns an update may change; their SQL names are constants, never input. */
  public enum DeviceColumn {
    DEVICE_NAME("device_name"), DEVICE_TYPE("device_type"), LOCATION("location"), STATUS("status"),
    METADATA("metadata"), CONNECTION_STATUS("connection_status"), FW_VERSION("fw_version");

    private final String sql;

    DeviceColumn(String sql) {
      this.sql = sql;
    }

    public String sql() {
      return sql;
    }
  }

  static JsonObject toJson(Row row) {
    return new JsonObject()
        .put("id", row.getInteger("id"))
        .put("device_id", row.getString("device_id"))
        .put("device_name", row.getString("device_name"))
        .put("device_type", row.getString("device_type"))
        .put("location", row.getString("location"))
        .put("status", row.getString("status"))
        .put("connection_status", row.getString("connection_status"))
        .put("last_seen", Rows.iso(row.getOffsetDateTime("last_seen")))
        .put("fw_version", row.getString("fw_version"))
        .put("created_at", Rows.iso(row.getOffsetDateTime("created_at")))
        .put("updated_at", Rows.iso(row.getOffsetDateTime("updated_at")))
        .put("metadata", row.getJsonObject("metadata"));
  }
}
