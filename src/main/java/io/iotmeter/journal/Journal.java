package io.iotmeter.journal;

import io.iotmeter.protocol.Category;
import io.iotmeter.store.Columns;
import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The intake journal ({@code intake_journal}) and all of its SQL; no other class names the table.
 *
 * <p>The intake appends what it accepted, in the transaction that answers the device, with one
 * {@code pending} bit per sink that must store it ({@link SinkKind}). Each sink clears its bit
 * once its store has the message and claims back what it missed ({@link #pending}); the archive
 * records the object each message goes into; the quarantine takes a message out of a sink's way;
 * the intake prunes the rows no sink waits for. Batches go as arrays through {@code unnest}, so a
 * batch of hundreds of messages costs a handful of statements.
 */
public final class Journal {

  /** A message to append; {@code pending} holds the bits of the sinks that must store it. */
  public record Entry(String deviceId, String category, Integer epoch, Long seq, Instant deviceTs, String topic,
                      String payload, int qos, String source, Instant receivedAt, short pending) {
  }

  /** What a sink still has to store: how many messages, and since when the oldest waits (null when none). */
  public record Backlog(long messages, Instant oldest) {
  }

  private static final String MESSAGE_COLUMNS = "id, device_id, category, epoch, seq, device_ts, received_at, topic, source, payload";

  private Journal() {
  }

  /** Appends the entries (inside the intake's transaction) and returns their journal ids, in the entries' order. */
  public static Future<List<Long>> append(SqlConnection conn, List<Entry> entries) {
    if (entries.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    // Ids are drawn first so that each entry knows its own id without relying on the order
    // of INSERT ... RETURNING.
    return conn.preparedQuery("SELECT nextval('intake_journal_id_seq') FROM generate_series(1, $1)")
        .execute(Tuple.of(entries.size()))
        .compose(rows -> {
          List<Long> ids = new ArrayList<>(entries.size());
          rows.forEach(r -> ids.add(r.getLong(0)));
          return conn.preparedQuery("INSERT INTO intake_journal (id, device_id, category, epoch, seq, device_ts, topic, "
                  + "payload, qos, source, received_at, pending) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], "
                  + "$4::int[], $5::bigint[], $6::timestamptz[], $7::text[], $8::text[], $9::smallint[], $10::text[], "
                  + "$11::timestamptz[], $12::smallint[])")
              .execute(Tuple.from(new Object[] {
                  ids.toArray(Long[]::new),
                  Columns.of(entries, Entry::deviceId, String[]::new),
                  Columns.of(entries, Entry::category, String[]::new),
                  Columns.of(entries, Entry::epoch, Integer[]::new),
                  Columns.of(entries, Entry::seq, Long[]::new),
                  Columns.of(entries, e -> odt(e.deviceTs()), OffsetDateTime[]::new),
                  Columns.of(entries, Entry::topic, String[]::new),
                  Columns.of(entries, Entry::payload, String[]::new),
                  Columns.of(entries, e -> (short) e.qos(), Short[]::new),
                  Columns.of(entries, Entry::source, String[]::new),
                  Columns.of(entries, e -> odt(e.receivedAt()), OffsetDateTime[]::new),
                  Columns.of(entries, Entry::pending, Short[]::new)}))
              .map(v -> ids);
        });
  }

  /**
   * Up to {@code limit} messages still pending for {@code sink} that were accepted more than
   * {@code olderThan} ago (younger ones are most likely on their way over the bus), oldest first.
   */
  public static Future<List<AcceptedMessage>> pending(SqlClient client, SinkKind sink, Duration olderThan, int limit) {
    return client.preparedQuery("SELECT " + MESSAGE_COLUMNS + " FROM intake_journal WHERE (pending & $1::smallint) <> 0 "
            + "AND accepted_at < now() - make_interval(secs => $2) ORDER BY id LIMIT $3")
        .execute(Tuple.of((short) sink.bit(), olderThan.toMillis() / 1000.0, limit))
        .map(rows -> {
          List<AcceptedMessage> messages = new ArrayList<>(rows.size());
          rows.forEach(row -> messages.add(toMessage(row)));
          return messages;
        });
  }

  /** {@code sink} has stored these messages (or quarantined them): it no longer waits for them. */
  public static Future<Void> clear(SqlClient client, SinkKind sink, Collection<Long> journalIds) {
    return client.preparedQuery("UPDATE intake_journal SET pending = pending & ~($1::smallint) WHERE id = ANY($2::bigint[])")
        .execute(Tuple.of((short) sink.bit(), (Object) journalIds.toArray(Long[]::new)))
        .mapEmpty();
  }

  /** What {@code sink} has still to store: the pending rows are few and indexed, so it is a cheap look. */
  public static Future<Backlog> backlog(SqlClient client, SinkKind sink) {
    return client.preparedQuery("SELECT count(*), min(accepted_at) FROM intake_journal WHERE pending <> 0 AND (pending & $1) <> 0")
        .execute(Tuple.of((short) sink.bit()))
        .map(rows -> {
          Row row = rows.iterator().next();
          OffsetDateTime oldest = row.getOffsetDateTime(1);
          return new Backlog(row.getLong(0), oldest == null ? null : oldest.toInstant());
        });
  }

  /** One journal row as it was appended (its pending bits as they are now); empty once pruned. */
  public static Future<Optional<Entry>> read(SqlClient client, long journalId) {
    return client.preparedQuery("SELECT device_id, category, epoch, seq, device_ts, topic, payload, qos, source, received_at, "
            + "pending FROM intake_journal WHERE id = $1")
        .execute(Tuple.of(journalId))
        .map(rows -> {
          if (rows.size() == 0) {
            return Optional.empty();
          }
          Row r = rows.iterator().next();
          return Optional.of(new Entry(r.getString("device_id"), r.getString("category"), r.getInteger("epoch"),
              r.getLong("seq"), instant(r.getOffsetDateTime("device_ts")), r.getString("topic"), r.getString("payload"),
              r.getShort("qos"), r.getString("source"), instant(r.getOffsetDateTime("received_at")), r.getShort("pending")));
        });
  }

  /** Deletes up to 10,000 rows no sink waits for, oldest first; returns how many went. */
  public static Future<Integer> prune(SqlClient client) {
    return client.query("DELETE FROM intake_journal WHERE id IN "
            + "(SELECT id FROM intake_journal WHERE pending = 0 ORDER BY id LIMIT 10000)")
        .execute()
        .map(rows -> rows.rowCount());
  }

  // The archive's object keys: which object each message is written into, fixed once given.

  /**
   * Locks the rows of these messages that have no archive key yet (for the rest of the
   * transaction, in id order) and returns their ids; a row that has one keeps it.
   */
  public static Future<List<Long>> lockWithoutArchiveKey(SqlConnection conn, Collection<Long> journalIds) {
    return conn.preparedQuery("SELECT id FROM intake_journal WHERE id = ANY($1::bigint[]) AND archive_key IS NULL "
            + "ORDER BY id FOR UPDATE")
        .execute(Tuple.of((Object) journalIds.toArray(Long[]::new)))
        .map(rows -> {
          List<Long> ids = new ArrayList<>(rows.size());
          rows.forEach(r -> ids.add(r.getLong(0)));
          return ids;
        });
  }

  /** Records the archive key of each message (locked by {@link #lockWithoutArchiveKey}): key by journal id. */
  public static Future<Void> setArchiveKeys(SqlConnection conn, Map<Long, String> keys) {
    if (keys.isEmpty()) {
      return Future.succeededFuture();
    }
    return conn.preparedQuery("UPDATE intake_journal j SET archive_key = u.key FROM unnest($1::bigint[], $2::text[]) "
            + "AS u(id, key) WHERE j.id = u.id")
        .execute(Tuple.of((Object) keys.keySet().toArray(Long[]::new), (Object) keys.values().toArray(String[]::new)))
        .mapEmpty();
  }

  /**
   * The objects these messages belong to that are not written yet, each with every message
   * recorded under its key, in journal order. Objects already written with all their messages
   * are left out: their rows may be partly pruned by now, and rewriting them from the rest would
   * lose records.
   */
  public static Future<Map<String, List<AcceptedMessage>>> unwrittenArchiveObjects(SqlClient client, Collection<Long> journalIds) {
    return client.preparedQuery("SELECT " + MESSAGE_COLUMNS + ", archive_key, archive_written FROM intake_journal "
            + "WHERE archive_key IN (SELECT archive_key FROM intake_journal WHERE id = ANY($1::bigint[])) ORDER BY id")
        .execute(Tuple.of((Object) journalIds.toArray(Long[]::new)))
        .map(rows -> {
          Map<String, List<AcceptedMessage>> objects = new LinkedHashMap<>();
          Set<String> written = new HashSet<>();
          for (Row row : rows) {
            String key = row.getString("archive_key");
            if (row.getBoolean("archive_written")) {
              written.add(key);
            }
            objects.computeIfAbsent(key, k -> new ArrayList<>()).add(toMessage(row));
          }
          objects.keySet().removeAll(written);
          return objects;
        });
  }

  /** These objects are written: every row under their keys (before any of their bits is cleared). */
  public static Future<Void> markArchiveWritten(SqlClient client, Collection<String> keys) {
    if (keys.isEmpty()) {
      return Future.succeededFuture();
    }
    return client.preparedQuery("UPDATE intake_journal SET archive_written = true WHERE archive_key = ANY($1::text[])")
        .execute(Tuple.of((Object) keys.toArray(String[]::new)))
        .mapEmpty();
  }

  private static AcceptedMessage toMessage(Row row) {
    return new AcceptedMessage(row.getLong("id"), row.getString("device_id"),
        Category.fromName(row.getString("category")).orElseThrow(), row.getInteger("epoch"), row.getLong("seq"),
        instant(row.getOffsetDateTime("device_ts")), row.getOffsetDateTime("received_at").toInstant(), row.getString("topic"),
        row.getString("source"), row.getString("payload"));
  }

  private static OffsetDateTime odt(Instant instant) {
    return instant == null ? null : instant.atOffset(ZoneOffset.UTC);
  }

  private static Instant instant(OffsetDateTime time) {
    return time == null ? null : time.toInstant();
  }
}
