package io.iotmeter.sink;

import io.iotmeter.archive.ObjectStore;
import io.iotmeter.archive.ObjectStoreException;
import io.iotmeter.protocol.AcceptedMessage;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Writes accepted messages to the object store: one object per device and category of a batch,
 * its records in journal order, named after the first ({@link ArchiveRecord#key}).
 *
 * <p>Exactly once: the feed records a batch's end before the batch is written
 * ({@link #rebuildsBatches}), so the batch that follows a failure, a crash or another node taking
 * over holds the same messages, and makes the same objects with the same contents: a rewrite
 * replaces an object with itself, never adds a second copy of a message.
 *
 * <p>Paced: a batch of more objects than {@code burst} writes the rest over {@code spread} (half
 * the archive's window) or at the slowest pace ({@link #MIN_PUTS_PER_S}), whichever is faster, not
 * all at once. A window closes for every device at about the same time, and at 10,000 meters its
 * 10,000 objects written as fast as the workers go took both cores for seconds (the object
 * store's share as much as ours) and held acknowledgements back by up to a second. Written over
 * half a window, the next window's objects still start after these end.
 */
final class ArchiveWriter implements SinkWriter {

  /** The pace of a paced batch is at least this: 200 writes a second cost about half a core here. */
  static final int MIN_PUTS_PER_S = 200;

  private final ObjectStore store;
  private final WorkerExecutor workers;
  private final Timer putTimer;
  private final Vertx vertx;
  private final int burst;
  private final Duration spread;
  private final int minPutsPerSecond;
  /** The bucket is created on the first write, so a store that is down at startup only delays it. */
  private volatile boolean bucketReady;

  /**
   * @param burst  objects of a batch written at once (the workers' number)
   * @param spread how long the rest of a batch's objects are spread over; zero: no pacing
   * @param minPutsPerSecond the slowest pace ({@link #MIN_PUTS_PER_S}; tests choose their own)
   */
  ArchiveWriter(ObjectStore store, WorkerExecutor workers, Timer putTimer, Vertx vertx, int burst, Duration spread,
                int minPutsPerSecond) {
    this.store = store;
    this.workers = workers;
    this.putTimer = putTimer;
    this.vertx = vertx;
    this.burst = Math.max(1, burst);
    this.spread = spread;
    this.minPutsPerSecond = minPutsPerSecond;
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
    Future<Void> bucket = bucketReady ? Future.succeededFuture() : ready();
    // A window's batch holds tens of thousands of messages: grouping them, and making each object's
    // records when it is written, happen on the workers, not on the event loop (where they held
    // acknowledgements back by up to 300 ms each time a window closed).
    return bucket.compose(v -> workers.executeBlocking(() -> groups(batch), false))
        .compose(groups -> {
          List<Supplier<Future<Void>>> puts = new ArrayList<>(groups.size());
          groups.forEach((key, records) -> puts.add(() -> put(key, records)));
          return paced(puts);
        });
  }

  /**
   * Starts the first {@code burst} writes at once and the others evenly over {@code spread}; fails
   * with the first write that fails, and then starts no more (the batch is written again whole).
   */
  private Future<Void> paced(List<Supplier<Future<Void>>> puts) {
    if (puts.size() <= burst || spread.isZero()) {
      return Future.all(puts.stream().map(Supplier::get).toList()).mapEmpty();
    }
    Promise<Void> done = Promise.promise();
    long begin = System.nanoTime();
    // Over the spread, but never slower than the slowest pace: a batch of a few large objects
    // (few devices sending fast) goes nearly at once.
    double nanosPerPut = Math.min((double) spread.toNanos() / puts.size(), 1e9 / minPutsPerSecond);
    long tickMs = Math.max(5, Math.min(1000, Math.round(nanosPerPut / 1_000_000)));
    int[] started = {0};
    int[] finished = {0};
    Runnable release = () -> {
      int due = Math.min(puts.size(), burst + (int) ((System.nanoTime() - begin) / nanosPerPut));
      while (started[0] < due && !done.future().isComplete()) {
        puts.get(started[0]++).get().onComplete(put -> {
          if (put.failed()) {
            done.tryFail(put.cause());
          } else if (++finished[0] == puts.size()) {
            done.tryComplete();
          }
        });
      }
    };
    release.run();
    long timer = vertx.setPeriodic(tickMs, id -> release.run());
    return done.future().onComplete(r -> vertx.cancelTimer(timer));
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

  /**
   * Writes one object. Records that cannot be made (a payload read back from the journal is not
   * validated again) refuse exactly their messages, to be quarantined.
   */
  private Future<Void> put(String key, List<AcceptedMessage> records) {
    String type = records.size() == 1 ? "application/json" : "application/x-ndjson";
    return workers.executeBlocking(() -> {
      byte[] content;
      try {
        content = ArchiveRecord.content(records);
      } catch (RuntimeException e) {
        Map<Long, String> refused = new LinkedHashMap<>();
        records.forEach(r -> refused.put(r.journalId(), "cannot be written as an archive record: " + e.getMessage()));
        throw new SinkRefusal(refused.size() + " messages cannot be archived", refused);
      }
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
