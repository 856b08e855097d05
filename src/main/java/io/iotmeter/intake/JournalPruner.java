package io.iotmeter.intake;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;

/**
 * Deletes journal rows every sink has stored, and de-duplication keys older than the window,
 * a bounded chunk at a time.
 */
final class JournalPruner {

  private JournalPruner() {
  }

  static Future<Integer> pruneSeen(Pool pool, java.time.Duration window) {
    return pool.preparedQuery("DELETE FROM intake_seen WHERE ctid IN "
            + "(SELECT ctid FROM intake_seen WHERE accepted_at < now() - make_interval(secs => $1) LIMIT 50000)")
        .execute(io.vertx.sqlclient.Tuple.of((double) window.toSeconds()))
        .map(rows -> rows.rowCount());
  }

  static Future<Integer> prune(Pool pool) {
    return pool.query("DELETE FROM intake_journal WHERE id IN "
            + "(SELECT id FROM intake_journal WHERE pending = 0 ORDER BY id LIMIT 10000)")
        .execute()
        .map(rows -> rows.rowCount());
  }
}
