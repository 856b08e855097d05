package io.iotmeter.sink;

import io.iotmeter.archive.ObjectStore;
import io.iotmeter.archive.ObjectStoreException;
import io.iotmeter.journal.AcceptedMessage;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Writes accepted messages to the object store: one object per device and category of a batch,
 * its records in journal order, named after the first ({@link ArchiveRecord#key}).
 *
 * <p>Exactly once: the feed records a batch's end before the batch is written
 * ({@link #rebuildsBatches}), so the batch that follows a failure, a crash or another node taking
 * over holds the same messages, and makes the same objects with the same contents: a rewrite
 * replaces an object with itself, never adds a second copy of a message.
 */
final class ArchiveWriter implements SinkWriter {

  private final ObjectStore store;
  private final WorkerExecutor workers;
  private final Timer putTimer;
  /** The bucket is created on the first write, so a store that is down at startup only delays it. */
  private volatile boolean bucketReady;

  ArchiveWriter(ObjectStore store, WorkerExecutor workers, Timer putTimer) {
    this.store = store;
    this.workers = workers;
    this.putTimer = putTimer;
  }

  @Override
  public boolean rebuildsBatches() {
    return true;
  }

  @Override
  public boolean usesParsed() {
    return false;
  }

  @Override
  public Future<Void> write(List<AcceptedMessage> batch) {
    Map<String, List<AcceptedMessage>> groups = groups(batch);
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
    Future<Void> bucket = bucketReady ? Future.succeededFuture() : ready();
    return bucket.compose(v -> {
      List<Future<Void>> puts = new ArrayList<>(contents.size());
      contents.forEach((key, content) -> puts.add(put(key, content, groups.get(key).size())));
      return Future.all(puts).mapEmpty();
    });
  }

  /** The batch's objects: key → records, per device and category, in journal order. */
  static Map<String, List<AcceptedMessage>> groups(List<AcceptedMessage> batch) {
    Map<String, String> keyByGroup = new LinkedHashMap<>();
    Map<String, List<AcceptedMessage>> groups = new LinkedHashMap<>();
    for (AcceptedMessage message : batch) {
      String key = keyByGroup.computeIfAbsent(message.deviceId() + "\u0000" + message.category(),
          group -> ArchiveRecord.key(message));
      groups.computeIfAbsent(key, k -> new ArrayList<>()).add(message);
    }
    return groups;
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
