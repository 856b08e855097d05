package io.iotmeter.registry;

import io.iotmeter.protocol.CommandName;
import io.iotmeter.protocol.CommandStatus;
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
import java.util.UUID;

/** The {@code device_commands} table: commands sent to devices and their acknowledgements. */
public final class CommandRepository {

  private static final String COLUMNS = "id, cmd_id, device_id, cmd, params, status, ack_detail, created_at, acked_at, delivered_at, issued_by";

  private final Pool pool;

  public CommandRepository(Pool pool) {
    this.pool = pool;
  }

  /** Stores a new {@code pending} command; {@code issuedBy} is the API key's name. */
  public Future<JsonObject> create(UUID cmdId, String deviceId, CommandName cmd, JsonObject params, String issuedBy) {
    return pool.preparedQuery("INSERT INTO device_commands (cmd_id, device_id, cmd, params, issued_by) "
            + "VALUES ($1, $2, $3, $4, $5) RETURNING " + COLUMNS)
        .execute(Tuple.of(cmdId, deviceId, WireEnum.wire(cmd), params, issuedBy))
        .map(rows -> toJson(rows.iterator().next()));
  }

  /**
   * A device's commands, newest first, optionally with one status: at most {@code limit}, those
   * after ({@code afterCreatedAt}, {@code afterId}) when given (the last row of the page before).
   */
  public Future<JsonArray> list(String deviceId, Optional<CommandStatus> status, int limit, Instant afterCreatedAt, Long afterId) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM device_commands "
            + "WHERE device_id = $1 AND ($2::text IS NULL OR status = $2) "
            + "AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::bigint)) "
            + "ORDER BY created_at DESC, id DESC LIMIT $5")
        .execute(Tuple.of(deviceId, status.map(WireEnum::wire).orElse(null), Rows.offset(afterCreatedAt), afterId, limit))
        .map(rows -> Rows.array(rows, CommandRepository::toJson));
  }

  /** Records a device's result for a command; empty when the command is unknown. */
  public Future<Optional<JsonObject>> acknowledge(UUID cmdId, CommandStatus result, String detail) {
    return pool.preparedQuery("UPDATE device_commands SET status = $2, ack_detail = $3, acked_at = now() "
            + "WHERE cmd_id = $1 RETURNING " + COLUMNS)
        .execute(Tuple.of(cmdId, WireEnum.wire(result), detail))
        .map(rows -> Rows.first(rows, CommandRepository::toJson));
  }

  /** Records that MQTT took the command (a device session or a broker). */
  public Future<Void> markPublished(UUID cmdId) {
    return pool.preparedQuery("UPDATE device_commands SET published_at = now() WHERE cmd_id = $1")
        .execute(Tuple.of(cmdId))
        .mapEmpty();
  }

  /** One command with its firmware-update progress reports, oldest first; empty when unknown. */
  public Future<Optional<JsonObject>> findWithProgress(UUID cmdId) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM device_commands WHERE cmd_id = $1")
        .execute(Tuple.of(cmdId))
        .map(rows -> Rows.first(rows, CommandRepository::toJson))
        .compose(command -> command.isEmpty() ? Future.succeededFuture(command)
            : pool.preparedQuery("SELECT ota_state, progress_pct, fw_version_target, detail, reported_at, received_at "
                    + "FROM device_command_progress WHERE cmd_id = $1 ORDER BY reported_at, id")
                .execute(Tuple.of(cmdId))
                .map(rows -> Optional.of(command.get().put("ota_progress", Rows.array(rows, row -> new JsonObject()
                    .put("ota_state", row.getString("ota_state"))
                    .put("progress_pct", row.getDouble("progress_pct"))
                    .put("fw_version_target", row.getString("fw_version_target"))
                    .put("detail", row.getString("detail"))
                    .put("reported_at", Rows.iso(row.getOffsetDateTime("reported_at")))
                    .put("received_at", Rows.iso(row.getOffsetDateTime("received_at"))))))));
  }

  static JsonObject toJson(Row row) {
    return new JsonObject()
        .put("id", row.getInteger("id"))
        .put("cmd_id", row.getUUID("cmd_id").toString())
        .put("device_id", row.getString("device_id"))
        .put("cmd", row.getString("cmd"))
        .put("params", row.getJsonObject("params"))
        .put("status", row.getString("status"))
        .put("ack_detail", row.getString("ack_detail"))
        .put("created_at", Rows.iso(row.getOffsetDateTime("created_at")))
        .put("acked_at", Rows.iso(row.getOffsetDateTime("acked_at")))
        // When the device acknowledged receiving it over MQTT (PUBCOMP); null while it waits.
        .put("delivered_at", Rows.iso(row.getOffsetDateTime("delivered_at")))
        // The API key that sent it (its name); null for commands from before the audit trail.
        .put("issued_by", row.getString("issued_by"));
  }
}
