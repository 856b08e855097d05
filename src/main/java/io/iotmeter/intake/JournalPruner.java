package io.iotmeter.intake;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;

/** Deletes journal rows every sink has stored, a bounded chunk at a time. */
final class JournalPruner {

  private JournalPruner() {
  }

  static Future<Integer> prune(Pool pool) {
    return pool.query("DELETE FROM intake_journal WHERE id IN "
            + "(SELECT id FROM intake_journal WHERE pending = 0 ORDER BY id LIMIT 10000)")
        .execute()
        .map(rows -> rows.rowCount());
  }
}
