package io.iotmeter.security;

import io.vertx.core.Future;
import io.vertx.core.Promise;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Lookups by key gathered into few queries: while {@code parallel} queries are running, the keys
 * asked for wait, and the next query takes up to {@code maxBatch} of them at once. A fleet that
 * reconnects at once after a restart (10,000 CONNECTs within a second) is then a few dozen
 * queries instead of 10,000 that would overflow the connection pool's wait queue — and be
 * answered CONNACK 3. Waiting keys are bounded ({@code maxWaiting}); beyond, a lookup fails at
 * once with {@link Busy}. The same key asked for twice while it waits is looked up once.
 *
 * <p>Used on one event loop (the identity verticle's): no locking.
 */
final class BatchedLookup<V> {

  /** Too many lookups waiting: the caller answers "try again" (503, CONNACK 3). */
  static final class Busy extends RuntimeException {
    Busy(int waiting) {
      super("identity lookups: " + waiting + " waiting already; try again");
    }
  }

  private final Function<List<String>, Future<Map<String, V>>> query;
  private final int parallel;
  private final int maxBatch;
  private final int maxWaiting;
  private final LinkedHashMap<String, List<Promise<Optional<V>>>> waiting = new LinkedHashMap<>();
  private int running;

  /** @param query the values of the keys it is given; a key without a value is absent from its map */
  BatchedLookup(Function<List<String>, Future<Map<String, V>>> query, int parallel, int maxBatch, int maxWaiting) {
    this.query = query;
    this.parallel = parallel;
    this.maxBatch = maxBatch;
    this.maxWaiting = maxWaiting;
  }

  Future<Optional<V>> get(String key) {
    List<Promise<Optional<V>>> callers = waiting.get(key);
    if (callers == null) {
      if (waiting.size() >= maxWaiting) {
        return Future.failedFuture(new Busy(waiting.size()));
      }
      callers = new ArrayList<>(1);
      waiting.put(key, callers);
    }
    Promise<Optional<V>> promise = Promise.promise();
    callers.add(promise);
    next();
    return promise.future();
  }

  int waiting() {
    return waiting.size();
  }

  private void next() {
    while (running < parallel && !waiting.isEmpty()) {
      Map<String, List<Promise<Optional<V>>>> batch = new HashMap<>();
      var entries = waiting.entrySet().iterator();
      while (entries.hasNext() && batch.size() < maxBatch) {
        var entry = entries.next();
        batch.put(entry.getKey(), entry.getValue());
        entries.remove();
      }
      running++;
      Future<Map<String, V>> answer;
      try {
        answer = query.apply(new ArrayList<>(batch.keySet()));
      } catch (RuntimeException e) {
        answer = Future.failedFuture(e);
      }
      answer.onComplete(result -> {
        running--;
        batch.forEach((key, callers) -> callers.forEach(promise -> {
          if (result.succeeded()) {
            promise.complete(Optional.ofNullable(result.result().get(key)));
          } else {
            promise.fail(result.cause());
          }
        }));
        next();
      });
    }
  }
}
