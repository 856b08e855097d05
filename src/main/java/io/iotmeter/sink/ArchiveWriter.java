package io.iotmeter.sink;

import io.iotmeter.archive.ObjectStore;
import io.iotmeter.intake.AcceptedMessage;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Writes accepted messages to the object store, grouped per device and category.
 *
 * <p>Grouping follows the load: the feed hands over whatever gathered while the previous batch
 * was written, so an idle platform writes one object per message and a busy one writes one
 * object per device and category per batch — far fewer PUTs than messages.
 *
 * <p>Exactly once: before writing, each message's object key is recorded in the journal
 * ({@code archive_key}), and an object is always written with every message recorded under its
 * key. A retry after a failure or a restart therefore rewrites the same objects with the same
 * contents, never a second copy of a message.
 */
final class ArchiveWriter implements SinkWriter {

  private final ObjectStore store;
  private final Pool pool;
  private final WorkerExecutor workers;
  private final Timer putTimer;
  /** The bucket is created on the first write, so a store that is down at startup only delays it. */
  private volatile boolean bucketReady;

  ArchiveWriter(ObjectStore store, Pool pool, WorkerExecutor workers, Timer putTimer) {
    this.store = store;
    this.pool = pool;
    this.workers = workers;
    this.putTimer = putTimer;
  }

  @Override
  public Future<Void> write(List<AcceptedMessage> batch) {
    Future<Void> bucket = bucketReady ? Future.succeededFuture() : ready();
    return bucket.compose(v -> assignKeys(batch)).compose(v -> loadGroups(batch)).compose(groups -> {
      List<Future<Void>> puts = new ArrayList<>(groups.size());
      groups.forEach((key, records) -> puts.add(put(key, records)));
      return Future.all(puts).mapEmpty();
    });
  }

  /** The store answers and the bucket exists (it is created the first time this succeeds). */
  Future<Void> ready() {
    return workers.executeBlocking(() -> {
      if (bucketReady) {
        store.ping();
      } else {
        store.ensureBucket();
        bucketReady = true;
      }
      return null;
    }, false);
  }

  /** Records a key for every message of the batch that has none yet (one key per device and category). */
  private Future<Void> assignKeys(List<AcceptedMessage> batch) {
    Map<String, String> keyByGroup = new LinkedHashMap<>();
    Long[] ids = new Long[batch.size()];
    String[] keys = new String[batch.size()];
    for (int i = 0; i < batch.size(); i++) {
      AcceptedMessage message = batch.get(i);
      ids[i] = message.journalId();
      keys[i] = keyByGroup.computeIfAbsent(message.deviceId() + "\u0000" + message.category(),
          group -> ArchiveRecord.key(message));
    }
    return pool.preparedQuery("UPDATE intake_journal j SET archive_key = u.key FROM unnest($1::bigint[], $2::text[]) "
            + "AS u(id, key) WHERE j.id = u.id AND j.archive_key IS NULL")
        .execute(Tuple.of((Object) ids, (Object) keys))
        .mapEmpty();
  }

  /** Every message recorded under the batch's keys, by key, in journal order. */
  private Future<Map<String, List<AcceptedMessage>>> loadGroups(List<AcceptedMessage> batch) {
    Long[] ids = batch.stream().map(AcceptedMessage::journalId).toArray(Long[]::new);
    return pool.preparedQuery("SELECT id, device_id, category, epoch, seq, device_ts, received_at, topic, source, payload, "
            + "archive_key FROM intake_journal WHERE archive_key IN "
            + "(SELECT archive_key FROM intake_journal WHERE id = ANY($1::bigint[])) ORDER BY id")
        .execute(Tuple.of((Object) ids))
        .map(rows -> {
          Map<String, List<AcceptedMessage>> groups = new LinkedHashMap<>();
          for (Row row : rows) {
            groups.computeIfAbsent(row.getString("archive_key"), k -> new ArrayList<>()).add(JournalFeed.toMessage(row));
          }
          return groups;
        });
  }

  private Future<Void> put(String key, List<AcceptedMessage> records) {
    byte[] content = ArchiveRecord.content(records);
    String type = records.size() == 1 ? "application/json" : "application/x-ndjson";
    return workers.executeBlocking(() -> {
      long start = System.nanoTime();
      store.put(key, content, type);
      putTimer.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
      return null;
    }, false);
  }
}
