package io.iotmeter.sink;

import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.journal.Journal;
import io.iotmeter.journal.SinkKind;
import io.iotmeter.quarantine.QuarantineStore;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The intake journal as a {@link JournalFeed} uses it. A seam, not a layer: it exists so the
 * feed's failure branches (a cursor that cannot be saved after a stored write, a lost lease, a
 * quarantine while the journal database is away) can be tested with a fake in milliseconds;
 * {@link #on} is the only production implementation, straight onto {@link Journal} and
 * {@link QuarantineStore}.
 */
interface FeedJournal {

  /** {@link Journal#claim}. */
  Future<Optional<Journal.Claim>> claim(SinkKind sink, String owner, Duration lease);

  /** {@link Journal#next}. */
  Future<List<Journal.Position>> next(SinkKind sink, Journal.Position after, Journal.Position until, int limit);

  /** {@link Journal#messages}. */
  Future<Map<Long, AcceptedMessage>> messages(Collection<Long> ids);

  /** {@link Journal#beginBatch}. */
  Future<Boolean> beginBatch(SinkKind sink, String owner, Journal.Position end, Duration lease);

  /** {@link Journal#advance}. */
  Future<Boolean> advance(SinkKind sink, String owner, Journal.Position to, Duration lease);

  /** {@link Journal#release}. */
  Future<Void> release(SinkKind sink, String owner);

  /** {@link Journal#backlog}. */
  Future<Journal.Backlog> backlog(SinkKind sink);

  /** Whether the journal database answers. */
  Future<Void> ping();

  /**
   * Copies journal row {@code journalId} to the quarantine with {@code reason}. Holds false when
   * nothing was quarantined here: the row is gone, or another node quarantined it first.
   */
  Future<Boolean> quarantine(SinkKind sink, long journalId, String reason);

  /** The journal in PostgreSQL, through {@code pool}. */
  static FeedJournal on(Pool pool) {
    return new FeedJournal() {
      @Override
      public Future<Optional<Journal.Claim>> claim(SinkKind sink, String owner, Duration lease) {
        return Journal.claim(pool, sink, owner, lease);
      }

      @Override
      public Future<List<Journal.Position>> next(SinkKind sink, Journal.Position after, Journal.Position until, int limit) {
        return Journal.next(pool, sink, after, until, limit);
      }

      @Override
      public Future<Map<Long, AcceptedMessage>> messages(Collection<Long> ids) {
        return Journal.messages(pool, ids);
      }

      @Override
      public Future<Boolean> beginBatch(SinkKind sink, String owner, Journal.Position end, Duration lease) {
        return Journal.beginBatch(pool, sink, owner, end, lease);
      }

      @Override
      public Future<Boolean> advance(SinkKind sink, String owner, Journal.Position to, Duration lease) {
        return Journal.advance(pool, sink, owner, to, lease);
      }

      @Override
      public Future<Void> release(SinkKind sink, String owner) {
        return Journal.release(pool, sink, owner);
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
            .compose(row -> row.isEmpty() ? Future.succeededFuture(false)
                : QuarantineStore.quarantine(conn, journalId, row.get(), sink.configName(), reason)));
      }
    };
  }
}
