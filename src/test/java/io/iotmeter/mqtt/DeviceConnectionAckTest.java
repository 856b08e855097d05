package io.iotmeter.mqtt;

import io.iotmeter.Main;
import io.iotmeter.bus.BusAddress;
import io.iotmeter.protocol.InboundMessage;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.FreePorts;
import io.iotmeter.support.Profiles;
import io.iotmeter.support.RawMqttClient;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The device endpoint's acknowledgements against a fake intake (a consumer of {@code iot.inbound}
 * that answers when and how the test says), without PostgreSQL or the platform: PUBACK / PUBREC
 * only once the intake answered, in the order of the PUBLISH packets, a QoS 2 copy resent with
 * DUP answered without a second hand-off, and a message the intake could not take retried, not
 * acknowledged. Milliseconds a test, so mutation testing (README, "Mutation testing") runs them
 * where DeviceEndpointIngestTest (the whole platform) would take minutes per mutant.
 */
@Timeout(30)
class DeviceConnectionAckTest {

  private static final String TOPIC = "iot/dc-meter-001/telemetry";
  private static JsonObject embedded;

  private Vertx vertx;
  private int port;
  private RawMqttClient client;
  /** The requests the fake intake holds, in arrival order. */
  private final List<Message<Object>> requests = new CopyOnWriteArrayList<>();
  /** The fake intake's answer to each request as it arrives; null holds it for the test. */
  private volatile Function<Integer, JsonObject> autoAnswer = n -> null;

  @BeforeAll
  static void loadProfile() {
    embedded = Profiles.load("embedded");
  }

  @BeforeEach
  void start() {
    JsonObject config = embedded.copy();
    port = FreePorts.next();
    config.getJsonObject("mqtt").put("port", port);
    config.getJsonObject("security").put("enabled", false).put("allow_default_secrets", true);
    vertx = Main.createVertx(config).await();
    vertx.eventBus().<Object>localConsumer(BusAddress.INBOUND.address(), request -> {
      requests.add(request);
      JsonObject answer = autoAnswer.apply(requests.size());
      if (answer != null) {
        request.reply(answer);
      }
    }).completion().await();
    vertx.deployVerticle(new MqttServerVerticle(), new DeploymentOptions().setConfig(config)).await();
    client = RawMqttClient.connect(vertx, port, "dc-meter-001", true, 60, null, null);
  }

  @AfterEach
  void stop() {
    if (client != null && !client.isClosed()) {
      client.close();
    }
    vertx.close().await();
  }

  private static JsonObject outcome(String outcome) {
    return new JsonObject().put("outcome", outcome);
  }

  private static String payload(long seq) {
    return Datagrams.telemetry("dc-meter-001", seq).encode();
  }

  private void awaitRequests(int n) {
    Eventually.within(Duration.ofSeconds(10), () -> assertThat(requests).hasSize(n));
  }

  private static long seqOf(Message<Object> request) {
    InboundMessage in = (InboundMessage) request.body();
    return new JsonObject(new String(in.payload(), java.nio.charset.StandardCharsets.UTF_8)).getLong("seq");
  }

  @Test
  void aQos1MessageIsAcknowledgedOnlyOnceTheIntakeAnsweredIt() {
    client.publish(TOPIC, payload(1), 1, 1, false);
    awaitRequests(1);
    InboundMessage handed = (InboundMessage) requests.get(0).body();
    assertThat(handed.topic()).isEqualTo(TOPIC);
    assertThat(handed.qos()).isEqualTo(1);
    assertThat(handed.clientId()).isEqualTo("dc-meter-001");
    assertThat(client.count(RawMqttClient.PUBACK, Duration.ofMillis(300))).as("not durable yet").isZero();

    requests.get(0).reply(outcome("accepted"));
    assertThat(client.await(RawMqttClient.PUBACK, Duration.ofSeconds(5)).packetId()).isEqualTo(1);
  }

  @Test
  void acknowledgementsFollowThePublishOrderWhateverOrderTheIntakeAnswersIn() {
    for (int id = 1; id <= 3; id++) {
      client.publish(TOPIC, payload(id), 1, id, false);
    }
    awaitRequests(3);
    assertThat(requests).extracting(DeviceConnectionAckTest::seqOf).containsExactly(1L, 2L, 3L);
    requests.get(2).reply(outcome("accepted"));
    requests.get(1).reply(outcome("duplicate"));
    assertThat(client.count(RawMqttClient.PUBACK, Duration.ofMillis(300))).as("the first is not durable yet").isZero();

    requests.get(0).reply(outcome("accepted"));
    for (int id = 1; id <= 3; id++) {
      assertThat(client.await(RawMqttClient.PUBACK, Duration.ofSeconds(5)).packetId()).isEqualTo(id);
    }
  }

  @Test
  void aQos2MessageResentWithDupIsAnsweredAgainWithoutASecondHandOff() {
    autoAnswer = n -> outcome("accepted");
    client.publish(TOPIC, payload(1), 2, 5, false);
    assertThat(client.await(RawMqttClient.PUBREC, Duration.ofSeconds(5)).packetId()).isEqualTo(5);
    // Our PUBREC was lost, say: the client sends the PUBLISH again, with DUP.
    client.publish(TOPIC, payload(1), 2, 5, true);
    assertThat(client.await(RawMqttClient.PUBREC, Duration.ofSeconds(5)).packetId()).isEqualTo(5);
    client.pubrel(5);
    assertThat(client.await(RawMqttClient.PUBCOMP, Duration.ofSeconds(5)).packetId()).isEqualTo(5);

    // A later message goes to the intake after any hand-off of the copy would have: once it is
    // acknowledged, the intake has seen all there is to see.
    client.publish(TOPIC, payload(2), 1, 6, false);
    assertThat(client.await(RawMqttClient.PUBACK, Duration.ofSeconds(5)).packetId()).isEqualTo(6);
    assertThat(requests).extracting(DeviceConnectionAckTest::seqOf).containsExactly(1L, 2L);
  }

  @Test
  void aMessageTheIntakeCouldNotTakeIsHandedOnAgainAndAcknowledgedOnlyOnceTaken() {
    client.publish(TOPIC, payload(1), 1, 1, false);
    awaitRequests(1);
    requests.get(0).fail(503, "intake journal unavailable");
    awaitRequests(2); // the hand-off's retry, after 100-300 ms
    assertThat(client.count(RawMqttClient.PUBACK, Duration.ofMillis(200))).as("still not durable").isZero();
    assertThat(client.isClosed()).as("the client is held, not dropped").isFalse();

    requests.get(1).reply(outcome("accepted"));
    assertThat(client.await(RawMqttClient.PUBACK, Duration.ofSeconds(5)).packetId()).isEqualTo(1);
    assertThat(seqOf(requests.get(1))).isEqualTo(1L);
  }

  @Test
  void aMessageTheIntakeRefusedIsAcknowledgedSoTheMeterStopsSendingIt() {
    autoAnswer = n -> new JsonObject().put("outcome", "rejected").put("error_type", "json_decode");
    client.publish(TOPIC, "{not json", 1, 9, false);
    assertThat(client.await(RawMqttClient.PUBACK, Duration.ofSeconds(5)).packetId()).isEqualTo(9);
    assertThat(requests).hasSize(1);
  }
  @Test
  void aMessageOutsideTheDeviceTopicsIsAcknowledgedAndDroppedWithoutHoldingBackTheNext() {
    autoAnswer = n -> outcome("accepted");
    client.publish("elsewhere/dc-meter-001", payload(1), 1, 1, false);
    client.publish(TOPIC, payload(2), 1, 2, false);
    assertThat(client.await(RawMqttClient.PUBACK, Duration.ofSeconds(5)).packetId()).isEqualTo(1);
    assertThat(client.await(RawMqttClient.PUBACK, Duration.ofSeconds(5)).packetId()).isEqualTo(2);
    assertThat(requests).extracting(DeviceConnectionAckTest::seqOf).as("only the device topic's message").containsExactly(2L);
  }
}
