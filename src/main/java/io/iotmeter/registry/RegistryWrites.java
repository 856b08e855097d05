package io.iotmeter.registry;

import io.vertx.core.Future;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;

import java.time.OffsetDateTime;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;

/**
 * Every write that device traffic and the platform's own jobs make to the registry's tables —
 * {@code devices}, {@code device_alerts}, {@code device_commands} and their satellites — in one
 * place, so that each table has one owner (the registry) and each rule one statement: the intake
 * registers devices and raises gap alerts, the registry sink records status, firmware and
 * command results, the lifecycle jobs time commands out, mark their delivery and call silent
 * devices offline, the quarantine raises its alert — all through here. (The REST API's writes are
 * in the repositories beside this class.) Each method takes a client, a pool or the caller's
 * open transaction, and runs one statement; batches go as arrays through {@code unnest}.
 */
public final class RegistryWrites {

  /** The alert a quarantined message raises (at most one per device and hour). */
  public static final String QUARANTINE_ALERT = "message_quarantined";

  private RegistryWrites() {
  }

  /**
   * The one way a {@code device_offline} alert is raised: an INSERT of one alert per row of
   * {@code from}, for statements that take devices offline (the will, liveness).
   */
  private static String offlineAlerts(String deviceColumn, String message, String from) {
    return "INSERT INTO device_alerts (device_id, alert_type, severity, message) "
        + "SELECT " + deviceColumn + ", 'device_offline', 'warning', " + message + " FROM " + from;
  }

  // ---------------------------------------------------------------- the intake

  /**
   * Registers the devices that are not registered yet and returns their ids. The
   * {@code NOT EXISTS} keeps known devices from consuming values of the id sequence.
   */
  public static Future<Set<String>> registerUnknown(SqlClient client, String[] deviceIds) {
    return client.preparedQuery("INSERT INTO devices (device_id, device_name, metadata) "
            + "SELECT d, d, jsonb_build_object('auto_registered', true) FROM unnest($1::text[]) AS d "
            + "WHERE NOT EXISTS (SELECT 1 FROM devices x WHERE x.device_id = d) "
            + "ON CONFLICT (device_id) DO NOTHING RETURNING device_id")
        .execute(Tuple.of((Object) deviceIds))
        .map(rows -> {
          Set<String> registered = new HashSet<>();
          rows.forEach(r -> registered.add(r.getString(0)));
          return registered;
        });
  }

  /**
   * Registers a device with its name, type and metadata unless it is registered already (then
   * nothing changes: an operator's edits stay); true when it was registered now.
   */
  public static Future<Boolean> registerIfAbsent(SqlClient client, String deviceId, String name, String type,
                                                 io.vertx.core.json.JsonObject metadata) {
    return client.preparedQuery("INSERT INTO devices (device_id, device_name, device_type, metadata) VALUES ($1, $2, $3, $4) "
            + "ON CONFLICT (device_id) DO NOTHING")
        .execute(Tuple.of(deviceId, name, type, metadata))
        .map(rows -> rows.rowCount() == 1);
  }

  /** One {@code sequence_gap} alert per device and message. */
  public static Future<Void> sequenceGapAlerts(SqlClient client, String[] deviceIds, String[] messages) {
    return client.preparedQuery("INSERT INTO device_alerts (device_id, alert_type, severity, message) "
            + "SELECT d, 'sequence_gap', 'warning', m FROM unnest($1::text[], $2::text[]) AS u(d, m)")
        .execute(Tuple.of((Object) deviceIds, (Object) messages))
        .mapEmpty();
  }

  // ---------------------------------------------------------------- the registry sink

  /**
   * A batch's newest facts per device: {@code last_seen} only moves forward, a status only
   * replaces an older one, a firmware version likewise; a device this takes from online to
   * offline gets one {@code device_offline} alert. All parts of the statement see the rows as
   * they were before it, which is how it knows which devices it takes offline.
   */
  public static Future<Void> deviceFacts(SqlClient client, String[] ids, OffsetDateTime[] seen, String[] status,
                                         OffsetDateTime[] statusAt, String[] fw, OffsetDateTime[] fwAt) {
    return client.preparedQuery("WITH u AS (SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::timestamptz[], "
        + "$5::text[], $6::timestamptz[]) AS u(device_id, seen, status, status_at, fw, fw_at)), "
        + "before AS (SELECT d.device_id, d.connection_status FROM devices d JOIN u USING (device_id)), "
        + "changed AS (UPDATE devices d SET "
        + "  last_seen = CASE WHEN u.seen IS NULL THEN d.last_seen ELSE GREATEST(COALESCE(d.last_seen, u.seen), u.seen) END, "
        + "  connection_status = CASE WHEN d.connection_status_at IS NULL OR u.status_at >= d.connection_status_at "
        + "    THEN u.status ELSE d.connection_status END, "
        + "  connection_status_at = GREATEST(COALESCE(d.connection_status_at, u.status_at), u.status_at), "
        + "  fw_version = CASE WHEN u.fw IS NOT NULL AND (d.fw_version_at IS NULL OR u.fw_at >= d.fw_version_at) "
        + "    THEN u.fw ELSE d.fw_version END, "
        + "  fw_version_at = CASE WHEN u.fw IS NULL THEN d.fw_version_at ELSE GREATEST(COALESCE(d.fw_version_at, u.fw_at), u.fw_at) END "
        + "  FROM u WHERE d.device_id = u.device_id RETURNING d.device_id, d.connection_status) "
        + offlineAlerts("c.device_id", "'Device went offline: an offline status arrived (its last will, or the device itself)'",
                "changed c JOIN before b USING (device_id) WHERE b.connection_status = 'online' AND c.connection_status = 'offline'"))
        .execute(Tuple.from(new Object[] {ids, seen, status, statusAt, fw, fwAt}))
        .mapEmpty();
  }

  /**
   * Command results from acknowledgements: only the device a command was sent to can answer it;
   * a result replaces pending or timeout. An accepted {@code update_config} is the device's new
   * configuration: recorded per key (audited by updated_at) and merged into its metadata, which
   * liveness reads its intervals from. The future holds how many commands matched.
   */
  public static Future<Long> commandResults(SqlClient client, UUID[] cmdIds, String[] deviceIds, String[] results,
                                            String[] details, OffsetDateTime[] at) {
    return client.preparedQuery("WITH acked AS (UPDATE device_commands c SET status = u.result, ack_detail = u.detail, acked_at = u.at "
        + "  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) AS u(cmd_id, device_id, result, detail, at) "
        + "  WHERE c.cmd_id = u.cmd_id AND c.device_id = u.device_id AND c.status IN ('pending', 'timeout') "
        + "  RETURNING c.device_id, c.cmd, c.params, c.status), "
        + "configured AS (SELECT a.device_id, CASE WHEN a.cmd = 'factory_reset' "
        + "    THEN '" + io.iotmeter.protocol.DeviceDefaults.settingsJson() + "'::jsonb ELSE a.params END AS settings "
        + "  FROM acked a WHERE a.status = 'accepted' AND a.cmd IN ('update_config', 'factory_reset')), "
        + "configs AS (INSERT INTO device_configs (device_id, config_key, config_value, updated_at) "
        + "  SELECT c.device_id, kv.key, kv.value, now() FROM configured c, jsonb_each(c.settings) kv "
        + "  ON CONFLICT (device_id, config_key) DO UPDATE SET config_value = EXCLUDED.config_value, updated_at = now()), "
        + "metadata AS (UPDATE devices d SET metadata = d.metadata || c.settings, updated_at = now() "
        + "  FROM configured c WHERE d.device_id = c.device_id) "
        + "SELECT count(*) FROM acked")
        .execute(Tuple.of(cmdIds, deviceIds, results, details, at))
        .map(rows -> rows.iterator().next().getLong(0));
  }

  /** OTA progress reports, one row each, keyed by their journal row; the future holds how many matched a command. */
  public static Future<Integer> otaProgress(SqlClient client, UUID[] cmdIds, String[] deviceIds, String[] states,
                                           Double[] pcts, String[] targets, String[] details, OffsetDateTime[] reported,
                                           OffsetDateTime[] received, Long[] journalIds) {
    return client.preparedQuery("INSERT INTO device_command_progress (cmd_id, ota_state, progress_pct, fw_version_target, detail, "
        + "reported_at, received_at, journal_id) "
        + "SELECT u.cmd_id, u.state, u.pct, u.target, u.detail, u.reported, u.received, u.journal "
        + "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::float8[], $5::text[], $6::text[], $7::timestamptz[], "
        + "$8::timestamptz[], $9::bigint[]) AS u(cmd_id, device_id, state, pct, target, detail, reported, received, journal) "
        + "JOIN device_commands c ON c.cmd_id = u.cmd_id AND c.device_id = u.device_id "
        + "ON CONFLICT (journal_id) DO NOTHING")
        .execute(Tuple.from(new Object[] {cmdIds, deviceIds, states, pcts, targets, details, reported, received, journalIds}))
        .map(rows -> rows.rowCount());
  }

  // ---------------------------------------------------------------- the lifecycle jobs

  /**
   * The protocol's liveness rule for every device at once: a device is offline when nothing
   * arrived for longer than {@code 2 × max(send_interval_s, hello_interval_s)} of its own
   * configuration (the defaults when unknown). Each silent device flips from online to offline
   * exactly once, with one {@code device_offline} alert — on one node or many. The future holds
   * how many.
   */
  public static Future<Integer> markSilentOffline(SqlClient client, int defaultSendInterval, int defaultHelloInterval) {
    return client.preparedQuery("WITH silent AS ("
            + "  SELECT device_id, last_seen, 2 * GREATEST(" + interval("send_interval_s", "$1") + ", "
            + interval("hello_interval_s", "$2") + ") AS timeout_s"
            + "  FROM devices WHERE connection_status = 'online'), "
            + "gone AS (UPDATE devices d SET connection_status = 'offline', connection_status_at = now() "
            + "  FROM silent s WHERE d.device_id = s.device_id AND d.connection_status = 'online' "
            + "  AND s.last_seen < now() - make_interval(secs => s.timeout_s) "
            + "  RETURNING d.device_id, s.last_seen, s.timeout_s) "
            + offlineAlerts("device_id", "'Device went offline: no message for more than ' || timeout_s || ' s (last seen ' "
                + "|| to_char(last_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || ')'", "gone"))
        .execute(Tuple.of(defaultSendInterval, defaultHelloInterval))
        .map(rows -> rows.rowCount());
  }

  /** A device's interval from its metadata, if it is a whole number; the default otherwise. */
  private static String interval(String key, String fallback) {
    return "CASE WHEN metadata->>'" + key + "' ~ '^[0-9]{1,6}$' THEN (metadata->>'" + key + "')::int ELSE " + fallback + "::int END";
  }

  /** Pending commands older than the timeout become {@code timeout}; the future holds how many. */
  public static Future<Integer> timeOutCommands(SqlClient client, long timeoutSeconds) {
    return client.preparedQuery("UPDATE device_commands SET status = 'timeout', "
            + "ack_detail = 'no acknowledgement within ' || $1 || ' s' "
            + "WHERE status = 'pending' AND created_at < now() - make_interval(secs => $1)")
        .execute(Tuple.of(timeoutSeconds))
        .map(rows -> rows.rowCount());
  }

  /** The device acknowledged a command's MQTT delivery (the first time counts). */
  public static Future<Void> commandDelivered(SqlClient client, UUID cmdId, String deviceId) {
    return client.preparedQuery("UPDATE device_commands SET delivered_at = now() WHERE cmd_id = $1 AND device_id = $2 "
            + "AND delivered_at IS NULL")
        .execute(Tuple.of(cmdId, deviceId))
        .mapEmpty();
  }

  /** A waiting command was published to its device after it came back. */
  public static Future<Void> commandPublished(SqlClient client, UUID cmdId) {
    return client.preparedQuery("UPDATE device_commands SET published_at = now() WHERE cmd_id = $1")
        .execute(Tuple.of(cmdId))
        .mapEmpty();
  }

  // ---------------------------------------------------------------- the quarantine

  /**
   * A {@link #QUARANTINE_ALERT} for a registered device, unless it had one in the last hour. The
   * advisory lock makes "none in the last hour" a decision one transaction at a time: call it in
   * the transaction that quarantines.
   */
  public static Future<Void> quarantineAlert(SqlClient client, String deviceId, String message) {
    return client.preparedQuery("SELECT pg_advisory_xact_lock(hashtext('" + QUARANTINE_ALERT + ":' || $1))")
        .execute(Tuple.of(deviceId))
        .compose(v -> client.preparedQuery("INSERT INTO device_alerts (device_id, alert_type, severity, message) "
                + "SELECT d.device_id, '" + QUARANTINE_ALERT + "', 'error', $2 FROM devices d WHERE d.device_id = $1 "
                + "AND NOT EXISTS (SELECT 1 FROM device_alerts a WHERE a.device_id = $1 AND a.alert_type = '"
                + QUARANTINE_ALERT + "' AND a.created_at > now() - interval '1 hour')")
            .execute(Tuple.of(deviceId, message)))
        .mapEmpty();
  }
}
