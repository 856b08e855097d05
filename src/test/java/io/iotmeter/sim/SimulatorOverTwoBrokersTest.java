package io.iotmeter.sim;

import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.protocol.Category;
import io.iotmeter.support.AcceptedTap;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.SettledStores;
import io.iotmeter.support.TestMeter;
import io.iotmeter.support.TestMosquitto;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Simulated meters on two real Mosquitto brokers, read by the platform's broker bridge (the
 * compose deployment): every message reaches the platform twice and is kept once, a broker
 * that goes away costs nothing, a command that arrives through both brokers is carried out
 * once, and {@code update_config} moves a meter off a broker.
 */
@Timeout(120)
class SimulatorOverTwoBrokersTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final List<TestMosquitto> brokers = new ArrayList<>();
  private static RunningPlatform platform;
  private static AcceptedTap accepted;
  private final List<String> deployments = new ArrayList<>();

  @BeforeAll
  static void start() {
    brokers.add(TestMosquitto.start());
    brokers.add(TestMosquitto.start());
    JsonObject config = RunningPlatform.ingestConfig();
    config.getJsonObject("deploy").put("mqtt_server", 0).put("mqtt_bridge", 1);
    config.getJsonObject("mqtt_bridge").put("brokers", new JsonArray(brokers.stream().map(TestMosquitto::address).toList()))
        .put("client_id", "platform-under-test").put("min_backoff_ms", 100).put("max_backoff_ms", 500);
    platform = RunningPlatform.start(config);
    accepted = new AcceptedTap(platform.vertx());
    Eventually.within(WAIT, () -> assertThat(platform.get("/metrics").body()).contains("mqtt_collector_mqtt_connected 2.0"));
  }

  @AfterAll
  static void stop() {
    accepted.close();
    platform.close();
    brokers.forEach(TestMosquitto::close);
  }

  @AfterEach
  void undeploy() {
    deployments.forEach(id -> platform.vertx().undeploy(id).await());
  }

  @Test
  void everyMessageTravelsThroughBothBrokersAndIsKeptOnceAndACommandIsCarriedOutOnce() {
    SimulatorVerticle simulator = deploy(new JsonArray().add(meter("dc-meter-201", "dc")), 2);
    assertThat(simulator.meters()).extracting(SimulatedMeter::deviceId)
        .containsExactly("dc-meter-201", "sim-dc-0001", "sim-ac-0001");
    for (SimulatedMeter meter : simulator.meters()) {
      Eventually.within(WAIT, () -> assertThat(seqs(meter.deviceId(), Category.TELEMETRY)).hasSizeGreaterThanOrEqualTo(3));
      assertConsecutiveFromZero(meter.deviceId());
      assertThat(payloads(meter.deviceId(), Category.HELLO).get(0).getInteger("broker_connections")).isEqualTo(2);
    }
    assertThat(platform.get("/metrics").body().lines().filter(l -> l.startsWith("mqtt_collector_duplicates_dropped_total"))
        .findFirst().orElseThrow()).doesNotEndWith(" 0.0");

    Reply reply = platform.post("/api/devices/dc-meter-201/commands", new JsonObject().put("cmd", "request_status"));
    assertThat(reply.status()).as(reply.toString()).isEqualTo(201);
    String cmdId = reply.json().getString("cmd_id");
    Eventually.within(WAIT, () -> assertThat(payloads("dc-meter-201", Category.HELLO)).hasSizeGreaterThanOrEqualTo(2));
    // Counted once the copies still on their way through the other broker have arrived.
    stopMetersAndSettle(simulator);
    assertThat(payloads("dc-meter-201", Category.COMMAND_ACK)).as("the copy through the second broker is not carried out again")
        .singleElement().satisfies(ack -> {
          assertThat(ack.getString("cmd_id")).isEqualTo(cmdId);
          assertThat(ack.getString("result")).isEqualTo("accepted");
        });
    for (SimulatedMeter meter : simulator.meters()) {
      assertConsecutiveFromZero(meter.deviceId());
    }
  }

  @Test
  void aBrokerThatGoesAwayCostsNoMessageAndIsRejoinedWhenItComesBack() {
    brokerOutage("dc-meter-202");
    List<Long> seqs = sequencedSeqs("dc-meter-202");
    assertThat(seqs.stream().distinct().toList()).as("nothing lost: " + trace("dc-meter-202"))
        .containsExactlyElementsOf(LongStream.range(0, seqs.get(seqs.size() - 1) + 1).boxed().toList());
  }

  /**
   * After a broker outage early in a boot, the meter announces itself on the returning broker
   * ({@code status: online}) and then sends what that broker missed, with small seqs: copies,
   * created before that status, which must not be taken for a reboot and stored twice.
   */
  @Test
  void messagesReplayedAfterAReconnectAreNotMistakenForAReboot() {
    SimulatorVerticle simulator = brokerOutage("dc-meter-204");
    // Counted once the replayed copies have all arrived: one taken for a reboot's message would show.
    stopMetersAndSettle(simulator);
    assertConsecutiveFromZero("dc-meter-204");
  }

  /** Broker 1 of 2 goes away while the meter publishes, comes back, and the meter is on both again. */
  private SimulatorVerticle brokerOutage(String deviceId) {
    SimulatorVerticle simulator = deploy(new JsonArray().add(meter(deviceId, "dc")), 0);
    SimulatedMeter meter = simulator.meter(deviceId).orElseThrow();
    Eventually.within(WAIT, () -> assertThat(seqs(deviceId, Category.TELEMETRY)).hasSizeGreaterThanOrEqualTo(2));

    brokers.get(0).stop();
    int before = seqs(deviceId, Category.TELEMETRY).size();
    Eventually.within(WAIT, () -> assertThat(seqs(deviceId, Category.TELEMETRY)).hasSizeGreaterThanOrEqualTo(before + 3));
    brokers.get(0).restart();
    Eventually.within(WAIT, () -> assertThat(platform.get("/metrics").body()).contains("mqtt_collector_mqtt_connected 2.0"));

    Eventually.within(WAIT, () -> assertThat(meter.connectedBrokers().await()).isEqualTo(2));
    Reply reply = platform.post("/api/devices/" + deviceId + "/commands", new JsonObject().put("cmd", "request_status"));
    assertThat(reply.status()).as(reply.toString()).isEqualTo(201);
    long helloSeq = Eventually.value(WAIT, () -> ackSeq(deviceId, reply.json().getString("cmd_id")), seq -> seq >= 0) + 1;
    Eventually.within(WAIT, () -> assertThat(payloads(deviceId, Category.HELLO))
        .anySatisfy(hello -> {
          assertThat(hello.getLong("seq")).isEqualTo(helloSeq);
          assertThat(hello.getInteger("broker_connections")).as("back on both brokers").isEqualTo(2);
        }));
    assertThat(meter.config().brokers()).hasSize(2);
    return simulator;
  }

  @Test
  void updateConfigMovesTheMeterOffABrokerWhichKeepsItsOfflineStatus() {
    SimulatorVerticle simulator = deploy(new JsonArray().add(meter("dc-meter-203", "dc")), 0);
    Eventually.within(WAIT, () -> assertThat(seqs("dc-meter-203", Category.TELEMETRY)).isNotEmpty());
    TestMosquitto kept = brokers.get(1);
    Reply reply = platform.post("/api/devices/dc-meter-203/commands", new JsonObject().put("cmd", "update_config")
        .put("params", new JsonObject().put("brokers", new JsonArray().add(new JsonObject().put("host", "127.0.0.1").put("port", kept.port())))));
    assertThat(reply.status()).as(reply.toString()).isEqualTo(201);
    String cmdId = reply.json().getString("cmd_id");

    Eventually.within(WAIT, () -> assertThat(payloads("dc-meter-203", Category.COMMAND_ACK)).singleElement().satisfies(ack -> {
      assertThat(ack.getString("cmd_id")).isEqualTo(cmdId);
      assertThat(ack.getString("result")).isEqualTo("accepted");
    }));
    assertThat(simulator.meter("dc-meter-203").orElseThrow().config().brokers())
        .containsExactly(new BrokerAddress("127.0.0.1", kept.port()));
    try (TestMeter observer = TestMeter.connect(platform.vertx(), brokers.get(0).port(), "observer-203", true)) {
      observer.subscribe("iot/dc-meter-203/status", 1);
      assertThat(observer.receive(WAIT).payload().toJsonObject().getString("status")).as("retained on the broker it left")
          .isEqualTo("offline");
    }
    int before = seqs("dc-meter-203", Category.TELEMETRY).size();
    Eventually.within(WAIT, () -> assertThat(seqs("dc-meter-203", Category.TELEMETRY)).hasSizeGreaterThanOrEqualTo(before + 2));
    Reply status = platform.post("/api/devices/dc-meter-203/commands", new JsonObject().put("cmd", "request_status"));
    assertThat(status.status()).isEqualTo(201);
    Eventually.within(WAIT, () -> assertThat(payloads("dc-meter-203", Category.HELLO))
        .anySatisfy(hello -> assertThat(hello.getInteger("broker_connections")).isEqualTo(1)));
    // Counted once whatever was still on its way arrived: each command carried out once.
    stopMetersAndSettle(simulator);
    assertThat(payloads("dc-meter-203", Category.COMMAND_ACK)).extracting(ack -> ack.getString("cmd_id"))
        .containsExactlyInAnyOrder(cmdId, status.json().getString("cmd_id"));
    assertConsecutiveFromZero("dc-meter-203");
  }

  /**
   * Stops the simulated meters, then waits until what the intake accepted of them stayed the same
   * for longer than a sink's linger and recovery interval: the copies still on their way through
   * the other broker have arrived, so "once" is counted exactly.
   */
  private void stopMetersAndSettle(SimulatorVerticle simulator) {
    List<String> ids = simulator.meters().stream().map(SimulatedMeter::deviceId).toList();
    deployments.forEach(id -> platform.vertx().undeploy(id).await());
    deployments.clear();
    Eventually.settled(WAIT, SettledStores.interval(platform.config()),
        () -> ids.stream().map(id -> accepted.of(id).size()).toList(), sizes -> true);
  }

  private SimulatorVerticle deploy(JsonArray meters, int count) {
    SimulatorVerticle verticle = new SimulatorVerticle();
    JsonObject simulator = new JsonObject()
        .put("brokers", new JsonArray(brokers.stream().map(TestMosquitto::address).toList()))
        .put("meters", meters).put("count", count).put("dc_ratio", 0.5)
        .put("sampling_cadence_ms", 100).put("send_interval_s", 1).put("hello_interval_s", 2)
        .put("min_backoff_ms", 100).put("max_backoff_ms", 500);
    deployments.add(platform.vertx().deployVerticle(verticle,
        new DeploymentOptions().setConfig(platform.config().copy().put("simulator", simulator))).await());
    return verticle;
  }

  private static JsonObject meter(String id, String type) {
    return new JsonObject().put("device_id", id).put("type", type);
  }

  /** The seq of the meter's acknowledgement of {@code cmdId}, or -1 while it has not arrived. */
  private static long ackSeq(String deviceId, String cmdId) {
    return payloads(deviceId, Category.COMMAND_ACK).stream().filter(a -> a.getString("cmd_id").equals(cmdId))
        .mapToLong(a -> a.getLong("seq")).findFirst().orElse(-1);
  }

  private static List<Long> seqs(String deviceId, Category category) {
    return accepted.seqs(deviceId, category);
  }

  private static List<JsonObject> payloads(String deviceId, Category category) {
    return accepted.of(deviceId).stream().filter(m -> m.category() == category).map(m -> new JsonObject(m.payload())).toList();
  }

  /** Each message once, none missing: seq 0, 1, 2, … whatever broker delivered it first. */
  private static void assertConsecutiveFromZero(String deviceId) {
    List<Long> seqs = sequencedSeqs(deviceId);
    assertThat(seqs).as(trace(deviceId)).containsExactlyElementsOf(LongStream.range(0, seqs.size()).boxed().toList());
  }

  private static List<Long> sequencedSeqs(String deviceId) {
    return accepted.of(deviceId).stream().filter(m -> m.category() != Category.STATUS).map(AcceptedMessage::seq).sorted().toList();
  }

  /** What the intake accepted, for failure messages: category/seq/epoch via broker, in acceptance order. */
  private static String trace(String deviceId) {
    return accepted.of(deviceId).stream()
        .map(m -> m.category().categoryName() + "/" + m.seq() + "/e" + m.epoch() + " via " + m.source())
        .collect(java.util.stream.Collectors.joining(", ", "[", "]"));
  }
}
