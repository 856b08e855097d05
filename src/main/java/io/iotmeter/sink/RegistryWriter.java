package io.iotmeter.sink;

import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.protocol.Category;
import io.iotmeter.registry.RegistryWrites;
import io.iotmeter.store.Columns;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;

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
 * which; going offline raises one {@code device_offline} alert), {@code fw_version} from hello,
 * command results from acknowledgements (an accepted {@code update_config} also records the
 * new settings in {@code device_configs} and the device's metadata, so liveness follows the
 * device's real intervals), and OTA progress per command.
 *
 * <p>Idempotent and order-safe: {@code last_seen} only moves forward, a status only replaces
 * one that is older ({@code connection_status_at}), a firmware version one that is older
 * ({@code fw_version_at}), a result only replaces {@code pending} or
 * {@code timeout}, and progress reports are keyed by their journal row — so a batch written
 * twice or late changes nothing.
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

  private record Ack(UUID cmdId, String deviceId, String result, String detail, Instant at) {
  }

  private record Progress(UUID cmdId, String deviceId, String state, Double pct, String target, String detail,
                          Instant reportedAt, Instant receivedAt, long journalId) {
  }

  private final Pool pool;
  private final IngestMetrics metrics;

  RegistryWriter(Pool pool, IngestMetrics metrics) {
    this.pool = pool;
    this.metrics = metrics;
  }

  @Override
  public boolean usesParsed() {
    return false; // it reads the few payloads it needs (not telemetry's) itself
  }

  @Override
  public Future<Void> write(List<AcceptedMessage> batch) {
    Map<String, DeviceFacts> facts = new LinkedHashMap<>();
    List<Ack> acks = new ArrayList<>();
    List<Progress> progress = new ArrayList<>();
    Map<Long, String> refused = new LinkedHashMap<>();
    int invalidCommandIds = 0;
    for (AcceptedMessage accepted : batch) {
      Instant at = accepted.receivedAt();
      // Everything this writer takes from a payload is read here, in one step: a payload it cannot
      // read (not JSON, not an object, a field of the wrong type — a message read back from the
      // journal is not validated again) is refused by its journal id, so that exactly it is
      // quarantined, instead of an exception thrown out of write() that names no message.
      String status;
      String fwVersion = null;
      Ack ack = null;
      Progress report = null;
      boolean invalidCommandId = false;
      try {
        // Telemetry, the bulk of the traffic, only says "seen now": its payload is not read again.
        JsonObject payload = accepted.category() == Category.TELEMETRY ? null : new JsonObject(accepted.payload());
        status = accepted.category() == Category.STATUS ? payload.getString("status") : "online";
        switch (accepted.category()) {
          case HELLO -> fwVersion = payload.getString("fw_version");
          case COMMAND_ACK -> {
            String result = payload.getString("result");
            String detail = payload.getString("detail");
            UUID id = commandId(payload);
            invalidCommandId = id == null;
            ack = id == null ? null : new Ack(id, accepted.deviceId(), result, detail, at);
          }
          case OTA_STATUS -> {
            String state = payload.getString("ota_state");
            Double pct = payload.getDouble("progress_pct");
            String target = payload.getString("fw_version_target");
            String detail = payload.getString("detail");
            UUID id = commandId(payload);
            invalidCommandId = id == null;
            report = id == null ? null : new Progress(id, accepted.deviceId(), state, pct, target, detail,
                accepted.deviceTs(), at, accepted.journalId());
          }
          default -> {
          }
        }
      } catch (RuntimeException e) {
        refused.put(accepted.journalId(), "payload cannot be read: " + e.getMessage());
        continue;
      }
      DeviceFacts device = facts.computeIfAbsent(accepted.deviceId(), id -> new DeviceFacts());
      // An offline status is the broker speaking for a vanished device (its will), not the device.
      if (!"offline".equals(status)) {
        device.lastSeen = later(device.lastSeen, at);
      }
      if (device.statusAt == null || !at.isBefore(device.statusAt)) {
        device.status = status;
        device.statusAt = at;
      }
      if (accepted.category() == Category.HELLO && (device.fwAt == null || !at.isBefore(device.fwAt))) {
        device.fwVersion = fwVersion;
        device.fwAt = at;
      }
      if (ack != null) {
        acks.add(ack);
      }
      if (report != null) {
        progress.add(report);
      }
      if (invalidCommandId) {
        invalidCommandIds++;
      }
    }
    if (!refused.isEmpty()) {
      return Future.failedFuture(new SinkRefusal(refused.size() + " messages cannot be read", refused));
    }
    // Counted once the batch goes to the store: a batch refused above comes back without its offenders.
    for (int i = 0; i < invalidCommandIds; i++) {
      metrics.error("invalid_cmd_id");
    }
    return pool.withTransaction(conn -> updateDevices(conn, facts)
        .compose(v -> updateCommands(conn, acks))
        .compose(v -> recordProgress(conn, progress)))
        .recover(e -> Future.failedFuture(refusesData(e) ? new SinkRefusal("PostgreSQL refused the batch: " + e.getMessage(), Map.of()) : e));
  }

  /**
   * SQLSTATE classes 22 (data exception: a value out of range, bad text), 23 (integrity) and 54
   * (a program limit): the statement's data is at fault, not the server, so the batch is split.
   */
  static boolean refusesData(Throwable e) {
    if (e instanceof io.vertx.pgclient.PgException pg && pg.getSqlState() != null) {
      String state = pg.getSqlState();
      return state.startsWith("22") || state.startsWith("23") || state.startsWith("54");
    }
    return false;
  }

  /**
   * The command an acknowledgement or progress report names; null when {@code cmd_id} is absent,
   * not text or no UUID: such a report can match no command (the platform's ids are UUIDs), so
   * it is counted as {@code invalid_cmd_id} and dropped, while the rest of its message (the
   * device was seen) and of its batch is stored.
   */
  private static UUID commandId(JsonObject payload) {
    try {
      return payload.getValue("cmd_id") instanceof String text ? UUID.fromString(text) : null;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private Future<Void> updateDevices(SqlConnection conn, Map<String, DeviceFacts> facts) {
    int n = facts.size();
    String[] ids = new String[n];
    OffsetDateTime[] seen = new OffsetDateTime[n];
    String[] status = new String[n];
    OffsetDateTime[] statusAt = new OffsetDateTime[n];
    String[] fw = new String[n];
    OffsetDateTime[] fwAt = new OffsetDateTime[n];
    int i = 0;
    for (Map.Entry<String, DeviceFacts> entry : facts.entrySet()) {
      ids[i] = entry.getKey();
      seen[i] = odt(entry.getValue().lastSeen);
      status[i] = entry.getValue().status;
      statusAt[i] = odt(entry.getValue().statusAt);
      fw[i] = entry.getValue().fwVersion;
      fwAt[i] = odt(entry.getValue().fwAt);
      i++;
    }
    return RegistryWrites.deviceFacts(conn, ids, seen, status, statusAt, fw, fwAt);
  }

  private Future<Void> updateCommands(SqlConnection conn, List<Ack> acks) {
    if (acks.isEmpty()) {
      return Future.succeededFuture();
    }
    return RegistryWrites.commandResults(conn,
            Columns.of(acks, Ack::cmdId, UUID[]::new),
            Columns.of(acks, Ack::deviceId, String[]::new),
            Columns.of(acks, Ack::result, String[]::new),
            Columns.of(acks, Ack::detail, String[]::new),
            Columns.of(acks, a -> odt(a.at()), OffsetDateTime[]::new))
        .map(matched -> {
          for (long i = matched; i < acks.size(); i++) {
            metrics.error("unmatched_command_ack");
          }
          return null;
        });
  }

  private Future<Void> recordProgress(SqlConnection conn, List<Progress> progress) {
    if (progress.isEmpty()) {
      return Future.succeededFuture();
    }
    return RegistryWrites.otaProgress(conn,
            Columns.of(progress, Progress::cmdId, UUID[]::new),
            Columns.of(progress, Progress::deviceId, String[]::new),
            Columns.of(progress, Progress::state, String[]::new),
            Columns.of(progress, Progress::pct, Double[]::new),
            Columns.of(progress, Progress::target, String[]::new),
            Columns.of(progress, Progress::detail, String[]::new),
            Columns.of(progress, p -> odt(p.reportedAt()), OffsetDateTime[]::new),
            Columns.of(progress, p -> odt(p.receivedAt()), OffsetDateTime[]::new),
            Columns.of(progress, Progress::journalId, Long[]::new))
        .map(matched -> {
          for (int i = matched; i < progress.size(); i++) {
            metrics.error("unmatched_ota_status");
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
