package io.iotmeter.sink;

import io.iotmeter.archive.ObjectStore;
import io.iotmeter.archive.ObjectStoreException;
import io.iotmeter.journal.AcceptedMessage;
import io.iotmeter.journal.Journal;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import io.vertx.sqlclient.Pool;

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
 * contents, never a second copy of a message. An object, once written, always holds every
 * record it ever held: its set of messages is fixed when its key is assigned, and once written
 * ({@code archive_written}) it is not rewritten from rows that may be partly pruned.
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
      Map<String, byte[]> contents = new LinkedHashMap<>();
      Map<Long, String> refused = new LinkedHashMap<>();
      groups.forEach((key, records) -> {
        try {
          contents.put(key, ArchiveRecord.content(records));
        } catch (RuntimeException e) {
          records.forEach(r -> refused.put(r.journalId(), "cannot be written as an archive record: " + e.getMessage()));
        }
      });
      if (!refused.isEmpty()) {
        return Future.failedFuture(new SinkRefusal(refused.size() + " messages cannot be archived", refused));
      }
      List<Future<Void>> puts = new ArrayList<>(contents.size());
      contents.forEach((key, content) -> puts.add(put(key, content, groups.get(key).size())));
      return Future.all(puts).compose(v -> markWritten(contents.keySet()));
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

  /**
   * Records a key for every message of the batch that has none yet: one key per device and
   * category, named after the first of those messages. The rows are locked first and only those
   * still without a key are assigned, so an object's set of messages is fixed the moment its key
   * is given — two writers, or a retry that brings new messages along, never add to it.
   */
  private Future<Void> assignKeys(List<AcceptedMessage> batch) {
    Map<Long, AcceptedMessage> byId = new LinkedHashMap<>();
    batch.forEach(m -> byId.put(m.journalId(), m));
    return pool.withTransaction(conn -> Journal.lockWithoutArchiveKey(conn, byId.keySet()).compose(unassigned -> {
      Map<String, String> keyByGroup = new LinkedHashMap<>();
      Map<Long, String> keys = new LinkedHashMap<>();
      for (long id : unassigned) {
        AcceptedMessage message = byId.get(id);
        keys.put(id, keyByGroup.computeIfAbsent(message.deviceId() + "\u0000" + message.category(),
            group -> ArchiveRecord.key(message)));
      }
      return Journal.setArchiveKeys(conn, keys);
    }));
  }

  /**
   * Every message recorded under the batch's keys, by key, in journal order — leaving out the
   * objects already written with all their messages ({@code archive_written}).
   */
  private Future<Map<String, List<AcceptedMessage>>> loadGroups(List<AcceptedMessage> batch) {
    return Journal.unwrittenArchiveObjects(pool, batch.stream().map(AcceptedMessage::journalId).toList());
  }

  /** Marks the objects written: every row under these keys (before any of their bits is cleared). */
  private Future<Void> markWritten(java.util.Collection<String> keys) {
    return Journal.markArchiveWritten(pool, keys);
  }

  private Future<Void> put(String key, byte[] content, int records) {
    String type = records == 1 ? "application/json" : "application/x-ndjson";
    return workers.executeBlocking(() -> {
      long start = System.nanoTime();
      try {
        store.put(key, content, type);
      } catch (ObjectStoreException e) {
        throw e.refusedContent() ? new SinkRefusal(e.getMessage(), Map.of()) : e;
      }
      putTimer.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
      return null;
    }, false);
  }
}
