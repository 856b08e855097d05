package io.iotmeter.journal;

import io.iotmeter.protocol.AcceptedMessage;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The intake journal ({@code journal}, {@code journal_cursor}) and all of its SQL; no other class
 * names the tables.
 *
 * <p>Append-only: the intake appends what it accepted, in the transaction that answers the device,
 * with a bit for every sink that must store it ({@link SinkKind}); a row is never updated. Each
 * sink reads the rows after its cursor in (transaction, id) order and moves its cursor once per
 * batch; whole partitions go once every sink has passed them. Rows are read only behind the
 * oldest running transaction ({@code pg_snapshot_xmin}): a transaction still appending can only
 * add rows ahead of that horizon, so a cursor never passes a row that is not there yet.
 *
 * <p>One node feeds a sink at a time: it holds the sink's cursor row under a lease (database
 * time), renewed with every move. Batches go as arrays through {@code unnest}, so a batch of
 * hundreds of messages costs a handful of statements.
 */
public final class Journal {

  /** A message to append; {@code sinks} holds the bits of the sinks that must store it. */
  public record Entry(String deviceId, String category, Integer epoch, Long seq, Instant deviceTs, String topic,
                      String payload, int qos, String source, Instant receivedAt, short sinks) {
  }

  /** A place in the journal's order: the appending transaction, then the id. */
  public record Position(long tx, long id) implements Comparable<Position> {

    /** Before every row. */
    public static final Position START = new Position(0, 0);

    @Override
    public int compareTo(Position other) {
      int byTx = Long.compareUnsigned(tx, other.tx);
      return byTx != 0 ? byTx : Long.compare(id, other.id);
    }
  }

  /** A sink's cursor as its new owner finds it: where it stands, and the end of a batch left unfinished (or null). */
  public record Claim(Position cursor, Position batchEnd) {
  }

  /** What a sink has still to store: how many messages, and since when the oldest waits (null when none). */
  public record Backlog(long messages, Instant oldest) {
  }

  /** Ids per partition. The migration that made the table used the same width. */
  public static final long PARTITION_IDS = 262_144;

  private static final Pattern PARTITION = Pattern.compile("journal_p(\\d+)_(\\d+)");

  private static final String MESSAGE_COLUMNS = "id, device_id, category, epoch, seq, device_ts, received_at, topic, source, payload";

  /** Rows whose transaction ended before every running one began: nothing can appear before them any more. */
  private static final String SETTLED = "tx < pg_snapshot_xmin(pg_current_snapshot())";

  private Journal() {
  }

  /** Appends the entries (inside the intake's transaction) and returns their journal ids, in the entries' order. */
  public static Future<List<Long>> append(SqlConnection conn, List<Entry> entries) {
    if (entries.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    // Ids are drawn first so that each entry knows its own id without relying on the order
    // of INSERT ... RETURNING.
    return conn.preparedQuery("SELECT nextval('journal_id_seq') FROM generate_series(1, $1)")
        .execute(Tuple.of(entries.size()))
        .compose(rows -> {
          List<Long> ids = new ArrayList<>(entries.size());
          rows.forEach(r -> ids.add(r.getLong(0)));
          return conn.preparedQuery("INSERT INTO journal (id, device_id, category, epoch, seq, device_ts, topic, "
                  + "payload, qos, source, received_at, sinks) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], "
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
                  Columns.of(entries, Entry::sinks, Short[]::new)}))
              .map(v -> ids);
        });
  }

  // ---------------------------------------------------------------- reading, for a sink

  /**
   * The positions of up to {@code limit} settled rows for {@code sink} after {@code after}, in
   * order; with {@code until}, only those up to it (a batch rebuilt exactly).
   */
  public static Future<List<Position>> next(SqlClient client, SinkKind sink, Position after, Position until, int limit) {
    String bound = until == null ? "" : "AND (tx, id) <= ($5::text::xid8, $6) ";
    Tuple args = Tuple.of(Long.toUnsignedString(after.tx()), after.id(), (short) sink.bit(), limit);
    if (until != null) {
      args.addString(Long.toUnsignedString(until.tx())).addLong(until.id());
    }
    // The text column has a name of its own: "ORDER BY tx" would otherwise sort by the output
    // column tx::text, as text ("1001" before "995"), and a cursor would pass rows by.
    return client.preparedQuery("SELECT tx::text AS tx_text, id FROM journal WHERE (tx, id) > ($1::text::xid8, $2) " + bound
            + "AND " + SETTLED + " AND (sinks & $3::smallint) <> 0 ORDER BY tx, id LIMIT $4")
        .execute(args)
        .map(rows -> {
          List<Position> positions = new ArrayList<>(rows.size());
          rows.forEach(r -> positions.add(new Position(Long.parseUnsignedLong(r.getString(0)), r.getLong(1))));
          return positions;
        });
  }

  /** The messages of these ids, by id (ids pruned meanwhile are absent). */
  public static Future<Map<Long, AcceptedMessage>> messages(SqlClient client, Collection<Long> ids) {
    if (ids.isEmpty()) {
      return Future.succeededFuture(Map.of());
    }
    return client.preparedQuery("SELECT " + MESSAGE_COLUMNS + " FROM journal WHERE id = ANY($1::bigint[])")
        .execute(Tuple.of((Object) ids.toArray(Long[]::new)))
        .map(rows -> {
          Map<Long, AcceptedMessage> messages = new HashMap<>(rows.size() * 2);
          rows.forEach(row -> messages.put(row.getLong("id"), toMessage(row)));
          return messages;
        });
  }

  /** One journal row as it was appended; empty once pruned. */
  public static Future<Optional<Entry>> read(SqlClient client, long journalId) {
    return client.preparedQuery("SELECT device_id, category, epoch, seq, device_ts, topic, payload, qos, source, received_at, "
            + "sinks FROM journal WHERE id = $1")
        .execute(Tuple.of(journalId))
        .map(rows -> {
          if (rows.size() == 0) {
            return Optional.empty();
          }
          Row r = rows.iterator().next();
          return Optional.of(new Entry(r.getString("device_id"), r.getString("category"), r.getInteger("epoch"),
              r.getLong("seq"), instant(r.getOffsetDateTime("device_ts")), r.getString("topic"), r.getString("payload"),
              r.getShort("qos"), r.getString("source"), instant(r.getOffsetDateTime("received_at")), r.getShort("sinks")));
        });
  }

  // ---------------------------------------------------------------- a sink's cursor

  /**
   * Takes {@code sink}'s cursor for {@code owner} if nobody holds it (or the holder's lease ran
   * out, or it is {@code owner} already); empty when another node holds it.
   */
  public static Future<Optional<Claim>> claim(SqlClient client, SinkKind sink, String owner, Duration lease) {
    return client.preparedQuery("INSERT INTO journal_cursor (sink) VALUES ($1) ON CONFLICT DO NOTHING")
        .execute(Tuple.of(sink.configName()))
        .compose(v -> client.preparedQuery("UPDATE journal_cursor SET owner = $2, lease_until = now() + make_interval(secs => $3), "
                + "updated_at = now() WHERE sink = $1 AND (owner IS NULL OR owner = $2 OR lease_until < now()) "
                + "RETURNING tx::text, id, batch_tx::text, batch_id")
            .execute(Tuple.of(sink.configName(), owner, seconds(lease))))
        .map(rows -> {
          if (rows.size() == 0) {
            return Optional.empty();
          }
          Row r = rows.iterator().next();
          Position batchEnd = r.getString(2) == null ? null : new Position(Long.parseUnsignedLong(r.getString(2)), r.getLong(3));
          return Optional.of(new Claim(new Position(Long.parseUnsignedLong(r.getString(0)), r.getLong(1)), batchEnd));
        });
  }

  /** Records the end of the batch {@code owner} is about to write; false when it no longer holds the cursor. */
  public static Future<Boolean> beginBatch(SqlClient client, SinkKind sink, String owner, Position end, Duration lease) {
    return client.preparedQuery("UPDATE journal_cursor SET batch_tx = $3::text::xid8, batch_id = $4, "
            + "lease_until = now() + make_interval(secs => $5), updated_at = now() WHERE sink = $1 AND owner = $2")
        .execute(Tuple.of(sink.configName(), owner, Long.toUnsignedString(end.tx()), end.id(), seconds(lease)))
        .map(rows -> rows.rowCount() == 1);
  }

  /**
   * Moves the cursor to {@code to} (every row up to it is stored) and renews the lease; false
   * when {@code owner} no longer holds the cursor. {@code to} null only renews the lease.
   */
  public static Future<Boolean> advance(SqlClient client, SinkKind sink, String owner, Position to, Duration lease) {
    if (to == null) {
      return client.preparedQuery("UPDATE journal_cursor SET lease_until = now() + make_interval(secs => $3) "
              + "WHERE sink = $1 AND owner = $2")
          .execute(Tuple.of(sink.configName(), owner, seconds(lease)))
          .map(rows -> rows.rowCount() == 1);
    }
    return client.preparedQuery("UPDATE journal_cursor SET tx = $3::text::xid8, id = $4, batch_tx = NULL, batch_id = NULL, "
            + "lease_until = now() + make_interval(secs => $5), updated_at = now() WHERE sink = $1 AND owner = $2")
        .execute(Tuple.of(sink.configName(), owner, Long.toUnsignedString(to.tx()), to.id(), seconds(lease)))
        .map(rows -> rows.rowCount() == 1);
  }

  /** Gives the cursor up (a node stopping), so another node takes over without waiting for the lease. */
  public static Future<Void> release(SqlClient client, SinkKind sink, String owner) {
    return client.preparedQuery("UPDATE journal_cursor SET owner = NULL, lease_until = NULL WHERE sink = $1 AND owner = $2")
        .execute(Tuple.of(sink.configName(), owner))
        .mapEmpty();
  }

  /** Up to this many rows after a cursor are counted exactly; beyond, the backlog is estimated from ids. */
  static final int EXACT_BACKLOG = 10_000;

  /**
   * What {@code sink} has still to store: the rows after its cursor — counted up to
   * {@link #EXACT_BACKLOG}, estimated beyond (the ids after the cursor's, including those of
   * transactions that rolled back). Counting a large backlog row by row every few seconds for
   * every sink cost PostgreSQL more than the journal's inserts (40 µs a datagram at saturation,
   * by pg_stat_statements); this costs at most a bounded index scan.
   */
  public static Future<Backlog> backlog(SqlClient client, SinkKind sink) {
    // The cursor as scalar subqueries (parameters to the plan), not a join: only then does the row
    // comparison bound the (tx, id) index scan (a join made it a scan of the whole journal).
    String cursorTx = "coalesce((SELECT tx FROM journal_cursor WHERE sink = $1), '0'::xid8)";
    String cursorId = "coalesce((SELECT id FROM journal_cursor WHERE sink = $1), 0)";
    return client.preparedQuery("SELECT count(*), min(w.accepted_at), (SELECT max(id) FROM journal) - " + cursorId
            + " FROM (SELECT j.accepted_at FROM journal j WHERE (j.tx, j.id) > (" + cursorTx + ", " + cursorId + ") "
            + "AND (j.sinks & $2::smallint) <> 0 ORDER BY j.tx, j.id LIMIT " + (EXACT_BACKLOG + 1) + ") w")
        .execute(Tuple.of(sink.configName(), (short) sink.bit()))
        .map(rows -> {
          Row row = rows.iterator().next();
          long counted = row.getLong(0);
          OffsetDateTime oldest = row.getOffsetDateTime(1);
          Long idsAfter = row.getLong(2);
          long messages = counted <= EXACT_BACKLOG || idsAfter == null ? counted : Math.max(counted, idsAfter);
          return new Backlog(messages, oldest == null ? null : oldest.toInstant());
        });
  }

  // ---------------------------------------------------------------- partitions

  /** A partition of the journal: ids {@code from} (inclusive) to {@code to} (exclusive). */
  record Partition(String name, long from, long to) {
  }

  static Future<List<Partition>> partitions(SqlClient client) {
    return client.query("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            + "WHERE i.inhparent = 'journal'::regclass")
        .execute()
        .map(rows -> {
          List<Partition> partitions = new ArrayList<>();
          for (Row row : rows) {
            Matcher m = PARTITION.matcher(row.getString(0));
            if (m.matches()) {
              partitions.add(new Partition(row.getString(0), Long.parseLong(m.group(1)), Long.parseLong(m.group(2))));
            }
          }
          partitions.sort(java.util.Comparator.comparingLong(Partition::from));
          return partitions;
        });
  }

  /**
   * Keeps the journal's partitions two widths ahead of the ids drawn so far, and drops the
   * partitions every sink has passed (no row in them after the cursor of a sink it names), oldest
   * first; returns how many went. A partition still receiving ids is never dropped.
   */
  public static Future<Integer> maintain(SqlClient client) {
    return client.query("SELECT last_value FROM journal_id_seq").execute()
        .map(rows -> rows.iterator().next().getLong(0))
        .compose(lastId -> partitions(client).compose(partitions -> createAhead(client, partitions, lastId)
            .compose(v -> cursors(client))
            .compose(cursors -> dropPassed(client, partitions, lastId, cursors, 0))));
  }

  private static Future<Void> createAhead(SqlClient client, List<Partition> partitions, long lastId) {
    long end = partitions.isEmpty() ? (lastId / PARTITION_IDS) * PARTITION_IDS : partitions.get(partitions.size() - 1).to();
    Future<Void> created = Future.succeededFuture();
    while (end < lastId + 2 * PARTITION_IDS) {
      long from = end;
      long to = end + PARTITION_IDS;
      created = created.compose(v -> client.query("CREATE TABLE IF NOT EXISTS journal_p" + from + "_" + to
          + " PARTITION OF journal FOR VALUES FROM (" + from + ") TO (" + to + ")").execute().mapEmpty());
      end = to;
    }
    return created;
  }

  private static Future<Map<SinkKind, Position>> cursors(SqlClient client) {
    return client.query("SELECT sink, tx::text, id FROM journal_cursor").execute().map(rows -> {
      Map<SinkKind, Position> cursors = new HashMap<>();
      for (SinkKind sink : SinkKind.values()) {
        cursors.put(sink, Position.START);
      }
      for (Row row : rows) {
        cursors.put(SinkKind.fromConfigName(row.getString(0)),
            new Position(Long.parseUnsignedLong(row.getString(1)), row.getLong(2)));
      }
      return cursors;
    });
  }

  private static Future<Integer> dropPassed(SqlClient client, List<Partition> partitions, long lastId,
                                            Map<SinkKind, Position> cursors, int dropped) {
    if (partitions.isEmpty() || partitions.get(0).to() > lastId) {
      return Future.succeededFuture(dropped);
    }
    Partition oldest = partitions.get(0);
    StringBuilder waiting = new StringBuilder();
    for (SinkKind sink : SinkKind.values()) {
      Position cursor = cursors.get(sink);
      waiting.append(waiting.length() == 0 ? "" : " OR ").append("((sinks & ").append(sink.bit()).append(") <> 0 AND (tx, id) > ('")
          .append(Long.toUnsignedString(cursor.tx())).append("'::xid8, ").append(cursor.id()).append("))");
    }
    return client.query("SELECT EXISTS (SELECT 1 FROM " + oldest.name() + " WHERE " + waiting + ")").execute()
        .compose(rows -> {
          if (rows.iterator().next().getBoolean(0)) {
            return Future.succeededFuture(dropped); // a sink still needs it, and so every later one
          }
          return client.query("DROP TABLE IF EXISTS " + oldest.name()).execute()
              .compose(v -> dropPassed(client, partitions.subList(1, partitions.size()), lastId, cursors, dropped + 1));
        });
  }

  // ---------------------------------------------------------------- helpers

  private static AcceptedMessage toMessage(Row row) {
    return new AcceptedMessage(row.getLong("id"), row.getString("device_id"),
        Category.fromName(row.getString("category")).orElseThrow(), row.getInteger("epoch"), row.getLong("seq"),
        instant(row.getOffsetDateTime("device_ts")), row.getOffsetDateTime("received_at").toInstant(), row.getString("topic"),
        row.getString("source"), row.getString("payload"));
  }

  private static double seconds(Duration duration) {
    return duration.toMillis() / 1000.0;
  }

  private static OffsetDateTime odt(Instant instant) {
    return instant == null ? null : instant.atOffset(ZoneOffset.UTC);
  }

  private static Instant instant(OffsetDateTime time) {
    return time == null ? null : time.toInstant();
  }
}
