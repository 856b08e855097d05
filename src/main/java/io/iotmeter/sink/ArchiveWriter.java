package io.iotmeter.sink;

import io.iotmeter.archive.ObjectStore;
import io.iotmeter.archive.ObjectStoreException;
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
    Long[] ids = byId.keySet().toArray(Long[]::new);
    return pool.withTransaction(conn -> conn.preparedQuery("SELECT id FROM intake_journal WHERE id = ANY($1::bigint[]) "
            + "AND archive_key IS NULL ORDER BY id FOR UPDATE")
        .execute(Tuple.of((Object) ids))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.succeededFuture();
          }
          Map<String, String> keyByGroup = new LinkedHashMap<>();
          List<Long> assigned = new ArrayList<>(rows.size());
          List<String> keys = new ArrayList<>(rows.size());
          for (Row row : rows) {
            AcceptedMessage message = byId.get(row.getLong(0));
            assigned.add(message.journalId());
            keys.add(keyByGroup.computeIfAbsent(message.deviceId() + "\u0000" + message.category(),
                group -> ArchiveRecord.key(message)));
          }
          return conn.preparedQuery("UPDATE intake_journal j SET archive_key = u.key FROM unnest($1::bigint[], $2::text[]) "
                  + "AS u(id, key) WHERE j.id = u.id")
              .execute(Tuple.of((Object) assigned.toArray(Long[]::new), (Object) keys.toArray(String[]::new)))
              .mapEmpty();
        }));
  }

  /**
   * Every message recorded under the batch's keys, by key, in journal order — leaving out the
   * objects already written with all their messages ({@code archive_written}): their rows may
   * be partly pruned by now, and rewriting them from the rest would lose records.
   */
  private Future<Map<String, List<AcceptedMessage>>> loadGroups(List<AcceptedMessage> batch) {
    Long[] ids = batch.stream().map(AcceptedMessage::journalId).toArray(Long[]::new);
    return pool.preparedQuery("SELECT id, device_id, category, epoch, seq, device_ts, received_at, topic, source, payload, "
            + "archive_key, archive_written FROM intake_journal WHERE archive_key IN "
            + "(SELECT archive_key FROM intake_journal WHERE id = ANY($1::bigint[])) ORDER BY id")
        .execute(Tuple.of((Object) ids))
        .map(rows -> {
          Map<String, List<AcceptedMessage>> groups = new LinkedHashMap<>();
          java.util.Set<String> written = new java.util.HashSet<>();
          for (Row row : rows) {
            String key = row.getString("archive_key");
            if (row.getBoolean("archive_written")) {
              written.add(key);
            }
            groups.computeIfAbsent(key, k -> new ArrayList<>()).add(JournalFeed.toMessage(row));
          }
          groups.keySet().removeAll(written);
          return groups;
        });
  }

  /** Marks the objects written: every row under these keys (before any of their bits is cleared). */
  private Future<Void> markWritten(java.util.Collection<String> keys) {
    if (keys.isEmpty()) {
      return Future.succeededFuture();
    }
    return pool.preparedQuery("UPDATE intake_journal SET archive_written = true WHERE archive_key = ANY($1::text[])")
        .execute(Tuple.of((Object) keys.toArray(String[]::new)))
        .mapEmpty();
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
