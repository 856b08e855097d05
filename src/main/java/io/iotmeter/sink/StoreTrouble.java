package io.iotmeter.sink;

import io.vertx.sqlclient.DatabaseException;

import java.util.Locale;
import java.util.Set;

/**
 * Failures that say a store (or the journal) is in trouble — disk full, out of memory, too many
 * connections, shutting down, an I/O error, a statement cancelled by its deadline — never that a
 * message is at fault. {@link JournalFeed} only ever retries them: a full disk while the
 * store still answers its ping must not make every message look like a poison.
 */
final class StoreTrouble {

  /**
   * SQLSTATE classes of PostgreSQL: 08 connection, 40 transaction rollback (serialization,
   * deadlock), 53 insufficient resources (53100 disk full), 55 object not in prerequisite state
   * (lock not available), 57 operator intervention (57014 statement timeout, shutdown), 58
   * system error (I/O), XX internal error.
   */
  private static final Set<String> CLASSES = Set.of("08", "40", "53", "55", "57", "58", "XX");

  /** Words of the object and time-series stores for the same situations. */
  private static final String[] WORDS = {"no space left on device", "xminiostoragefull", "insufficient storage",
      "slowdown", "service unavailable", "too many requests"};

  private StoreTrouble() {
  }

  static boolean is(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof DatabaseException db && db.getSqlState() != null && db.getSqlState().length() == 5
          && CLASSES.contains(db.getSqlState().substring(0, 2))) {
        return true;
      }
      String message = t.getMessage();
      if (message != null) {
        String lower = message.toLowerCase(Locale.ROOT);
        for (String word : WORDS) {
          if (lower.contains(word)) {
            return true;
          }
        }
      }
    }
    return false;
  }
}
