package io.iotmeter.sink;

import io.iotmeter.archive.ObjectStore;
import io.iotmeter.quarantine.Evidence;
import io.iotmeter.quarantine.QuarantineStore;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import io.vertx.sqlclient.Pool;

import java.util.ArrayList;
import java.util.List;

/**
 * Writes what the quarantine table holds — messages a sink could not store, messages the intake
 * refused — to the archive bucket under {@code _quarantine/} and {@code _rejected/}, each as a
 * self-describing JSON object with the raw bytes ({@link Evidence}). Keys are deterministic, so
 * two archive sinks writing the same row write the same object.
 */
final class EvidenceArchiver {

  static final int BATCH = 100;

  private final ObjectStore store;
  private final Pool pool;
  private final WorkerExecutor workers;

  EvidenceArchiver(ObjectStore store, Pool pool, WorkerExecutor workers) {
    this.store = store;
    this.pool = pool;
    this.workers = workers;
  }

  /** Archives up to {@link #BATCH} rows; the future holds how many. */
  Future<Integer> run() {
    return QuarantineStore.unarchived(pool, BATCH).compose(rows -> {
      if (rows.isEmpty()) {
        return Future.succeededFuture(0);
      }
      List<Future<Evidence>> puts = new ArrayList<>(rows.size());
      for (Evidence evidence : rows) {
        puts.add(workers.executeBlocking(() -> {
          store.put(evidence.key(), evidence.content(), "application/json");
          return evidence;
        }, false));
      }
      // What was written is marked even when another put failed; the rest is tried next time.
      return Future.join(puts).transform(all -> {
        List<Evidence> written = new ArrayList<>();
        puts.forEach(f -> {
          if (f.succeeded()) {
            written.add(f.result());
          }
        });
        return QuarantineStore.markArchived(pool, written)
            .compose(v -> all.succeeded() ? Future.succeededFuture(written.size()) : Future.failedFuture(all.cause()));
      });
    });
  }
}
