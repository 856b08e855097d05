package io.iotmeter.quarantine;

import io.iotmeter.journal.Journal;
import io.iotmeter.store.Columns;
import io.iotmeter.store.Rows;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * All SQL of {@code message_quarantine}: messages a sink could not store ({@code quarantined})
 * and messages the intake refused ({@code rejected}). Rows are written by the intake (rejected,
 * in the transaction that answers the device) and by the sinks (quarantined, in the transaction
 * that clears their journal bit), archived by the archive sink, replayed through the intake,
 * listed by the API, and pruned by the intake.
 */
public final class QuarantineStore {

  public static final String QUARANTINED = "quarantined";
  public static final String REJECTED = "rejected";
  /** The alert a quarantined message raises, at most once per device and hour. */
  public static final String ALERT_TYPE = io.iotmeter.registry.RegistryWrites.QUARANTINE_ALERT;

  private static final String LIST_COLUMNS = "id, kind, sink, error_type, reason, device_id, category, topic, qos, source, "
      + "received_at, journal_id, epoch, seq, device_ts, created_at, archive_key, archived_at, replayed_at, "
      + "replay_journal_id, octet_length(payload) AS payload_bytes";

  /** A message the intake refused, kept as evidence. */
  public record Rejected(String deviceId, String category, String errorType, String reason, String topic, byte[] payload,
                         int qos, String source, Instant receivedAt) {
  }

  /** A quarantined message as replay needs it. */
  public record Quarantined(long id, String kind, String sink, String deviceId, String category, Integer epoch, Long seq,
                            Instant deviceTs, String topic, byte[] payload, int qos, String source, Instant receivedAt,
                            Instant replayedAt) {
  }

  /** What {@code GET /api/quarantine} asks for. */
  public record Filter(String kind, String deviceId, String sink, Boolean replayed, int limit, long beforeId) {
  }

  private QuarantineStore() {
  }

  /** Keeps what the intake refused (inside the intake's transaction, before the device is answered). */
  public static Future<Void> insertRejected(SqlConnection conn, List<Rejected> rejected) {
    if (rejected.isEmpty()) {
      return Future.succeededFuture();
    }
    return conn.preparedQuery("INSERT INTO message_quarantine (kind, device_id, category, error_type, reason, topic, payload, "
            + "qos, source, received_at) SELECT 'rejected', * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], "
            + "$5::text[], $6::bytea[], $7::smallint[], $8::text[], $9::timestamptz[])")
        .execute(Tuple.from(new Object[] {
            Columns.of(rejected, Rejected::deviceId, String[]::new),
            Columns.of(rejected, Rejected::category, String[]::new),
            Columns.of(rejected, Rejected::errorType, String[]::new),
            Columns.of(rejected, r -> noNul(r.reason()), String[]::new),
            Columns.of(rejected, r -> noNul(r.topic()), String[]::new),
            Columns.of(rejected, r -> Buffer.buffer(r.payload()), Buffer[]::new),
            Columns.of(rejected, r -> (short) r.qos(), Short[]::new),
            Columns.of(rejected, Rejected::source, String[]::new),
            Columns.of(rejected, r -> odt(r.receivedAt()), OffsetDateTime[]::new)}))
        .mapEmpty();
  }

  /**
   * Quarantines journal row {@code journalId} ({@code message}) for {@code sink}: copies it with
   * the reason and raises one alert per device and hour. Call inside the transaction that clears
   * the sink's journal bit. The future holds false when the row was quarantined for this sink
   * already (another node was first).
   */
  public static Future<Boolean> quarantine(SqlConnection conn, long journalId, Journal.Entry message, String sink, String reason) {
    return conn.preparedQuery("INSERT INTO message_quarantine (kind, sink, error_type, reason, device_id, category, topic, "
            + "payload, qos, source, received_at, journal_id, epoch, seq, device_ts) "
            + "VALUES ('quarantined', $1, 'quarantined', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
            + "ON CONFLICT (journal_id, sink) WHERE kind = 'quarantined' DO NOTHING RETURNING device_id")
        .execute(Tuple.from(new Object[] {sink, noNul(reason), message.deviceId(), message.category(), message.topic(),
            Buffer.buffer(message.payload()), (short) message.qos(), message.source(), odt(message.receivedAt()), journalId,
            message.epoch(), message.seq(), odt(message.deviceTs())}))
        .compose(rows -> rows.size() == 0 ? Future.succeededFuture(false)
            : alertOncePerHour(conn, message.deviceId(), sink, reason).map(true));
  }

  private static Future<Void> alertOncePerHour(SqlConnection conn, String deviceId, String sink, String reason) {
    return io.iotmeter.registry.RegistryWrites.quarantineAlert(conn, deviceId, abbreviate("A message could not be stored by the "
        + sink + " sink and was quarantined (GET /api/quarantine?device_id=" + deviceId + "): " + noNul(reason), 1000));
  }

  /** Locks a row for replay; empty when there is none with that id. */
  public static Future<Optional<Quarantined>> lockForReplay(SqlConnection conn, long id) {
    return conn.preparedQuery("SELECT id, kind, sink, device_id, category, epoch, seq, device_ts, topic, payload, qos, source, "
            + "received_at, replayed_at FROM message_quarantine WHERE id = $1 FOR UPDATE")
        .execute(Tuple.of(id))
        .map(rows -> {
          if (rows.size() == 0) {
            return Optional.empty();
          }
          Row r = rows.iterator().next();
          return Optional.of(new Quarantined(r.getLong("id"), r.getString("kind"), r.getString("sink"), r.getString("device_id"),
              r.getString("category"), r.getInteger("epoch"), r.getLong("seq"), instant(r.getOffsetDateTime("device_ts")),
              r.getString("topic"), r.getBuffer("payload").getBytes(), r.getShort("qos"), r.getString("source"),
              instant(r.getOffsetDateTime("received_at")), instant(r.getOffsetDateTime("replayed_at"))));
        });
  }

  public static Future<Void> markReplayed(SqlConnection conn, long id, long replayJournalId) {
    return conn.preparedQuery("UPDATE message_quarantine SET replayed_at = now(), replay_journal_id = $2 WHERE id = $1")
        .execute(Tuple.of(id, replayJournalId))
        .mapEmpty();
  }

  /** Rows the archive has not written yet, oldest first. */
  public static Future<List<Evidence>> unarchived(SqlClient client, int limit) {
    return client.preparedQuery("SELECT id, kind, sink, error_type, reason, device_id, category, topic, payload, qos, source, "
            + "received_at, journal_id FROM message_quarantine WHERE archived_at IS NULL ORDER BY id LIMIT $1")
        .execute(Tuple.of(limit))
        .map(rows -> {
          List<Evidence> list = new ArrayList<>(rows.size());
          for (Row r : rows) {
            list.add(new Evidence(r.getLong("id"), r.getString("kind"), r.getString("sink"), r.getString("error_type"),
                r.getString("reason"), r.getString("device_id"), r.getString("category"), r.getString("topic"),
                r.getBuffer("payload").getBytes(), r.getShort("qos"), r.getString("source"),
                instant(r.getOffsetDateTime("received_at")), r.getLong("journal_id")));
          }
          return list;
        });
  }

  public static Future<Void> markArchived(SqlClient client, List<Evidence> written) {
    if (written.isEmpty()) {
      return Future.succeededFuture();
    }
    return client.preparedQuery("UPDATE message_quarantine q SET archived_at = now(), archive_key = u.key "
            + "FROM unnest($1::bigint[], $2::text[]) AS u(id, key) WHERE q.id = u.id")
        .execute(Tuple.of((Object) Columns.of(written, Evidence::id, Long[]::new), (Object) Columns.of(written, Evidence::key, String[]::new)))
        .mapEmpty();
  }

  /**
   * Deletes archived rejected rows older than {@code rejectedRetention} and replayed quarantined
   * rows older than {@code replayedRetention}, a bounded chunk at a time. Unreplayed quarantined
   * rows stay until an operator replays them.
   */
  public static Future<Integer> prune(SqlClient client, Duration rejectedRetention, Duration replayedRetention) {
    return client.preparedQuery("DELETE FROM message_quarantine WHERE id IN (SELECT id FROM message_quarantine WHERE "
            + "(kind = 'rejected' AND archived_at < now() - make_interval(secs => $1)) "
            + "OR (kind = 'quarantined' AND replayed_at < now() - make_interval(secs => $2)) LIMIT 10000)")
        .execute(Tuple.of((double) rejectedRetention.toSeconds(), (double) replayedRetention.toSeconds()))
        .map(rows -> rows.rowCount());
  }

  /** Quarantined messages not replayed yet (the {@code mqtt_collector_quarantine_messages} gauge). */
  public static Future<Long> countWaiting(SqlClient client) {
    return client.query("SELECT count(*) FROM message_quarantine WHERE kind = 'quarantined' AND replayed_at IS NULL")
        .execute()
        .map(rows -> rows.iterator().next().getLong(0));
  }

  /** Rows newest first, without their payload; page on with {@code beforeId} = the last id seen. */
  public static Future<JsonArray> list(SqlClient client, Filter filter) {
    return client.preparedQuery("SELECT " + LIST_COLUMNS + " FROM message_quarantine WHERE kind = $1 "
            + "AND ($2::text IS NULL OR device_id = $2) AND ($3::text IS NULL OR sink = $3) "
            + "AND ($4::boolean IS NULL OR (replayed_at IS NOT NULL) = $4) AND id < $5 ORDER BY id DESC LIMIT $6")
        .execute(Tuple.from(new Object[] {filter.kind(), filter.deviceId(), filter.sink(), filter.replayed(),
            filter.beforeId(), filter.limit()}))
        .map(rows -> Rows.array(rows, QuarantineStore::toJson));
  }

  /** One row with its payload (text, or base64 as {@code payload_base64}). */
  public static Future<Optional<JsonObject>> get(SqlClient client, long id) {
    return client.preparedQuery("SELECT " + LIST_COLUMNS + ", payload FROM message_quarantine WHERE id = $1")
        .execute(Tuple.of(id))
        .map(rows -> Rows.first(rows, row -> {
          JsonObject json = toJson(row);
          Evidence.putPayload(json, row.getBuffer("payload").getBytes());
          return json;
        }));
  }

  private static JsonObject toJson(Row row) {
    return new JsonObject()
        .put("id", row.getLong("id"))
        .put("kind", row.getString("kind"))
        .put("sink", row.getString("sink"))
        .put("error_type", row.getString("error_type"))
        .put("reason", row.getString("reason"))
        .put("device_id", row.getString("device_id"))
        .put("category", row.getString("category"))
        .put("topic", row.getString("topic"))
        .put("qos", row.getShort("qos"))
        .put("source", row.getString("source"))
        .put("received_at", Rows.iso(row.getOffsetDateTime("received_at")))
        .put("journal_id", row.getLong("journal_id"))
        .put("seq", row.getLong("seq"))
        .put("quarantined_at", Rows.iso(row.getOffsetDateTime("created_at")))
        .put("archive_key", row.getString("archive_key"))
        .put("archived_at", Rows.iso(row.getOffsetDateTime("archived_at")))
        .put("replayed_at", Rows.iso(row.getOffsetDateTime("replayed_at")))
        .put("replay_journal_id", row.getLong("replay_journal_id"))
        .put("payload_bytes", row.getInteger("payload_bytes"));
  }

  /** PostgreSQL text cannot hold NUL; a reason or topic quoting a device's bytes might. */
  private static String noNul(String text) {
    return text == null ? null : text.replace('\u0000', '\uFFFD');
  }

  private static String abbreviate(String text, int max) {
    return text.length() <= max ? text : text.substring(0, max - 1) + "…";
  }

  private static OffsetDateTime odt(Instant instant) {
    return instant == null ? null : instant.atOffset(ZoneOffset.UTC);
  }

  private static Instant instant(OffsetDateTime time) {
    return time == null ? null : time.toInstant();
  }
}
