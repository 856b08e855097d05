package io.iotmeter.security;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** Lookups gathered into few queries, bounded, each caller answered with its own key's value or the query's failure. */
class BatchedLookupTest {

  private final List<List<String>> queries = new ArrayList<>();
  private final List<Promise<Map<String, String>>> answers = new ArrayList<>();

  private BatchedLookup<String> lookup(int parallel, int maxBatch, int maxWaiting) {
    return new BatchedLookup<>(keys -> {
      queries.add(keys);
      Promise<Map<String, String>> answer = Promise.promise();
      answers.add(answer);
      return answer.future();
    }, parallel, maxBatch, maxWaiting);
  }

  private static Map<String, String> valuesOf(List<String> keys) {
    return keys.stream().filter(k -> !k.startsWith("absent")).collect(Collectors.toMap(k -> k, k -> "hash-of-" + k));
  }

  @Test
  void keysAskedForWhileQueriesRunGoTogetherInTheNextQuery() {
    BatchedLookup<String> lookup = lookup(1, 100, 1000);
    Future<Optional<String>> first = lookup.get("a");
    List<Future<Optional<String>>> later = new ArrayList<>();
    for (String key : List.of("b", "c", "absent-d", "b")) {
      later.add(lookup.get(key));
    }
    assertThat(queries).containsExactly(List.of("a"));
    answers.get(0).complete(valuesOf(queries.get(0)));
    assertThat(first.result()).contains("hash-of-a");
    assertThat(queries).hasSize(2);
    assertThat(queries.get(1)).containsExactlyInAnyOrder("b", "c", "absent-d");
    answers.get(1).complete(valuesOf(queries.get(1)));
    assertThat(later.get(0).result()).contains("hash-of-b");
    assertThat(later.get(1).result()).contains("hash-of-c");
    assertThat(later.get(2).result()).isEmpty();
    assertThat(later.get(3).result()).as("the same key twice: one lookup, both answered").contains("hash-of-b");
    assertThat(lookup.waiting()).isZero();
  }

  @Test
  void aBatchTakesAtMostMaxBatchKeysAndQueriesRunAtMostParallel() {
    BatchedLookup<String> lookup = lookup(2, 3, 1000);
    for (int i = 0; i < 10; i++) {
      lookup.get("k" + i);
    }
    assertThat(queries).hasSize(2);
    assertThat(queries.get(0)).hasSize(1);
    assertThat(queries.get(1)).hasSize(1);
    answers.get(0).complete(Map.of());
    assertThat(queries).hasSize(3);
    assertThat(queries.get(2)).hasSize(3);
  }

  @Test
  void beyondTheBoundALookupIsRefusedAtOnceAndAFailedQueryFailsItsCallersOnly() {
    BatchedLookup<String> lookup = lookup(1, 100, 2);
    Future<Optional<String>> running = lookup.get("a");
    Future<Optional<String>> waiting1 = lookup.get("b");
    Future<Optional<String>> waiting2 = lookup.get("c");
    Future<Optional<String>> refused = lookup.get("d");
    assertThat(refused.failed()).isTrue();
    assertThat(refused.cause()).isInstanceOf(BatchedLookup.Busy.class);
    assertThat(lookup.get("b").failed()).as("a key already waiting joins it, whatever the bound").isFalse();
    answers.get(0).fail(new IllegalStateException("database down"));
    assertThat(running.cause()).hasMessage("database down");
    assertThat(waiting1.isComplete()).isFalse();
    answers.get(1).complete(valuesOf(queries.get(1)));
    assertThat(waiting1.result()).contains("hash-of-b");
    assertThat(waiting2.result()).contains("hash-of-c");
  }

  @Test
  void aQueryThatThrowsFailsItsCallersAndTheNextOneRuns() {
    BatchedLookup<String> lookup = new BatchedLookup<>(keys -> {
      if (keys.contains("boom")) {
        throw new IllegalArgumentException("bad key");
      }
      return Future.succeededFuture(valuesOf(keys));
    }, 1, 10, 10);
    assertThat(lookup.get("boom").cause()).hasMessage("bad key");
    assertThat(lookup.get("fine").result()).contains("hash-of-fine");
  }
}
