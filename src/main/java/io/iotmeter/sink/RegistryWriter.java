package io.iotmeter.sink;

import io.iotmeter.intake.AcceptedMessage;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.protocol.Category;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Keeps the registry current from device traffic: {@code last_seen} and
 * {@code connection_status} (any message from the device means online; a status message says
 * which), {@code fw_version} from hello, command results from acknowledgements.
 *
 * <p>Idempotent and order-safe: {@code last_seen} only moves forward, and a status only
 * replaces one that is older ({@code connection_status_at}), so a batch written twice or late
 * changes nothing.
 */
final class RegistryWriter implements SinkWriter {

  /** The newest facts a batch holds about one device. */
  private static final class DeviceFacts {
    Instant lastSeen;
    String status;
    Instant statusAt;
    String fwVersion;
    Instant fwAt;
  }

  private final Pool pool;
  private final IngestMetrics metrics;

  RegistryWriter(Pool pool, IngestMetrics metrics) {
    this.pool = pool;
    this.metrics = metrics;
  }

  @Override
  public Future<Void> write(List<AcceptedMessage> batch) {
    Map<String, DeviceFacts> facts = new LinkedHashMap<>();
    List<Object[]> acks = new ArrayList<>();
    for (AcceptedMessage accepted : batch) {
      // Telemetry, the bulk of the traffic, only says "seen now": its payload is not read again.
      JsonObject payload = accepted.category() == Category.TELEMETRY ? null : new JsonObject(accepted.payload());
      DeviceFacts device = facts.computeIfAbsent(accepted.deviceId(), id -> new DeviceFacts());
      Instant at = accepted.receivedAt();
      String status = accepted.category() == Category.STATUS ? payload.getString("status") : "online";
      // An offline status is the broker speaking for a vanished device (its will), not the device.
      if (!"offline".equals(status)) {
        device.lastSeen = later(device.lastSeen, at);
      }
      if (device.statusAt == null || !at.isBefore(device.statusAt)) {
        device.status = status;
        device.statusAt = at;
      }
      if (accepted.category() == Category.HELLO && (device.fwAt == null || !at.isBefore(device.fwAt))) {
        device.fwVersion = payload.getString("fw_version");
        device.fwAt = at;
      }
      if (accepted.category() == Category.COMMAND_ACK) {
        ack(accepted, payload).ifPresent(acks::add);
      }
    }
    return pool.withTransaction(conn -> updateDevices(conn, facts).compose(v -> updateCommands(conn, acks)));
  }

  private java.util.Optional<Object[]> ack(AcceptedMessage accepted, JsonObject payload) {
    try {
      UUID cmdId = UUID.fromString(payload.getString("cmd_id"));
      return java.util.Optional.of(new Object[] {cmdId, accepted.deviceId(), payload.getString("result"),
          payload.getString("detail"), odt(accepted.receivedAt())});
    } catch (IllegalArgumentException e) {
      metrics.error("invalid_cmd_id");
      return java.util.Optional.empty();
    }
  }

  private Future<Void> updateDevices(io.vertx.sqlclient.SqlConnection conn, Map<String, DeviceFacts> facts) {
    int n = facts.size();
    String[] ids = new String[n];
    OffsetDateTime[] seen = new OffsetDateTime[n];
    String[] status = new String[n];
    OffsetDateTime[] statusAt = new OffsetDateTime[n];
    String[] fw = new String[n];
    int i = 0;
    for (Map.Entry<String, DeviceFacts> entry : facts.entrySet()) {
      ids[i] = entry.getKey();
      seen[i] = odt(entry.getValue().lastSeen);
      status[i] = entry.getValue().status;
      statusAt[i] = odt(entry.getValue().statusAt);
      fw[i] = entry.getValue().fwVersion;
      i++;
    }
    return conn.preparedQuery("UPDATE devices d SET "
            + "last_seen = CASE WHEN u.seen IS NULL THEN d.last_seen ELSE GREATEST(COALESCE(d.last_seen, u.seen), u.seen) END, "
            + "connection_status = CASE WHEN d.connection_status_at IS NULL OR u.status_at >= d.connection_status_at "
            + "  THEN u.status ELSE d.connection_status END, "
            + "connection_status_at = GREATEST(COALESCE(d.connection_status_at, u.status_at), u.status_at), "
            + "fw_version = COALESCE(u.fw, d.fw_version) "
            + "FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::timestamptz[], $5::text[]) "
            + "AS u(device_id, seen, status, status_at, fw) WHERE d.device_id = u.device_id")
        .execute(Tuple.of(ids, seen, status, statusAt, fw))
        .mapEmpty();
  }

  private Future<Void> updateCommands(io.vertx.sqlclient.SqlConnection conn, List<Object[]> acks) {
    if (acks.isEmpty()) {
      return Future.succeededFuture();
    }
    int n = acks.size();
    UUID[] cmdIds = new UUID[n];
    String[] devices = new String[n];
    String[] results = new String[n];
    String[] details = new String[n];
    OffsetDateTime[] at = new OffsetDateTime[n];
    for (int i = 0; i < n; i++) {
      Object[] ack = acks.get(i);
      cmdIds[i] = (UUID) ack[0];
      devices[i] = (String) ack[1];
      results[i] = (String) ack[2];
      details[i] = (String) ack[3];
      at[i] = (OffsetDateTime) ack[4];
    }
    // Only the device a command was sent to can answer it; a result replaces pending or timeout.
    return conn.preparedQuery("UPDATE device_commands c SET status = u.result, ack_detail = u.detail, acked_at = u.at "
            + "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) "
            + "AS u(cmd_id, device_id, result, detail, at) "
            + "WHERE c.cmd_id = u.cmd_id AND c.device_id = u.device_id AND c.status IN ('pending', 'timeout') "
            + "RETURNING c.cmd_id")
        .execute(Tuple.of(cmdIds, devices, results, details, at))
        .map(rows -> {
          for (int i = rows.rowCount(); i < n; i++) {
            metrics.error("unknown_command_ack");
          }
          return null;
        });
  }

  private static Instant later(Instant a, Instant b) {
    return a == null || b.isAfter(a) ? b : a;
  }

  private static OffsetDateTime odt(Instant instant) {
    return instant == null ? null : instant.atOffset(ZoneOffset.UTC);
  }
}
