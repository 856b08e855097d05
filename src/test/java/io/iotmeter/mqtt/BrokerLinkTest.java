package io.iotmeter.mqtt;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.protocol.InboundMessage;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.FreePorts;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import io.vertx.mqtt.MqttEndpoint;
import io.vertx.mqtt.MqttServer;
import io.vertx.mqtt.MqttServerOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.IntPredicate;
import java.util.function.IntToLongFunction;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The bridge's connection to one broker, against a small MQTT server of our own (vertx-mqtt)
 * that shows what the link acknowledges and when: no PUBACK before the intake has the message,
 * PUBACKs in arrival order, a failed hand-off drops only its own connection, refused
 * subscriptions are reported, and reconnects never pile up. The server can also withhold
 * SUBACK, answer CONNECT late, or drop a connection, for the failure paths; the hand-off's
 * retries and the SUBACK timeout run at milliseconds there.
 */
@Timeout(60)
class BrokerLinkTest {

  private static final Duration WAIT = Duration.ofSeconds(15);
  private final Vertx vertx = Vertx.vertx();
  private final int port = FreePorts.next();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  /** Open connections, in connect order. */
  private final List<MqttEndpoint> connections = new CopyOnWriteArrayList<>();
  /** Every connection the broker accepted or refused, in connect order: connection n is {@code all.get(n - 1)}. */
  private final List<MqttEndpoint> all = new CopyOnWriteArrayList<>();
  private final List<Integer> acknowledged = new CopyOnWriteArrayList<>();
  /** PUBACKs as {@code <connection number>:<packet id>}. */
  private final List<String> acknowledgedOn = new CopyOnWriteArrayList<>();
  /** The connection numbers whose SUBSCRIBE arrived. */
  private final List<Integer> subscribes = new CopyOnWriteArrayList<>();
  private final AtomicInteger connects = new AtomicInteger();
  private final AtomicInteger mostOpenAtOnce = new AtomicInteger();
  /** Whatever the link let escape to Vert.x (a handler that threw). */
  private final List<Throwable> escaped = new CopyOnWriteArrayList<>();
  private BrokerLink link;

  // How the broker behaves, by connection number (from 1).
  private Function<String, MqttQoS> grant = filter -> MqttQoS.AT_LEAST_ONCE;
  private boolean refuseConnects;
  private IntToLongFunction connackDelayMs = n -> 0;
  private IntPredicate withholdSuback = n -> false;
  private IntPredicate closeOnSubscribe = n -> false;

  @AfterEach
  void tearDown() {
    if (link != null) {
      link.stop();
    }
    vertx.close().await();
  }

  /** A broker that behaves as the fields above say and records connections, SUBSCRIBEs and PUBACKs. */
  private void broker() {
    vertx.exceptionHandler(escaped::add);
    MqttServer server = MqttServer.create(vertx, new MqttServerOptions().setHost("127.0.0.1").setPort(port));
    server.endpointHandler(endpoint -> {
      int n = connects.incrementAndGet();
      all.add(endpoint);
      if (refuseConnects) {
        endpoint.reject(MqttConnectReturnCode.CONNECTION_REFUSED_SERVER_UNAVAILABLE);
        return;
      }
      endpoint.subscribeHandler(s -> {
        subscribes.add(n);
        if (closeOnSubscribe.test(n)) {
          endpoint.close();
        } else if (!withholdSuback.test(n)) {
          endpoint.subscribeAcknowledge(s.messageId(), s.topicSubscriptions().stream().map(t -> grant.apply(t.topicName())).toList());
        }
      });
      endpoint.publishAcknowledgeHandler(id -> {
        acknowledged.add(id);
        acknowledgedOn.add(n + ":" + id);
      });
      endpoint.pingHandler(v -> { });
      endpoint.closeHandler(v -> connections.remove(endpoint));
      connections.add(endpoint);
      mostOpenAtOnce.accumulateAndGet(connections.size(), Math::max);
      long delay = connackDelayMs.applyAsLong(n);
      if (delay == 0) {
        endpoint.accept(false);
      } else {
        vertx.setTimer(delay, id -> endpoint.accept(false));
      }
    }).listen().await();
  }

  private void broker(Function<String, MqttQoS> grant, boolean refuseConnects) {
    this.grant = grant;
    this.refuseConnects = refuseConnects;
    broker();
  }

  /**
   * The hand-off's retries a hundredth of production's (the same number of them), so that a
   * hand-off the intake refuses gives up in milliseconds. Its timeout stays long: messages the
   * tests' intake holds on to are not sent again while held.
   */
  private Handoff fastHandoff() {
    return new Handoff(vertx, Duration.ofSeconds(10), 500, 16L << 20,
        Handoff.RETRIES.stream().map(d -> d.dividedBy(100)).toList(), Handoff.PATIENCE.dividedBy(100));
  }

  private BrokerLink link() {
    return link(Duration.ofMillis(100), Duration.ofMillis(200), BrokerLink.SUBACK_TIMEOUT);
  }

  private BrokerLink link(Duration minBackoff, Duration maxBackoff, Duration subackTimeout) {
    link = unstarted(minBackoff, maxBackoff, subackTimeout);
    link.start().await();
    return link;
  }

  private BrokerLink unstarted(Duration minBackoff, Duration maxBackoff, Duration subackTimeout) {
    link = new BrokerLink(vertx, new BrokerLink.Settings("127.0.0.1", port, "link-test", null, 30, minBackoff, maxBackoff,
        null, null, false, false, null), fastHandoff(), IngestMetrics.of(registry), subackTimeout);
    return link;
  }

  /** The broker's connection the link uses now. */
  private MqttEndpoint current() {
    return Eventually.value(WAIT, () -> connections.isEmpty() ? null : connections.get(connections.size() - 1), e -> e != null);
  }

  /** Publishes as the broker does to the link's current connection, with MQTT message id {@code id}. */
  private void deliver(int id, long seq) {
    deliver("iot/dc-meter-001/telemetry", id, seq);
  }

  private void deliver(String topic, int id, long seq) {
    current().publish(topic, Buffer.buffer("{\"seq\":" + seq + "}"), MqttQoS.AT_LEAST_ONCE, false, false, id);
  }

  private List<Message<Object>> intake() {
    List<Message<Object>> requests = new CopyOnWriteArrayList<>();
    vertx.eventBus().localConsumer(BusAddress.INBOUND.address(), requests::add).completion().await();
    return requests;
  }

  private static long seq(Message<?> request) {
    InboundMessage message = (InboundMessage) request.body();
    return new JsonObject(new String(message.payload(), StandardCharsets.UTF_8)).getLong("seq");
  }

  private static void await(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void theBrokerIsAcknowledgedOnlyOnceTheIntakeHasTheMessageAndInArrivalOrder() {
    broker();
    List<Message<Object>> intake = intake();
    BrokerLink link = link();
    Eventually.within(WAIT, () -> assertThat(link.subscribed()).isTrue());
    deliver(11, 0);
    deliver(12, 1);
    Eventually.within(WAIT, () -> assertThat(intake).hasSize(2));
    // The second message is durable first; its PUBACK waits for the first one's.
    intake.get(1).reply(new JsonObject().put("outcome", "accepted"));
    await(Duration.ofMillis(300));
    assertThat(acknowledged).as("nothing acknowledged before the intake answered the first").isEmpty();
    intake.get(0).reply(new JsonObject().put("outcome", "accepted"));
    Eventually.within(WAIT, () -> assertThat(acknowledged).containsExactly(11, 12));
  }

  @Test
  void aHandOffThatFailsLeavesTheMessageUnacknowledgedAndReconnectsOnce() {
    broker();
    AtomicInteger calls = new AtomicInteger();
    vertx.eventBus().<JsonObject>localConsumer(BusAddress.INBOUND.address(), m -> {
      // The intake refuses until the link gave up once (every retry of the hand-off included).
      if (connects.get() < 2) {
        calls.incrementAndGet();
        m.fail(503, "intake journal unavailable");
      } else {
        m.reply(new JsonObject().put("outcome", "accepted"));
      }
    }).completion().await();
    BrokerLink link = link();
    Eventually.within(WAIT, () -> assertThat(link.subscribed()).isTrue());
    deliver(21, 0);
    // The link gives up on the hand-off, drops that connection (the broker keeps the message for
    // the session) and comes back on a single new one.
    Eventually.within(WAIT, () -> assertThat(connects.get()).isEqualTo(2));
    assertThat(acknowledged).isEmpty();
    assertThat(calls.get()).as("the hand-off was retried before giving up").isGreaterThan(1);
    Eventually.within(WAIT, () -> assertThat(link.subscribed()).isTrue());
    deliver(21, 0); // the broker's redelivery on the new session
    Eventually.within(WAIT, () -> assertThat(acknowledged).containsExactly(21));
    await(Duration.ofMillis(500));
    assertThat(connects.get()).as("no second reconnect").isEqualTo(2);
  }

  @Test
  void refusedOrDowngradedSubscriptionsLeaveTheLinkConnectedButNotSubscribed() {
    broker(filter -> filter.endsWith("/hello") ? MqttQoS.FAILURE
        : filter.equals("iot/+/status") ? MqttQoS.AT_MOST_ONCE : MqttQoS.AT_LEAST_ONCE, false);
    BrokerLink link = link();
    Eventually.within(WAIT, () -> assertThat(link.connected()).isTrue());
    assertThat(link.subscribed()).isFalse();
    assertThat(link.refusedFilters()).containsExactlyInAnyOrder("iot/+/hello", "iot/+/status");
  }

  @Test
  void aBrokerThatRefusesConnectionsIsRetriedOneAttemptAtATime() {
    broker(filter -> MqttQoS.AT_LEAST_ONCE, true);
    BrokerLink link = link();
    await(Duration.ofSeconds(2));
    // Back-off 100–200 ms: one attempt after another makes at most ~20 in 2 s; attempts that
    // each scheduled two more would make thousands.
    assertThat(connects.get()).isBetween(5, 22);
    assertThat(link.connected()).isFalse();
  }

  @Test
  void aCommandForADisconnectedBrokerFailsNamingIt() {
    BrokerLink link = link(); // nobody listens on the port
    assertThatThrownBy(() -> link.publish("iot/dc-meter-001/command", Buffer.buffer("{}"), 1).await())
        .hasMessageContaining("not connected to 127.0.0.1:" + port);
  }

  // --- Failure paths, fast ---

  @Test
  void aSubackThatNeverComesDropsTheConnectionAndConnectsAgainNotReadyMeanwhile() {
    withholdSuback = n -> n == 1;
    broker();
    // 500 ms: short, but ample for connection 2's SUBACK on a busy machine.
    BrokerLink link = unstarted(Duration.ofMillis(20), Duration.ofMillis(40), Duration.ofMillis(500));
    link.start();
    Eventually.within(WAIT, () -> assertThat(subscribes).containsExactly(1));
    // Waiting for the broker's verdict on the subscriptions: connected at the TCP level, but
    // neither counted as connected nor as subscribed (the platform's readiness).
    assertThat(link.connected()).isFalse();
    assertThat(link.subscribed()).isFalse();
    Eventually.within(WAIT, () -> assertThat(link.subscribed()).isTrue());
    assertThat(connects.get()).isEqualTo(2);
    assertThat(all.get(0).isConnected()).as("the link closed the connection that had no SUBACK").isFalse();
    assertThat(mostOpenAtOnce.get()).as("the new connection came after the old one closed").isEqualTo(1);
  }

  @Test
  void aMessageOnATopicThatIsNoDeviceTopicIsCountedAndAcknowledgedInOrderWithoutReachingTheIntake() {
    broker();
    List<Message<Object>> intake = intake();
    BrokerLink link = link();
    Eventually.within(WAIT, () -> assertThat(link.subscribed()).isTrue());
    deliver(31, 0);
    deliver("iot/telemetry", 32, 1); // no device id
    deliver("iot/dc-meter-001/no-such-category", 33, 2);
    deliver(34, 3);
    Eventually.within(WAIT, () -> assertThat(intake).hasSize(2));
    await(Duration.ofMillis(100));
    assertThat(intake).extracting(m -> ((InboundMessage) m.body()).topic())
        .containsExactly("iot/dc-meter-001/telemetry", "iot/dc-meter-001/telemetry");
    assertThat(acknowledged).as("the refused ones wait for the message before them").isEmpty();
    intake.get(0).reply(new JsonObject().put("outcome", "accepted"));
    // Acknowledged, so the broker does not send them again and again: nothing could take them.
    Eventually.within(WAIT, () -> assertThat(acknowledged).containsExactly(31, 32, 33));
    intake.get(1).reply(new JsonObject().put("outcome", "accepted"));
    Eventually.within(WAIT, () -> assertThat(acknowledged).containsExactly(31, 32, 33, 34));
    Counter invalid = registry.find("mqtt_collector.messages.errors").tag("error_type", "invalid_topic").counter();
    assertThat(invalid).isNotNull();
    assertThat(invalid.count()).isEqualTo(2.0);
    assertThat(link.subscribed()).isTrue();
    assertThat(connects.get()).as("the link stayed on its connection").isEqualTo(1);
    assertThat(escaped).isEmpty();
  }

  @Test
  void aMessageWhoseConnectionDiedIsNotAcknowledgedAndDoesNotHoldUpTheNewConnection() {
    broker();
    List<Message<Object>> intake = intake();
    BrokerLink link = link(Duration.ofMillis(20), Duration.ofMillis(40), BrokerLink.SUBACK_TIMEOUT);
    Eventually.within(WAIT, () -> assertThat(link.subscribed()).isTrue());
    deliver(41, 0);
    Eventually.within(WAIT, () -> assertThat(intake).hasSize(1));
    current().close(); // the broker drops the connection while the intake still has the message
    Eventually.within(WAIT, () -> assertThat(subscribes).containsExactly(1, 2));
    Eventually.within(WAIT, () -> assertThat(link.subscribed()).isTrue());
    // The new connection's acknowledgements do not wait for the dead one's.
    deliver(42, 1);
    Eventually.within(WAIT, () -> assertThat(intake).hasSize(2));
    intake.get(1).reply(new JsonObject().put("outcome", "accepted"));
    Eventually.within(WAIT, () -> assertThat(acknowledgedOn).containsExactly("2:42"));
    // The old message is durable only now: its PUBACK has no connection to go on (the broker
    // sends the message again on the new session, and the intake answers that copy).
    intake.get(0).reply(new JsonObject().put("outcome", "accepted"));
    await(Duration.ofMillis(200));
    // Each connection has its own client object, whose acknowledgements go only on its own
    // connection; one client reconnected would send PUBACK 41 on the new one, for whatever the
    // broker numbered 41 there.
    assertThat(acknowledgedOn).as("no PUBACK 41 on the new connection, nor anywhere").containsExactly("2:42");
    assertThat(link.subscribed()).isTrue();
    assertThat(connects.get()).isEqualTo(2);
  }

  @Test
  void aHandOffThatFailsAfterItsConnectionWasReplacedLeavesTheCurrentConnectionAlone() {
    broker();
    List<Message<Object>> held = new CopyOnWriteArrayList<>();
    vertx.eventBus().localConsumer(BusAddress.INBOUND.address(), m -> {
      if (seq(m) == 0 && held.isEmpty()) {
        held.add(m); // the first try of message 0 waits; its retries are refused at once
      } else if (seq(m) == 0) {
        m.fail(503, "intake journal unavailable");
      } else {
        m.reply(new JsonObject().put("outcome", "accepted"));
      }
    }).completion().await();
    BrokerLink link = link(Duration.ofMillis(20), Duration.ofMillis(40), BrokerLink.SUBACK_TIMEOUT);
    Eventually.within(WAIT, () -> assertThat(link.subscribed()).isTrue());
    deliver(51, 0);
    Eventually.within(WAIT, () -> assertThat(held).hasSize(1));
    current().close();
    Eventually.within(WAIT, () -> assertThat(subscribes).containsExactly(1, 2));
    Eventually.within(WAIT, () -> assertThat(link.subscribed()).isTrue());
    MqttEndpoint second = current();
    // The old connection's hand-off now fails (with its retries): that connection is gone already.
    held.get(0).fail(503, "intake journal unavailable");
    await(Duration.ofMillis(300));
    assertThat(second.isConnected()).as("the current connection was not dropped").isTrue();
    assertThat(connects.get()).isEqualTo(2);
    assertThat(link.subscribed()).isTrue();
    deliver(52, 1);
    Eventually.within(WAIT, () -> assertThat(acknowledgedOn).containsExactly("2:52"));
  }

  /**
   * Connection 1 is dropped before its SUBACK; connection 2's CONNACK comes only after
   * connection 1's SUBACK timeout ran out. That timeout belongs to a connection already
   * replaced: it must not start a third connection beside the second one.
   */
  @Test
  void theSubackTimeoutOfAReplacedConnectionDoesNotStartAnotherBesideTheCurrentOne() {
    closeOnSubscribe = n -> n == 1;
    // Connection 1's SUBACK timeout (500 ms after its SUBSCRIBE) runs out while connection 2
    // (made 15–50 ms after connection 1 closed) still waits for its CONNACK.
    connackDelayMs = n -> n == 2 ? 900 : 0;
    broker();
    BrokerLink link = unstarted(Duration.ofMillis(20), Duration.ofMillis(40), Duration.ofMillis(500));
    link.start();
    Eventually.within(WAIT, () -> assertThat(link.subscribed()).isTrue());
    await(Duration.ofMillis(200));
    assertThat(connects.get()).as("connection 2 is the current one, and the only one").isEqualTo(2);
    assertThat(mostOpenAtOnce.get()).isEqualTo(1);
    assertThat(link.subscribed()).isTrue();
  }

  @Test
  void stopWhileAReconnectIsScheduledMakesNoFurtherAttempt() {
    broker(filter -> MqttQoS.AT_LEAST_ONCE, true);
    BrokerLink link = link(Duration.ofMillis(50), Duration.ofMillis(50), BrokerLink.SUBACK_TIMEOUT);
    // The first attempt was refused; the next one is due in 38–63 ms.
    link.stop().await();
    await(Duration.ofMillis(300));
    assertThat(connects.get()).isEqualTo(1);
    assertThat(link.connected()).isFalse();
  }

  @Test
  void stopWhileAConnectionIsBeingMadeClosesItOnceMadeAndNeverReconnects() {
    connackDelayMs = n -> 200;
    broker();
    BrokerLink link = unstarted(Duration.ofMillis(20), Duration.ofMillis(40), Duration.ofMillis(200));
    link.start();
    Eventually.within(WAIT, () -> assertThat(connects.get()).isEqualTo(1));
    link.stop().await();
    // The CONNACK comes after the stop: the connection the link was making must not stay open.
    Eventually.within(WAIT, () -> assertThat(connections).isEmpty());
    await(Duration.ofMillis(300));
    assertThat(connections).as("still closed").isEmpty();
    assertThat(connects.get()).as("no reconnect after the stop").isEqualTo(1);
    assertThat(link.connected()).isFalse();
    assertThat(link.subscribed()).isFalse();
  }

  @Test
  void stopWhileWaitingForTheSubackClosesTheConnectionAndNeverReconnects() {
    withholdSuback = n -> true;
    broker();
    BrokerLink link = unstarted(Duration.ofMillis(20), Duration.ofMillis(40), Duration.ofMillis(200));
    link.start();
    Eventually.within(WAIT, () -> assertThat(subscribes).containsExactly(1));
    link.stop().await();
    Eventually.within(WAIT, () -> assertThat(connections).isEmpty());
    // Past the SUBACK timeout (200 ms) and a back-off after it.
    await(Duration.ofMillis(400));
    assertThat(connects.get()).as("no reconnect after the stop").isEqualTo(1);
    assertThat(link.connected()).isFalse();
  }
}
