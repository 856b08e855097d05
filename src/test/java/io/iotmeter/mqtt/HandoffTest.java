package io.iotmeter.mqtt;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.protocol.InboundMessage;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The hand-off to the intake: retries, giving up, and holding on while the sender is there.
 * The retries run at a hundredth of the production delays (the same number of them), so the
 * failure paths take milliseconds.
 */
@Timeout(60)
class HandoffTest {

  private final Vertx vertx = Vertx.vertx();

  /** Production's retries and patience, a hundred times shorter. */
  private Handoff fast(Duration timeout, int maxInFlight, long maxInFlightBytes) {
    return new Handoff(vertx, timeout, maxInFlight, maxInFlightBytes,
        Handoff.RETRIES.stream().map(d -> d.dividedBy(100)).toList(), Handoff.PATIENCE.dividedBy(100));
  }

  private Handoff fast(Duration timeout) {
    return fast(timeout, 500, 16L << 20);
  }

  @AfterEach
  void tearDown() {
    vertx.close().await();
  }

  private static InboundMessage message() {
    return new InboundMessage("iot/dc-meter-001/telemetry", "{}".getBytes(StandardCharsets.UTF_8), 1, "endpoint", "dc-meter-001",
        Instant.now());
  }

  /** An intake that refuses the first {@code failures} requests (queue full), then accepts. */
  private AtomicInteger intake(int failures) {
    AtomicInteger calls = new AtomicInteger();
    vertx.eventBus().<JsonObject>localConsumer(BusAddress.INBOUND.address(), m -> {
      if (calls.incrementAndGet() <= failures) {
        m.fail(503, "intake queue full");
      } else {
        m.reply(new JsonObject().put("outcome", "accepted"));
      }
    }).completion().await();
    return calls;
  }

  @Test
  void aBriefRefusalIsRetried() {
    AtomicInteger calls = intake(2);
    JsonObject reply = fast(Duration.ofSeconds(2)).send(message()).await();
    assertThat(reply.getString("outcome")).isEqualTo("accepted");
    assertThat(calls.get()).isEqualTo(3);
  }

  @Test
  void aLastingRefusalGivesUpSoTheSenderKeepsTheMessage() {
    AtomicInteger calls = intake(Integer.MAX_VALUE);
    assertThatThrownBy(() -> fast(Duration.ofSeconds(2)).send(message()).await()).hasMessageContaining("queue full");
    assertThat(calls.get()).as("the first try and three retries").isEqualTo(4);
  }

  @Test
  void whileTheSenderIsThereTheHandoffHoldsOnPastTheRetries() {
    AtomicInteger calls = intake(4);
    JsonObject reply = fast(Duration.ofSeconds(2)).sendWhile(message(), () -> true).await();
    assertThat(reply.getString("outcome")).isEqualTo("accepted");
    assertThat(calls.get()).as("three quick retries, then patience").isEqualTo(5);
  }

  @Test
  void aSenderThatLeftEndsTheWait() {
    // No intake at all (NO_HANDLERS): held while the sender is connected, given up once it left.
    // The attempts are counted on the way out; the sender leaves during the seventh, well past
    // the first try and the three quick retries.
    AtomicBoolean connected = new AtomicBoolean(true);
    AtomicInteger attempts = new AtomicInteger();
    vertx.eventBus().addOutboundInterceptor(delivery -> {
      if (delivery.message().address().equals(BusAddress.INBOUND.address()) && attempts.incrementAndGet() == 7) {
        connected.set(false);
      }
      delivery.next();
    });
    long start = System.nanoTime();
    io.vertx.core.Future<JsonObject> answer = fast(Duration.ofMillis(200)).sendWhile(message(), connected::get);
    io.iotmeter.support.Eventually.within(Duration.ofSeconds(5), () -> assertThat(answer.isComplete()).isTrue());
    Duration waited = Duration.ofNanos(System.nanoTime() - start);
    assertThat(answer.failed()).isTrue();
    // Each wait is at least half its delay: the three quick retries and three patient ones.
    long leastMillis = (Handoff.RETRIES.stream().mapToLong(Duration::toMillis).sum() + 3 * Handoff.PATIENCE.toMillis()) / 100 / 2;
    assertThat(waited).as("it waited between attempts").isGreaterThanOrEqualTo(Duration.ofMillis(leastMillis));
    // Long enough for one more patient retry (at most 1.5 x 50 ms) to have shown up.
    sleep(Duration.ofMillis(150));
    assertThat(attempts.get()).as("held through the retries while the sender was there, none after it left").isEqualTo(7);
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void retryDelaysSpreadWithinHalfAndOneAndAHalfTimes() {
    java.util.Set<Long> seen = new java.util.HashSet<>();
    for (int i = 0; i < 2000; i++) {
      long delay = Handoff.jittered(1000);
      assertThat(delay).isBetween(500L, 1500L);
      seen.add(delay / 100);
    }
    assertThat(seen).as("spread over the whole range, not one value").hasSizeGreaterThan(8);
    assertThat(Handoff.jittered(0)).isEqualTo(1);
  }

  @Test
  void atMostMaxInFlightAreWithTheIntakeTheRestWaitInOrder() {
    java.util.List<io.vertx.core.eventbus.Message<Object>> held = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.List<String> order = new java.util.concurrent.CopyOnWriteArrayList<>();
    vertx.eventBus().localConsumer(BusAddress.INBOUND.address(), m -> {
      order.add(((InboundMessage) m.body()).clientId());
      held.add(m);
    }).completion().await();
    Handoff handoff = fast(Duration.ofSeconds(30), 3, 1L << 20);
    java.util.List<io.vertx.core.Future<JsonObject>> answers = new java.util.ArrayList<>();
    io.vertx.core.Context caller = vertx.getOrCreateContext();
    java.util.List<io.vertx.core.Context> answeredOn = new java.util.concurrent.CopyOnWriteArrayList<>();
    caller.runOnContext(v -> {
      for (int i = 0; i < 10; i++) {
        answers.add(handoff.send(new InboundMessage("iot/m-" + i + "/telemetry", "{}".getBytes(StandardCharsets.UTF_8), 1,
            "endpoint", "m-" + i, Instant.now())).onComplete(r -> answeredOn.add(vertx.getOrCreateContext())));
      }
    });
    io.iotmeter.support.Eventually.within(Duration.ofSeconds(5), () -> assertThat(held).hasSize(3));
    assertThat(handoff.waiting()).isEqualTo(7);
    // Answer one at a time: each answer lets exactly one more through, in arrival order.
    for (int answered = 0; answered < 10; answered++) {
      int seen = held.size();
      held.get(answered).reply(new JsonObject().put("outcome", "accepted"));
      int expected = Math.min(10, seen + 1);
      io.iotmeter.support.Eventually.within(Duration.ofSeconds(5), () -> assertThat(held).hasSize(expected));
    }
    io.iotmeter.support.Eventually.within(Duration.ofSeconds(5), () -> assertThat(answeredOn).hasSize(10));
    assertThat(order).containsExactly("m-0", "m-1", "m-2", "m-3", "m-4", "m-5", "m-6", "m-7", "m-8", "m-9");
    assertThat(answeredOn).as("each answer on the context that handed the message over").containsOnly(caller);
    assertThat(handoff.waiting()).isZero();
  }

  @Test
  void aSenderThatLeftWhileWaitingIsNotHandedOver() {
    AtomicInteger calls = new AtomicInteger();
    java.util.List<io.vertx.core.eventbus.Message<Object>> held = new java.util.concurrent.CopyOnWriteArrayList<>();
    vertx.eventBus().localConsumer(BusAddress.INBOUND.address(), m -> {
      calls.incrementAndGet();
      held.add(m);
    }).completion().await();
    Handoff handoff = fast(Duration.ofSeconds(30), 1, 1L << 20);
    AtomicBoolean connected = new AtomicBoolean(true);
    io.vertx.core.Future<JsonObject> first = handoff.sendWhile(message(), () -> true);
    io.vertx.core.Future<JsonObject> second = handoff.sendWhile(message(), connected::get);
    io.iotmeter.support.Eventually.within(Duration.ofSeconds(5), () -> assertThat(held).hasSize(1));
    connected.set(false);
    held.get(0).reply(new JsonObject().put("outcome", "accepted"));
    assertThat(first.await().getString("outcome")).isEqualTo("accepted");
    assertThatThrownBy(second::await).hasMessageContaining("sender left");
    assertThat(calls.get()).isEqualTo(1);
  }

  /**
   * The contract on a timeout: the hand-off does not know whether the intake kept the message,
   * so it sends it again and the intake's de-duplication by (device, seq) answers the copy. A
   * reply that comes after the timeout must change nothing: one stored copy, one outcome for
   * the caller (the retry's), no further request, and the message's in-flight place given back once.
   */
  @Test
  void aReplyThatComesAfterTheTimeoutIsIgnoredAndTheRetryIsAnsweredAsADuplicate() {
    java.util.Set<String> journal = java.util.concurrent.ConcurrentHashMap.newKeySet();
    java.util.List<String> requests = new java.util.concurrent.CopyOnWriteArrayList<>();
    io.vertx.core.Promise<Void> lateReplySent = io.vertx.core.Promise.promise();
    vertx.eventBus().localConsumer(BusAddress.INBOUND.address(), m -> {
      InboundMessage in = (InboundMessage) m.body();
      long seq = new JsonObject(new String(in.payload(), StandardCharsets.UTF_8)).getLong("seq");
      String key = in.clientId() + "/" + seq;
      requests.add(key);
      if (seq > 0) {
        return; // held: only for the in-flight check below
      }
      if (journal.add(key)) {
        // Durable at once, but the answer comes twice the hand-off's timeout later.
        vertx.setTimer(100, id -> {
          m.reply(new JsonObject().put("outcome", "accepted"));
          lateReplySent.complete();
        });
      } else {
        m.reply(new JsonObject().put("outcome", "duplicate"));
      }
    }).completion().await();
    Handoff handoff = fast(Duration.ofMillis(50), 1, 1L << 20);

    JsonObject reply = handoff.send(message(0)).await();

    assertThat(reply.getString("outcome")).as("the retry's answer, not the late one").isEqualTo("duplicate");
    lateReplySent.future().await();
    sleep(Duration.ofMillis(50)); // for anything the late reply could still set off
    assertThat(requests).as("the first try and one retry, nothing after the late reply").containsExactly("dc-meter-001/0",
        "dc-meter-001/0");
    assertThat(journal).containsExactly("dc-meter-001/0");
    // With one message in flight at most, of the next two (held by the intake) one goes and one
    // waits: the place the first message held was given back once, not once for the timeout and
    // again for the late reply. (Handing over is synchronous, so this holds right after send.)
    handoff.send(message(1));
    handoff.send(message(2));
    assertThat(handoff.waiting()).isEqualTo(1);
  }

  private static InboundMessage message(long seq) {
    return new InboundMessage("iot/dc-meter-001/telemetry", ("{\"seq\":" + seq + "}").getBytes(StandardCharsets.UTF_8), 1,
        "endpoint", "dc-meter-001", Instant.now());
  }

  @Test
  void aCapBelowOneIsRefused() {
    assertThatThrownBy(() -> new Handoff(vertx, Duration.ofSeconds(1), 0, 1)).hasMessageContaining("handoff_max_in_flight");
    assertThatThrownBy(() -> new Handoff(vertx, Duration.ofSeconds(1), 1, 0)).hasMessageContaining("handoff_max_in_flight_bytes");
  }

  @Test
  void theBytesWithTheIntakeAreBoundedTooButALargeMessageStillGoesAlone() {
    java.util.List<io.vertx.core.eventbus.Message<Object>> held = new java.util.concurrent.CopyOnWriteArrayList<>();
    vertx.eventBus().localConsumer(BusAddress.INBOUND.address(), held::add).completion().await();
    Handoff handoff = fast(Duration.ofSeconds(30), 100, 1000);
    byte[] large = new byte[1500];
    byte[] small = new byte[400];
    java.util.List<io.vertx.core.Future<JsonObject>> answers = new java.util.ArrayList<>();
    for (byte[] payload : java.util.List.of(large, small, small, small)) {
      answers.add(handoff.send(new InboundMessage("iot/m/telemetry", payload, 1, "endpoint", "m", Instant.now())));
    }
    io.iotmeter.support.Eventually.within(Duration.ofSeconds(5), () -> assertThat(held).hasSize(1));
    assertThat(handoff.waiting()).as("1,500 bytes are with the intake: nothing more fits").isEqualTo(3);
    held.get(0).reply(new JsonObject().put("outcome", "accepted"));
    io.iotmeter.support.Eventually.within(Duration.ofSeconds(5), () -> assertThat(held).hasSize(3));
    assertThat(handoff.waiting()).as("two of 400 bytes fit in 1,000, the third waits").isEqualTo(1);
    held.subList(1, held.size()).forEach(m -> m.reply(new JsonObject().put("outcome", "accepted")));
  }
}
