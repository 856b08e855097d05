package io.iotmeter.mqtt;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The broker state has no node-wide lock: connections of several event loops connect, take
 * sessions over, subscribe, route, acknowledge and leave at once. Whatever the interleaving, the
 * node's counts must come back to zero when everyone has left — a session lost between two
 * threads, or bytes counted twice, would show here.
 */
class BrokerStateConcurrencyTest {

  private static final int THREADS = 8;
  private static final int CLIENTS = 20;

  @Test
  void manyEventLoopsAtOnceLeaveNothingBehind() throws Exception {
    AtomicInteger refusals = new AtomicInteger();
    BrokerState broker = new BrokerState(MqttLimits.forTests(50), type -> refusals.incrementAndGet());
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    List<Future<?>> loops = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      int thread = t;
      loops.add(pool.submit(() -> {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int i = 0; i < 4_000; i++) {
          // Several threads share each client id: take-overs, and sessions ended under another's feet.
          String client = "c" + random.nextInt(CLIENTS);
          String connection = "conn-" + thread + "-" + i;
          broker.connect(client, random.nextBoolean(), connection);
          broker.subscribe(client, Map.of("iot/" + client + "/command", 2, "iot/+/status", 1));
          broker.route(new Publication("iot/c" + random.nextInt(CLIENTS) + "/command",
              "{}".getBytes(StandardCharsets.UTF_8), 2, false));
          BrokerState.Sending sending = broker.startSending(client, connection,
              new Publication("iot/" + client + "/command", "x".getBytes(StandardCharsets.UTF_8), 1, false), 5);
          broker.takeQueued(client, connection, 5).keySet().forEach(id -> broker.delivered(client, id));
          if (sending.sendNow() && random.nextBoolean()) {
            broker.delivered(client, sending.packetId());
          }
          if (broker.awaitRelease(client, 1 + random.nextInt(100))) {
            broker.releaseReceived(client, 1 + random.nextInt(100));
          }
          broker.disconnect(client, connection, Instant.now());
        }
      }));
    }
    for (Future<?> loop : loops) {
      loop.get(60, TimeUnit.SECONDS);
    }
    pool.shutdown();
    assertThat(broker.connectedCount()).as("every connection left").isZero();
    // Whatever persistent sessions remain hold queued messages; once they expire nothing is left.
    broker.expire(Instant.now().plusSeconds(100_000));
    assertThat(broker.sessionCount()).isZero();
    assertThat(broker.totalQueuedBytes()).as("queued bytes counted exactly once each").isZero();
    for (int c = 0; c < CLIENTS; c++) {
      assertThat(broker.route(new Publication("iot/c" + c + "/command", new byte[1], 1, false)).reachedAnyone())
          .as("no subscription outlives its session").isFalse();
    }
  }
}
