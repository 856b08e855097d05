package io.iotmeter.lifecycle;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;

/**
 * The protocol's liveness rule, for every device at once: a device is offline when nothing
 * arrived for longer than {@code 2 × max(send_interval_s, hello_interval_s)} of its own
 * configuration (defaults when unknown). One statement per check, whatever the number of
 * devices; it flips each silent device from online to offline exactly once and raises one
 * {@code device_offline} alert for it — on one node or many, since the database decides.
 * Traffic or an {@code online} status brings the device back (the registry sink).
 */
final class LivenessCheck {

  private final Pool pool;
  private final int defaultSendInterval;
  private final int defaultHelloInterval;

  LivenessCheck(Pool pool, int defaultSendInterval, int defaultHelloInterval) {
    this.pool = pool;
    this.defaultSendInterval = defaultSendInterval;
    this.defaultHelloInterval = defaultHelloInterval;
  }

  /** Marks silent devices offline; the future holds how many. */
  Future<Integer> run() {
    return pool.preparedQuery("WITH silent AS ("
            + "  SELECT device_id, last_seen, 2 * GREATEST(" + interval("send_interval_s", "$1") + ", "
            + interval("hello_interval_s", "$2") + ") AS timeout_s"
            + "  FROM devices WHERE connection_status = 'online'), "
            + "gone AS (UPDATE devices d SET connection_status = 'offline', connection_status_at = now() "
            + "  FROM silent s WHERE d.device_id = s.device_id AND d.connection_status = 'online' "
            + "  AND s.last_seen < now() - make_interval(secs => s.timeout_s) "
            + "  RETURNING d.device_id, s.last_seen, s.timeout_s) "
            + "INSERT INTO device_alerts (device_id, alert_type, severity, message) "
            + "SELECT device_id, 'device_offline', 'warning', "
            + "  'Device went offline: no message for more than ' || timeout_s || ' s (last seen ' "
            + "  || to_char(last_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || ')' FROM gone")
        .execute(Tuple.of(defaultSendInterval, defaultHelloInterval))
        .map(rows -> rows.rowCount());
  }

  /** A device's interval from its metadata, if it is a whole number; the default otherwise. */
  private static String interval(String key, String fallback) {
    return "CASE WHEN metadata->>'" + key + "' ~ '^[0-9]{1,6}$' THEN (metadata->>'" + key + "')::int ELSE " + fallback + "::int END";
  }
}
