package io.iotmeter.mqtt;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.FreePorts;
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

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The bridge's connection to one broker, against a small MQTT server of our own (vertx-mqtt)
 * that shows what the link acknowledges and when: no PUBACK before the intake has the message,
 * PUBACKs in arrival order, a failed hand-off drops only its own connection, refused
 * subscriptions are reported, and reconnects never pile up.
 */
@Timeout(60)
class BrokerLinkTest {

  private static final Duration WAIT = Duration.ofSeconds(15);
  private final Vertx vertx = Vertx.vertx();
  private final int port = FreePorts.next();
  private final List<MqttEndpoint> connections = new CopyOnWriteArrayList<>();
  private final List<Integer> acknowledged = new CopyOnWriteArrayList<>();
  private final AtomicInteger connects = new AtomicInteger();
  private BrokerLink link;

  @AfterEach
  void tearDown() {
    if (link != null) {
      link.stop();
    }
    vertx.close().await();
  }

  /** A broker that grants each filter what {@code grant} says and records PUBACKs. */
  private void broker(Function<String, MqttQoS> grant, boolean refuseConnects) {
    MqttServer server = MqttServer.create(vertx, new MqttServerOptions().setHost("127.0.0.1").setPort(port));
    server.endpointHandler(endpoint -> {
      connects.incrementAndGet();
      if (refuseConnects) {
        endpoint.reject(MqttConnectReturnCode.CONNECTION_REFUSED_SERVER_UNAVAILABLE);
        return;
      }
      endpoint.subscribeHandler(s -> endpoint.subscribeAcknowledge(s.messageId(),
          s.topicSubscriptions().stream().map(t -> grant.apply(t.topicName())).toList()));
      endpoint.publishAcknowledgeHandler(acknowledged::add);
      endpoint.pingHandler(v -> { });
      endpoint.closeHandler(v -> connections.remove(endpoint));
      endpoint.accept(false);
      connections.add(endpoint);
    }).listen().await();
  }

  private void broker() {
    broker(filter -> MqttQoS.AT_LEAST_ONCE, false);
  }

  private BrokerLink link() {
    link = new BrokerLink(vertx, new BrokerLink.Settings("127.0.0.1", port, "link-test", null, 30,
        Duration.ofMillis(100), Duration.ofMillis(200), null, null, false, false, null), new Handoff(vertx, Duration.ofMillis(500)),
        IngestMetrics.of(new SimpleMeterRegistry()));
    link.start().await();
    return link;
  }

  /** Publishes as the broker does to the link's current connection, with MQTT message id {@code id}. */
  private void deliver(int id, long seq) {
    MqttEndpoint endpoint = Eventually.value(WAIT, () -> connections.isEmpty() ? null : connections.get(0), e -> e != null);
    endpoint.publish("iot/dc-meter-001/telemetry", Buffer.buffer("{\"seq\":" + seq + "}"), MqttQoS.AT_LEAST_ONCE, false, false, id);
  }

  private List<Message<JsonObject>> intake() {
    List<Message<JsonObject>> requests = new CopyOnWriteArrayList<>();
    vertx.eventBus().<JsonObject>localConsumer(BusAddress.INBOUND.address(), requests::add).completion().await();
    return requests;
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
    List<Message<JsonObject>> intake = intake();
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
}
