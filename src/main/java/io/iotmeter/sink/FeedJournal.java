package io.iotmeter.sink;

import io.iotmeter.journal.AcceptedMessage;
import io.iotmeter.journal.Journal;
import io.iotmeter.journal.SinkKind;
import io.iotmeter.quarantine.QuarantineStore;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;

import java.time.Duration;
import java.util.List;

/**
 * The intake journal as a {@link JournalFeed} uses it. A seam, not a layer: it exists so the
 * feed's failure branches (a clear that fails after a stored write, a recovery scan racing the
 * fast path, a quarantine while the journal database is away) can be tested with a fake in
 * milliseconds; {@link #on} is the only production implementation, straight onto
 * {@link Journal} and {@link QuarantineStore}.
 */
interface FeedJournal {

  /** {@link Journal#pending}. */
  Future<List<AcceptedMessage>> pending(SinkKind sink, Duration olderThan, int limit);

  /** {@link Journal#clear}. */
  Future<Void> clear(SinkKind sink, List<Long> journalIds);

  /** {@link Journal#backlog}. */
  Future<Journal.Backlog> backlog(SinkKind sink);

  /** Whether the journal database answers. */
  Future<Void> ping();

  /**
   * Takes journal row {@code journalId} out of {@code sink}'s way, in one transaction: copies it
   * to the quarantine with {@code reason} and clears the sink's bit. Holds false when nothing was
   * quarantined here: the row was pruned meanwhile, or another node quarantined it first (the bit
   * is cleared all the same, so the messages behind it keep flowing).
   */
  Future<Boolean> quarantine(SinkKind sink, long journalId, String reason);

  /** The journal in PostgreSQL, through {@code pool}. */
  static FeedJournal on(Pool pool) {
    return new FeedJournal() {
      @Override
      public Future<List<AcceptedMessage>> pending(SinkKind sink, Duration olderThan, int limit) {
        return Journal.pending(pool, sink, olderThan, limit);
      }

      @Override
      public Future<Void> clear(SinkKind sink, List<Long> journalIds) {
        return Journal.clear(pool, sink, journalIds);
      }

      @Override
      public Future<Journal.Backlog> backlog(SinkKind sink) {
        return Journal.backlog(pool, sink);
      }

      @Override
      public Future<Void> ping() {
        return pool.query("SELECT 1").execute().mapEmpty();
      }

      @Override
      public Future<Boolean> quarantine(SinkKind sink, long journalId, String reason) {
        return pool.withTransaction(conn -> Journal.read(conn, journalId)
            .compose(row -> row.isEmpty() ? Future.succeededFuture(false) // pruned: another node cleared it already
                : QuarantineStore.quarantine(conn, journalId, row.get(), sink.configName(), reason))
            // The sink's bit is cleared also when another node was first, so the messages behind it keep flowing.
            .compose(quarantined -> Journal.clear(conn, sink, List.of(journalId)).map(quarantined)));
      }
    };
  }
}
