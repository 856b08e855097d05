package io.iotmeter.intake;

import io.iotmeter.store.Columns;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The intake's own SQL, all within the caller's transaction but pruning: device registration,
 * locking and saving de-duplication state ({@code device_seq_tracking}) and the exact-copy
 * record ({@code intake_seen}). The journal it appends to is {@link io.iotmeter.journal.Journal}'s.
 * Batches go as arrays through {@code unnest}, so a batch of hundreds of messages costs a
 * handful of statements.
 */
final class IntakeStore {

  private IntakeStore() {
  }

  /** Registers the devices that are not registered yet (the registry's statement) and returns their ids. */
  static Future<Set<String>> registerUnknown(SqlConnection conn, Collection<String> deviceIds) {
    return io.iotmeter.registry.RegistryWrites.registerUnknown(conn, deviceIds.toArray(String[]::new));
  }

  static Future<Set<String>> known(SqlConnection conn, Collection<String> deviceIds) {
    return conn.preparedQuery("SELECT device_id FROM devices WHERE device_id = ANY($1::text[])")
        .execute(Tuple.of(deviceIds.toArray(String[]::new)))
        .map(rows -> {
          Set<String> known = new HashSet<>();
          rows.forEach(r -> known.add(r.getString(0)));
          return known;
        });
  }

  /**
   * Locks (and creates where missing) the de-duplication state of these devices for the rest
   * of the transaction. Rows are locked in device-id order, so concurrent batches on other
   * instances or nodes wait for each other instead of deadlocking.
   */
  static Future<Map<String, SequenceState>> lockStates(SqlConnection conn, Collection<String> deviceIds) {
    String[] ids = deviceIds.stream().sorted().toArray(String[]::new);
    // Only the ids that have no row yet are inserted: an insert that conflicts still costs a
    // speculative insertion per row, for every message of a device that exists (nearly all).
    return conn.preparedQuery("INSERT INTO device_seq_tracking (device_id) SELECT d FROM unnest($1::text[]) AS d "
            + "EXCEPT SELECT device_id FROM device_seq_tracking WHERE device_id = ANY($1::text[]) ON CONFLICT DO NOTHING")
        .execute(Tuple.of((Object) ids))
        .compose(v -> conn.preparedQuery("SELECT * FROM device_seq_tracking WHERE device_id = ANY($1::text[]) "
                + "ORDER BY device_id FOR UPDATE")
            .execute(Tuple.of((Object) ids)))
        .map(rows -> {
          Map<String, SequenceState> states = new HashMap<>();
          rows.forEach(row -> states.put(row.getString("device_id"), toState(row)));
          return states;
        });
  }

  static Future<Void> saveStates(SqlConnection conn, Map<String, SequenceState> states) {
    if (states.isEmpty()) {
      return Future.succeededFuture();
    }
    int n = states.size();
    String[] ids = new String[n];
    Long[] lastSeq = new Long[n];
    Integer[] epoch = new Integer[n];
    OffsetDateTime[] lastTs = new OffsetDateTime[n];
    OffsetDateTime[] epochStartedAt = new OffsetDateTime[n];
    OffsetDateTime[] previousEpochLastTs = new OffsetDateTime[n];
    OffsetDateTime[] lastAcceptedAt = new OffsetDateTime[n];
    OffsetDateTime[] onlineAt = new OffsetDateTime[n];
    OffsetDateTime[] onlineTs = new OffsetDateTime[n];
    String[] missing = new String[n];
    String[] recentStatus = new String[n];
    OffsetDateTime[] gapAlertDue = new OffsetDateTime[n];
    int i = 0;
    for (Map.Entry<String, SequenceState> entry : states.entrySet()) {
      SequenceState s = entry.getValue();
      ids[i] = entry.getKey();
      lastSeq[i] = s.lastSeq;
      epoch[i] = s.epoch;
      lastTs[i] = odt(s.lastTs);
      epochStartedAt[i] = odt(s.epochStartedAt);
      previousEpochLastTs[i] = odt(s.previousEpochLastTs);
      lastAcceptedAt[i] = odt(s.lastAcceptedAt);
      onlineAt[i] = odt(s.onlineAt);
      onlineTs[i] = odt(s.onlineTs);
      missing[i] = s.missingJson().encode();
      recentStatus[i] = s.recentStatusJson().encode();
      gapAlertDue[i] = odt(s.gapAlertDue);
      i++;
    }
    return conn.preparedQuery("UPDATE device_seq_tracking t SET last_seq = u.last_seq, epoch = u.epoch, "
            + "last_ts = u.last_ts, epoch_started_at = u.epoch_started_at, previous_epoch_last_ts = u.prev_ts, "
            + "last_accepted_at = u.last_accepted_at, online_at = u.online_at, online_ts = u.online_ts, "
            + "missing = u.missing::jsonb, recent_status = u.recent_status::jsonb, gap_alert_due = u.gap_alert_due, "
            + "updated_at = now() "
            + "FROM unnest($1::text[], $2::bigint[], $3::int[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[], "
            + "$7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::text[], $11::text[], $12::timestamptz[]) "
            + "AS u(device_id, last_seq, epoch, last_ts, epoch_started_at, prev_ts, last_accepted_at, online_at, "
            + "online_ts, missing, recent_status, gap_alert_due) WHERE t.device_id = u.device_id")
        .execute(Tuple.from(new Object[] {ids, lastSeq, epoch, lastTs, epochStartedAt, previousEpochLastTs,
            lastAcceptedAt, onlineAt, onlineTs, missing, recentStatus, gapAlertDue}))
        .mapEmpty();
  }

  /** A message's identity for the exact de-duplication check ({@code intake_seen}). */
  record SeenKey(String deviceId, long seq, Instant deviceTs) {
  }

  /**
   * What {@code intake_seen} holds for these (device, seq) pairs: device → seq → device times.
   * Call after {@link #lockStates}: the row locks order this read after any other transaction
   * that accepted messages of the same devices.
   */
  static Future<Map<String, Map<Long, Set<Instant>>>> seen(SqlConnection conn, List<SeenKey> keys) {
    Map<String, Map<Long, Set<Instant>>> seen = new HashMap<>();
    if (keys.isEmpty()) {
      return Future.succeededFuture(seen);
    }
    return conn.preparedQuery("SELECT s.device_id, s.seq, s.device_ts FROM intake_seen s "
            + "JOIN unnest($1::text[], $2::bigint[]) AS k(device_id, seq) USING (device_id, seq)")
        .execute(Tuple.of((Object) Columns.of(keys, SeenKey::deviceId, String[]::new), (Object) Columns.of(keys, SeenKey::seq, Long[]::new)))
        .map(rows -> {
          for (Row row : rows) {
            seen.computeIfAbsent(row.getString(0), d -> new HashMap<>())
                .computeIfAbsent(row.getLong(1), q -> new HashSet<>())
                .add(row.getOffsetDateTime(2).toInstant());
          }
          return seen;
        });
  }

  static Future<Void> saveSeen(SqlConnection conn, List<SeenKey> keys) {
    if (keys.isEmpty()) {
      return Future.succeededFuture();
    }
    return conn.preparedQuery("INSERT INTO intake_seen (device_id, seq, device_ts) "
            + "SELECT * FROM unnest($1::text[], $2::bigint[], $3::timestamptz[]) ON CONFLICT DO NOTHING")
        .execute(Tuple.of(Columns.of(keys, SeenKey::deviceId, String[]::new), Columns.of(keys, SeenKey::seq, Long[]::new),
            Columns.of(keys, k -> odt(k.deviceTs()), OffsetDateTime[]::new)))
        .mapEmpty();
  }

  /** Deletes up to 50,000 de-duplication keys older than the window; returns how many went. */
  static Future<Integer> pruneSeen(io.vertx.sqlclient.Pool pool, java.time.Duration window) {
    return pool.preparedQuery("DELETE FROM intake_seen WHERE ctid IN "
            + "(SELECT ctid FROM intake_seen WHERE accepted_at < now() - make_interval(secs => $1) LIMIT 50000)")
        .execute(Tuple.of((double) window.toSeconds()))
        .map(rows -> rows.rowCount());
  }

  private static SequenceState toState(Row row) {
    SequenceState s = new SequenceState();
    s.lastSeq = row.getLong("last_seq");
    s.epoch = row.getInteger("epoch");
    s.lastTs = instant(row.getOffsetDateTime("last_ts"));
    s.epochStartedAt = instant(row.getOffsetDateTime("epoch_started_at"));
    s.previousEpochLastTs = instant(row.getOffsetDateTime("previous_epoch_last_ts"));
    s.lastAcceptedAt = instant(row.getOffsetDateTime("last_accepted_at"));
    s.onlineAt = instant(row.getOffsetDateTime("online_at"));
    s.onlineTs = instant(row.getOffsetDateTime("online_ts"));
    s.gapCount = row.getInteger("gap_count");
    s.gapAlertDue = instant(row.getOffsetDateTime("gap_alert_due"));
    s.loadMissing((JsonArray) row.getValue("missing"));
    s.loadRecentStatus((JsonArray) row.getValue("recent_status"));
    return s;
  }

  static OffsetDateTime odt(Instant instant) {
    return instant == null ? null : instant.atOffset(ZoneOffset.UTC);
  }

  static Instant instant(OffsetDateTime time) {
    return time == null ? null : time.toInstant();
  }
}
