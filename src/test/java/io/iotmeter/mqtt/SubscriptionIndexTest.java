package io.iotmeter.mqtt;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class SubscriptionIndexTest {

  @Test
  void exactAndWildcardFiltersFindTheirClients() {
    SubscriptionIndex index = new SubscriptionIndex();
    index.add("a", "iot/d1/command");
    index.add("b", "iot/+/command");
    assertThat(index.candidates("iot/d1/command")).containsExactlyInAnyOrder("a", "b");
    assertThat(index.candidates("iot/d2/command")).containsExactly("b");
    index.remove("b", List.of("iot/+/command"), List.of());
    index.remove("a", List.of("iot/d1/command"), List.of());
    assertThat(index.candidates("iot/d1/command")).isEmpty();
  }

  /**
   * One client subscribes while another leaves the same exact filter: the leaving client's set
   * empties and is removed, and a subscription added to it at that moment must not go with it
   * (the subscriber would be granted the filter and never routed anything).
   */
  @Test
  void aSubscriptionAddedWhileAnotherClientLeavesTheFilterIsKept() throws Exception {
    SubscriptionIndex index = new SubscriptionIndex();
    String filter = "iot/shared/command";
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger lost = new AtomicInteger();
    CompletableFuture<Void> leaver = CompletableFuture.runAsync(() -> {
      while (!stop.get()) {
        index.add("b", filter);
        index.remove("b", List.of(filter), List.of());
      }
    });
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
    while (System.nanoTime() < end) {
      index.add("a", filter);
      if (!index.candidates(filter).contains("a")) {
        lost.incrementAndGet();
      }
      index.remove("a", List.of(filter), List.of());
    }
    stop.set(true);
    leaver.get(5, TimeUnit.SECONDS);
    assertThat(lost).as("subscriptions lost from the index").hasValue(0);
  }
}
