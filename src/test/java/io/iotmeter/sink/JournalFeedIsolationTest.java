package io.iotmeter.sink;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.journal.SinkKind;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.protocol.Category;
import io.iotmeter.support.Eventually;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How {@link JournalFeed} finds a message at fault when the store refuses a batch without naming
 * it: halves, then single messages, and only the one at fault is quarantined — even when another
 * message of the batch meets a store that flaps on its own (a single message is quarantined only
 * after failing {@link JournalFeed#SUSPECT_AFTER} times while the store answers). Mutation testing
 * found the halving and the failure counts of the halves unguarded. The in-memory journal of
 * {@link JournalFeedFailureTest}; milliseconds a test.
 */
@Timeout(20)
class JournalFeedIsolationTest {

  private static final Duration NEVER = Duration.ofHours(1);

  private final Vertx vertx = Vertx.vertx();
  private final Context loop = vertx.getOrCreateContext();
  private final List<String> events = new CopyOnWriteArrayList<>();
  private final JournalFeedFailureTest.FakeJournal journal = new JournalFeedFailureTest.FakeJournal(events);
  private final List<List<Long>> attempts = new CopyOnWriteArrayList<>();

  @AfterEach
  void close() {
    vertx.close().await();
  }

  /** Refuses every batch holding {@code poison} without saying which message is at fault. */
  private static Future<Void> refuseUnnamed(List<AcceptedMessage> batch, long poison) {
    return batch.stream().anyMatch(m -> m.journalId() == poison)
        ? Future.failedFuture(new SinkRefusal("the store refused the batch", Map.of()))
        : Future.succeededFuture();
  }

  private void run(List<AcceptedMessage> messages, SinkWriter writer) {
    SinkWriter recording = batch -> {
      attempts.add(batch.stream().map(AcceptedMessage::journalId).toList());
      return writer.write(batch);
    };
    JournalFeed.Options options = new JournalFeed.Options(100, Duration.ofMillis(5), 1000, 64L << 20, NEVER,
        Duration.ofSeconds(30), Duration.ofMillis(1), Duration.ofMillis(4));
    JournalFeed feed = new JournalFeed(vertx, journal, SinkKind.TIMESERIES, recording, options, "this-node", Future::succeededFuture,
        IngestMetrics.of(new SimpleMeterRegistry()), ready -> { }, JournalFeed.DRAIN_TIMEOUT);
    loop.runOnContext(v -> feed.start().onSuccess(started -> messages.forEach(m ->
        vertx.eventBus().publish(BusAddress.ACCEPTED.address(Category.TELEMETRY.categoryName()), m.toJson()))));
    Eventually.within(Duration.ofSeconds(5), () -> assertThat(journal.pendingIds()).isEmpty());
  }

  @Test
  void anUnnamedRefusalIsNarrowedByHalvesToTheOneMessageAtFault() {
    List<AcceptedMessage> messages = journal.append(4);
    run(messages, batch -> refuseUnnamed(batch, 3));

    assertThat(attempts).containsExactly(List.of(1L, 2L, 3L, 4L), List.of(1L, 2L), List.of(3L, 4L), List.of(3L), List.of(4L));
    assertThat(journal.quarantined()).containsOnlyKeys(3L);
  }

  @Test
  void aMessageBeforeTheOneAtFaultThatMeetsAFlappingStoreIsStoredNotQuarantined() {
    flappingNeighbourIsStored(2, 1);
  }

  @Test
  void aMessageAfterTheOneAtFaultThatMeetsAFlappingStoreIsStoredNotQuarantined() {
    flappingNeighbourIsStored(1, 2);
  }

  private void flappingNeighbourIsStored(long poison, long flapper) {
    List<AcceptedMessage> messages = journal.append(2);
    AtomicInteger flaps = new AtomicInteger(2);
    run(messages, batch -> {
      if (batch.size() == 1 && batch.get(0).journalId() == flapper && flaps.getAndDecrement() > 0) {
        return Future.failedFuture(new IllegalStateException("connection reset"));
      }
      return refuseUnnamed(batch, poison);
    });

    assertThat(journal.quarantined()).as("only the message at fault").containsOnlyKeys(poison);
    assertThat(attempts).as("the flapping message: two failures, then stored").filteredOn(a -> a.equals(List.of(flapper))).hasSize(3);
  }
}
