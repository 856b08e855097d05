package io.iotmeter.sim;

import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.protocol.Category;
import io.iotmeter.support.AcceptedTap;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.TcpProxy;
import io.iotmeter.support.TestMeter;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Simulated meters against the real platform (its own MQTT endpoint, intake, sinks, PostgreSQL,
 * S3Proxy, QuestDB): what they publish as the intake accepts it, and every command through the
 * REST API and back. Each test runs its own meters, so tests never see each other's traffic.
 */
@Timeout(120)
class SimulatedMetersTest {

  private static final Duration WAIT = Duration.ofSeconds(15);

  /** The protocol's simulated ranges ("Measurement types sent by devices"): type → unit, min, max. */
  private static final Map<String, Object[]> RANGES = Map.of(
      "voltage_dc", new Object[] {"V", 700.0, 800.0},
      "current_dc", new Object[] {"A", 200.0, 400.0},
      "voltage_ac", new Object[] {"V", 24_000.0, 26_000.0},
      "current_ac", new Object[] {"A", 100.0, 200.0},
      "frequency", new Object[] {"Hz", 49.9, 50.1},
      "pf", new Object[] {null, 0.92, 0.99});

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClassWith(RunningPlatform::ingestConfig);

  private static AcceptedTap accepted;
  private final List<String> deployments = new ArrayList<>();

  @BeforeAll
  static void tap() {
    accepted = new AcceptedTap(platform.vertx());
  }

  @AfterAll
  static void untap() {
    accepted.close();
  }

  @AfterEach
  void undeploy() {
    deployments.forEach(id -> platform.vertx().undeploy(id).await());
  }

  @Test
  void dcAndAcMetersSendConsecutiveTelemetryInRangeAndNoHelloWhileDatagramsAreTheHeartbeat() {
    deploy(simulator("dc-meter-101:dc", "ac-meter-101:ac"));
    Eventually.within(WAIT, () -> {
      assertThat(payloads("dc-meter-101", Category.TELEMETRY)).hasSizeGreaterThanOrEqualTo(4);
      assertThat(payloads("ac-meter-101", Category.TELEMETRY)).hasSizeGreaterThanOrEqualTo(4);
    });
    // Four datagrams one second apart: more than the 2 s hello interval has passed.
    for (String id : List.of("dc-meter-101", "ac-meter-101")) {
      List<AcceptedMessage> messages = sequenced(id);
      assertThat(messages).extracting(AcceptedMessage::seq)
          .containsExactlyElementsOf(LongStream.range(0, messages.size()).boxed().toList());
      assertThat(payloads(id, Category.HELLO)).as("only the boot hello: send_interval_s 1 <= hello_interval_s 2")
          .singleElement().satisfies(hello -> {
            assertThat(hello.getLong("seq")).isZero();
            assertThat(hello.getLong("uptime_s")).isZero();
            assertThat(hello.getString("fw_version")).isEqualTo("1.0.0");
          });
      JsonObject device = platform.get("/api/devices/" + id).json();
      assertThat(device.getString("connection_status")).isEqualTo("online");
      assertThat(device.getString("fw_version")).isEqualTo("1.0.0");
    }
    assertDatagrams("dc-meter-101", List.of("voltage_dc", "current_dc"));
    assertDatagrams("ac-meter-101", List.of("voltage_ac", "current_ac", "frequency", "pf"));
  }

  @Test
  void anMqtt5MeterSendsItsDatagramsMarkedAsJsonAndCarriesOutCommands() throws Exception {
    deploy(simulator("dc-meter-112:dc").put("mqtt_version", 5));
    awaitOnline("dc-meter-112");
    // A strict MQTT 5 subscriber sees what only an MQTT 5 publisher can send: the message's properties.
    var watcher = new org.eclipse.paho.mqttv5.client.MqttClient("tcp://127.0.0.1:" + platform.mqttPort(), "v5-watcher",
        new org.eclipse.paho.mqttv5.client.persist.MemoryPersistence());
    java.util.concurrent.LinkedBlockingQueue<org.eclipse.paho.mqttv5.common.MqttMessage> seen =
        new java.util.concurrent.LinkedBlockingQueue<>();
    try {
      watcher.connect();
      watcher.subscribe(new org.eclipse.paho.mqttv5.common.MqttSubscription[] {
          new org.eclipse.paho.mqttv5.common.MqttSubscription("iot/dc-meter-112/telemetry", 1)},
          new org.eclipse.paho.mqttv5.client.IMqttMessageListener[] {(topic, message) -> seen.add(message)});
      var message = seen.poll(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
      assertThat(message).as("a datagram within " + WAIT).isNotNull();
      assertThat(message.getProperties().getContentType()).isEqualTo("application/json");
      assertThat(message.getProperties().getPayloadFormat()).isTrue();
    } finally {
      if (watcher.isConnected()) {
        watcher.disconnect();
      }
      watcher.close();
    }
    List<AcceptedMessage> messages = sequenced("dc-meter-112");
    assertThat(messages).extracting(AcceptedMessage::seq)
        .containsExactlyElementsOf(LongStream.range(0, messages.size()).boxed().toList());
    String cmdId = command("dc-meter-112", "request_status", null);
    assertThat(awaitResult("dc-meter-112", cmdId).getString("status")).isEqualTo("accepted");
  }

  @Test
  void aMeterSendingLessOftenThanItsHelloIntervalSendsHellos() {
    deploy(simulator("dc-meter-102:dc").put("send_interval_s", 3).put("hello_interval_s", 1));
    Eventually.within(WAIT, () -> {
      assertThat(payloads("dc-meter-102", Category.HELLO)).hasSizeGreaterThanOrEqualTo(4);
      assertThat(payloads("dc-meter-102", Category.TELEMETRY)).isNotEmpty();
    });
    List<JsonObject> hellos = payloads("dc-meter-102", Category.HELLO);
    assertThat(hellos).extracting(h -> h.getLong("uptime_s")).isSorted().last().satisfies(u -> assertThat(u).isGreaterThanOrEqualTo(2));
    assertThat(hellos).allSatisfy(hello -> {
      assertThat(hello.getString("msg_type")).isEqualTo("hello");
      assertThat(hello.getString("fw_version")).isEqualTo("1.0.0");
      assertThat(hello.getDouble("buf_usage_pct")).isBetween(0.0, 100.0);
      assertThat(hello.getDouble("temp_internal")).isBetween(35.0, 45.0);
    });
    assertThat(hellos.get(hellos.size() - 1).getInteger("broker_connections")).isEqualTo(1);
    JsonArray first = payloads("dc-meter-102", Category.TELEMETRY).get(0).getJsonArray("measurements");
    assertThat(first.size() / 2).as("samples of 3 s at 100 ms").isBetween(25, 40);
  }

  @Test
  void updateConfigIsAcceptedAndTheMeterFollowsTheNewCadenceAndInterval() {
    SimulatorVerticle simulator = deploy(simulator("dc-meter-103:dc"));
    awaitOnline("dc-meter-103");
    String cmdId = command("dc-meter-103", "update_config", new JsonObject().put("sampling_cadence_ms", 500).put("send_interval_s", 2));

    JsonObject result = awaitResult("dc-meter-103", cmdId);
    assertThat(result.getString("status")).isEqualTo("accepted");
    assertThat(result.getString("ack_detail")).contains("sampling_cadence_ms=500", "send_interval_s=2", "hello_interval_s=2");
    assertThat(simulator.meter("dc-meter-103").orElseThrow().config())
        .isEqualTo(new MeterConfig(500, 2, 2, List.of(new BrokerAddress("127.0.0.1", platform.mqttPort()))));

    long ackSeq = ackOf("dc-meter-103", cmdId).getLong("seq");
    List<JsonObject> after = Eventually.value(WAIT, () -> payloads("dc-meter-103", Category.TELEMETRY).stream()
        .filter(t -> t.getLong("seq") > ackSeq).toList(), list -> list.size() >= 2);
    assertThat(after).hasSizeGreaterThanOrEqualTo(2);
    assertThat(Duration.between(ts(after.get(0)), ts(after.get(1))).toMillis()).as("datagrams 2 s apart")
        .isBetween(1700L, 2500L);
    List<Instant> samples = after.get(1).getJsonArray("measurements").stream().map(m -> (JsonObject) m)
        .filter(m -> m.getString("type").equals("voltage_dc")).map(SimulatedMetersTest::ts).toList();
    assertThat(samples).hasSizeBetween(3, 5);
    for (int i = 1; i < samples.size(); i++) {
      assertThat(Duration.between(samples.get(i - 1), samples.get(i)).toMillis()).as("samples 500 ms apart").isBetween(400L, 650L);
    }
  }

  @Test
  void requestStatusIsAnsweredWithAHelloEvenWhileHellosAreSuppressed() {
    deploy(simulator("dc-meter-104:dc"));
    awaitOnline("dc-meter-104");
    Eventually.within(WAIT, () -> assertThat(payloads("dc-meter-104", Category.TELEMETRY)).isNotEmpty());
    String cmdId = command("dc-meter-104", "request_status", null);

    assertThat(awaitResult("dc-meter-104", cmdId).getString("status")).isEqualTo("accepted");
    long ackSeq = ackOf("dc-meter-104", cmdId).getLong("seq");
    Eventually.within(WAIT, () -> assertThat(payloads("dc-meter-104", Category.HELLO))
        .anySatisfy(hello -> {
          assertThat(hello.getLong("seq")).isEqualTo(ackSeq + 1);
          assertThat(hello.getLong("uptime_s")).isGreaterThanOrEqualTo(0);
          assertThat(hello.getInteger("broker_connections")).isEqualTo(1);
        }));
  }

  @Test
  void startOtaWithTheRightChecksumReportsEveryStepAndRebootsIntoTheNewFirmware() {
    SimulatorVerticle simulator = deploy(simulator("dc-meter-105:dc"));
    awaitOnline("dc-meter-105");
    String cmdId = command("dc-meter-105", "start_ota", ota("2.0.0", FirmwareImage.sha256Hex("2.0.0").toUpperCase()));

    assertThat(awaitResult("dc-meter-105", cmdId).getString("status")).isEqualTo("accepted");
    Eventually.within(WAIT, () -> assertThat(payloads("dc-meter-105", Category.HELLO))
        .anySatisfy(hello -> assertThat(hello.getString("fw_version")).isEqualTo("2.0.0")));

    List<JsonObject> progress = payloads("dc-meter-105", Category.OTA_STATUS);
    assertThat(progress).extracting(p -> p.getString("ota_state")).containsExactly(
        "downloading", "downloading", "downloading", "downloading", "downloading", "verifying", "applying", "success");
    assertThat(progress).extracting(p -> p.getInteger("progress_pct")).containsExactly(0, 25, 50, 75, 100, 100, 100, 100);
    assertThat(progress).allSatisfy(p -> {
      assertThat(p.getString("cmd_id")).isEqualTo(cmdId);
      assertThat(p.getString("fw_version_target")).isEqualTo("2.0.0");
    });
    long downloadFrom = progress.get(0).getLong("seq");
    long downloadTo = progress.get(4).getLong("seq");
    assertThat(payloads("dc-meter-105", Category.TELEMETRY)).as("it keeps measuring during the download")
        .anySatisfy(t -> assertThat(t.getLong("seq")).isBetween(downloadFrom, downloadTo));

    JsonObject newHello = payloads("dc-meter-105", Category.HELLO).stream()
        .filter(h -> h.getString("fw_version").equals("2.0.0")).findFirst().orElseThrow();
    assertThat(newHello.getLong("seq")).as("a reboot counts from zero").isZero();
    assertThat(newHello.getLong("uptime_s")).isZero();
    Eventually.within(WAIT, () -> assertThat(platform.get("/api/devices/dc-meter-105").json().getString("fw_version"))
        .isEqualTo("2.0.0"));
    assertThat(simulator.meter("dc-meter-105").orElseThrow().fwVersion()).isEqualTo("2.0.0");
  }

  @Test
  void startOtaWithAWrongChecksumFailsAndTheMeterStaysOnItsFirmware() {
    deploy(simulator("dc-meter-106:dc"));
    awaitOnline("dc-meter-106");
    String cmdId = command("dc-meter-106", "start_ota", ota("2.0.0", FirmwareImage.sha256Hex("2.0.0-tampered")));

    assertThat(awaitResult("dc-meter-106", cmdId).getString("status")).isEqualTo("accepted");
    Eventually.within(WAIT, () -> assertThat(payloads("dc-meter-106", Category.OTA_STATUS))
        .extracting(p -> p.getString("ota_state")).contains("failed"));
    List<JsonObject> progress = payloads("dc-meter-106", Category.OTA_STATUS);
    assertThat(progress).extracting(p -> p.getString("ota_state")).containsExactly(
        "downloading", "downloading", "downloading", "downloading", "downloading", "verifying", "failed");
    assertThat(progress.get(6).getString("detail")).contains("SHA-256 mismatch", FirmwareImage.sha256Hex("2.0.0"), "1.0.0");

    String statusId = command("dc-meter-106", "request_status", null);
    assertThat(awaitResult("dc-meter-106", statusId).getString("status")).isEqualTo("accepted");
    Eventually.within(WAIT, () -> assertThat(payloads("dc-meter-106", Category.HELLO)).hasSize(2));
    assertThat(payloads("dc-meter-106", Category.HELLO)).extracting(h -> h.getString("fw_version")).containsOnly("1.0.0");
    List<AcceptedMessage> messages = sequenced("dc-meter-106");
    assertThat(messages).extracting(AcceptedMessage::seq).as("no reboot")
        .containsExactlyElementsOf(LongStream.range(0, messages.size()).boxed().toList());
    assertThat(platform.get("/api/devices/dc-meter-106").json().getString("fw_version")).isEqualTo("1.0.0");
  }

  @Test
  void aRebootedMeterComesBackCountingFromZeroAndThePlatformKeepsItsMessages() {
    deploy(simulator("dc-meter-107:dc"));
    awaitOnline("dc-meter-107");
    Eventually.within(WAIT, () -> assertThat(payloads("dc-meter-107", Category.TELEMETRY)).hasSizeGreaterThanOrEqualTo(2));
    String cmdId = command("dc-meter-107", "reboot", null);

    assertThat(awaitResult("dc-meter-107", cmdId).getString("status")).isEqualTo("accepted");
    Eventually.within(WAIT, () -> assertThat(afterReboot("dc-meter-107")).hasSizeGreaterThanOrEqualTo(3));

    List<AcceptedMessage> after = afterReboot("dc-meter-107");
    List<AcceptedMessage> before = sequenced("dc-meter-107").stream().filter(m -> !after.contains(m)).toList();
    assertThat(before).extracting(AcceptedMessage::seq).containsExactlyElementsOf(LongStream.range(0, before.size()).boxed().toList());
    assertThat(after).extracting(AcceptedMessage::seq).as("accepted, not dropped as copies")
        .containsExactlyElementsOf(LongStream.range(0, after.size()).boxed().toList());
    assertThat(after).extracting(AcceptedMessage::epoch).containsOnly(before.get(0).epoch() + 1);
    assertThat(after.get(0).category()).isEqualTo(Category.HELLO);
    assertThat(new JsonObject(after.get(0).payload()).getLong("uptime_s")).isZero();
    assertThat(before).as("the ack went out before the reboot").anySatisfy(m -> {
      assertThat(m.category()).isEqualTo(Category.COMMAND_ACK);
      assertThat(new JsonObject(m.payload()).getString("cmd_id")).isEqualTo(cmdId);
    });
    assertThat(payloads("dc-meter-107", Category.STATUS)).extracting(s -> s.getString("status"))
        .as("its own offline before the reboot, and no will").containsExactly("online", "offline", "online");
    Eventually.within(WAIT, () -> assertThat(platform.get("/api/devices/dc-meter-107").json().getString("connection_status"))
        .isEqualTo("online"));
  }

  @Test
  void factoryResetRestoresTheProtocolDefaults() {
    SimulatorVerticle simulator = deploy(simulator("dc-meter-108:dc"));
    awaitOnline("dc-meter-108");
    String cmdId = command("dc-meter-108", "factory_reset", null);

    JsonObject result = awaitResult("dc-meter-108", cmdId);
    assertThat(result.getString("status")).isEqualTo("accepted");
    assertThat(result.getString("ack_detail")).contains("sampling_cadence_ms=1000", "send_interval_s=10", "hello_interval_s=30");
    assertThat(simulator.meter("dc-meter-108").orElseThrow().config())
        .isEqualTo(MeterConfig.factoryDefaults(List.of(new BrokerAddress("127.0.0.1", platform.mqttPort()))));

    JsonObject ack = ackOf("dc-meter-108", cmdId);
    JsonObject next = Eventually.value(Duration.ofSeconds(20), () -> payloads("dc-meter-108", Category.TELEMETRY).stream()
        .filter(t -> t.getLong("seq") > ack.getLong("seq")).findFirst(), java.util.Optional::isPresent).orElseThrow();
    assertThat(Duration.between(ts(ack), ts(next)).toMillis()).as("the next datagram 10 s later").isBetween(9500L, 11_500L);
    List<Instant> samples = next.getJsonArray("measurements").stream().map(m -> (JsonObject) m)
        .filter(m -> m.getString("type").equals("current_dc")).map(SimulatedMetersTest::ts).toList();
    List<Instant> sinceReset = samples.stream().filter(t -> t.isAfter(ts(ack))).toList();
    assertThat(sinceReset).hasSizeBetween(9, 11);
    for (int i = 1; i < sinceReset.size(); i++) {
      assertThat(Duration.between(sinceReset.get(i - 1), sinceReset.get(i)).toMillis()).as("sampled every second")
          .isBetween(900L, 1100L);
    }
  }

  @Test
  void commandsOnlyAMqttClientCanSendAreAnsweredUnsupportedOrRejectedOrIgnored() {
    deploy(simulator("dc-meter-110:dc"));
    awaitOnline("dc-meter-110");
    String unknown = UUID.randomUUID().toString();
    String invalid = UUID.randomUUID().toString();
    String valid = UUID.randomUUID().toString();
    try (TestMeter operator = TestMeter.connect(platform.vertx(), platform.mqttPort(), "operator-console", true)) {
      String topic = "iot/dc-meter-110/command";
      operator.send(topic, envelope(unknown, "self_destruct", new JsonObject()), 2);
      operator.send(topic, Buffer.buffer("{not json"), 2);
      operator.send(topic, envelope(invalid, "update_config", new JsonObject().put("send_interval_s", 0)), 2);
      operator.send(topic, envelope(unknown, "self_destruct", new JsonObject()), 2);
      operator.send(topic, envelope(valid, "request_status", new JsonObject()), 2);
    }
    Eventually.within(WAIT, () -> assertThat(payloads("dc-meter-110", Category.COMMAND_ACK))
        .anySatisfy(ack -> assertThat(ack.getString("cmd_id")).isEqualTo(valid)));
    List<JsonObject> acks = payloads("dc-meter-110", Category.COMMAND_ACK);
    assertThat(acks).as("the broken one ignored, the repeated one answered once")
        .extracting(a -> a.getString("cmd_id") + " " + a.getString("result"))
        .containsExactly(unknown + " unsupported", invalid + " rejected", valid + " accepted");
    assertThat(acks.get(0).getString("detail")).contains("self_destruct");
    assertThat(acks.get(1).getString("detail")).contains("send_interval_s");
    assertThat(acks).allSatisfy(a -> assertThat(a.getString("msg_type")).isEqualTo("command_ack"));
  }

  @Test
  void aMeterThatLosesItsNetworkIsMarkedOfflineByItsWill() {
    try (TcpProxy network = TcpProxy.start(platform.vertx(), platform.mqttPort())) {
      deploy(simulator("dc-meter-109:dc").put("brokers", new JsonArray().add(network.address())));
      awaitOnline("dc-meter-109");
      Instant connectedBy = Instant.now();
      network.cut();
      Eventually.within(WAIT, () -> assertThat(platform.get("/api/devices/dc-meter-109/status").json()
          .getString("connection_status")).isEqualTo("offline"));
      JsonObject will = payloads("dc-meter-109", Category.STATUS).get(1);
      assertThat(will.getString("status")).isEqualTo("offline");
      assertThat(ts(will)).as("registered when connecting").isBefore(connectedBy);
    }
  }

  @Test
  void stoppingTheSimulatorTakesItsMetersOfflineWithoutTheirWills() {
    deploy(simulator("dc-meter-111:dc", "ac-meter-111:ac"));
    String id = deployments.remove(deployments.size() - 1);
    awaitOnline("dc-meter-111");
    awaitOnline("ac-meter-111");
    platform.vertx().undeploy(id).await();
    for (String meter : List.of("dc-meter-111", "ac-meter-111")) {
      Eventually.within(WAIT, () -> assertThat(platform.get("/api/devices/" + meter + "/status").json()
          .getString("connection_status")).isEqualTo("offline"));
      List<JsonObject> statuses = payloads(meter, Category.STATUS);
      assertThat(statuses).extracting(s -> s.getString("status")).containsExactly("online", "offline");
      assertThat(ts(statuses.get(1))).as("its own status, sent when leaving (a will is dated when connecting)")
          .isAfter(ts(statuses.get(0)));
    }
  }

  // --- helpers ---

  private SimulatorVerticle deploy(JsonObject simulator) {
    SimulatorVerticle verticle = new SimulatorVerticle();
    JsonObject config = platform.config().copy().put("simulator", simulator);
    deployments.add(platform.vertx().deployVerticle(verticle, new DeploymentOptions().setConfig(config)).await());
    return verticle;
  }

  /** Short intervals: sampling 100 ms, a datagram every second, hellos every 2 s (so suppressed). */
  private static JsonObject simulator(String... meters) {
    JsonArray list = new JsonArray();
    for (String meter : meters) {
      String[] idType = meter.split(":");
      list.add(new JsonObject().put("device_id", idType[0]).put("type", idType[1]));
    }
    return new JsonObject().put("brokers", new JsonArray()).put("meters", list).put("count", 0)
        .put("sampling_cadence_ms", 100).put("send_interval_s", 1).put("hello_interval_s", 2)
        .put("fw_version", "1.0.0").put("reboot_delay_ms", 300).put("ota_step_ms", 400)
        .put("min_backoff_ms", 100).put("max_backoff_ms", 1000);
  }

  private static JsonObject ota(String version, String sha256) {
    return new JsonObject().put("fw_version", version).put("fw_url", "https://updates.example.com/fw/" + version + ".bin")
        .put("fw_sha256", sha256).put("fw_size_bytes", 1_048_576);
  }

  private static JsonObject envelope(String cmdId, String cmd, JsonObject params) {
    return new JsonObject().put("v", 2).put("cmd_id", cmdId).put("ts", Instant.now().toString()).put("cmd", cmd).put("params", params);
  }

  private static List<JsonObject> payloads(String deviceId, Category category) {
    return accepted.of(deviceId).stream().filter(m -> m.category() == category).map(m -> new JsonObject(m.payload())).toList();
  }

  /** Every message with a seq (all but status), in the order the intake accepted them. */
  private static List<AcceptedMessage> sequenced(String deviceId) {
    return accepted.of(deviceId).stream().filter(m -> m.category() != Category.STATUS).toList();
  }

  private static List<AcceptedMessage> afterReboot(String deviceId) {
    List<AcceptedMessage> all = sequenced(deviceId);
    Integer first = all.isEmpty() ? null : all.get(0).epoch();
    return all.stream().filter(m -> !m.epoch().equals(first)).toList();
  }

  private static JsonObject ackOf(String deviceId, String cmdId) {
    return Eventually.value(WAIT, () -> payloads(deviceId, Category.COMMAND_ACK).stream()
        .filter(a -> a.getString("cmd_id").equals(cmdId)).findFirst(), java.util.Optional::isPresent).orElseThrow();
  }

  private static Instant ts(JsonObject json) {
    return Instant.parse(json.getString("ts"));
  }

  private static void awaitOnline(String deviceId) {
    Eventually.within(WAIT, () -> {
      Reply reply = platform.get("/api/devices/" + deviceId + "/status");
      assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
      assertThat(reply.json().getString("connection_status")).isEqualTo("online");
    });
  }

  private static String command(String deviceId, String cmd, JsonObject params) {
    JsonObject body = new JsonObject().put("cmd", cmd);
    if (params != null) {
      body.put("params", params);
    }
    Reply reply = platform.post("/api/devices/" + deviceId + "/commands", body);
    assertThat(reply.status()).as(reply.toString()).isEqualTo(201);
    return reply.json().getString("cmd_id");
  }

  /** The stored command once the meter's acknowledgement reached the registry. */
  private static JsonObject awaitResult(String deviceId, String cmdId) {
    return Eventually.value(WAIT, () -> platform.get("/api/devices/" + deviceId + "/commands").array().stream()
        .map(c -> (JsonObject) c).filter(c -> c.getString("cmd_id").equals(cmdId)).findFirst().orElseThrow(),
        c -> !c.getString("status").equals("pending"));
  }

  private static void assertDatagrams(String deviceId, List<String> types) {
    List<JsonObject> datagrams = payloads(deviceId, Category.TELEMETRY);
    for (JsonObject datagram : datagrams) {
      assertThat(datagram.fieldNames()).containsExactlyInAnyOrder("v", "device_id", "ts", "seq", "msg_type", "measurements");
      assertThat(datagram.getString("device_id")).isEqualTo(deviceId);
      assertThat(datagram.getString("msg_type")).isEqualTo("telemetry");
      List<JsonObject> entries = datagram.getJsonArray("measurements").stream().map(m -> (JsonObject) m).toList();
      Map<String, List<JsonObject>> byType = entries.stream().collect(Collectors.groupingBy(m -> m.getString("type")));
      assertThat(byType.keySet()).containsExactlyInAnyOrderElementsOf(types);
      int ticks = byType.get(types.get(0)).size();
      assertThat(byType.values()).as("every quantity at every tick").allSatisfy(list -> assertThat(list).hasSize(ticks));
      for (JsonObject entry : entries) {
        Object[] range = RANGES.get(entry.getString("type"));
        assertThat(entry.getString("unit")).as(entry.encode()).isEqualTo(range[0]);
        assertThat(entry.containsKey("unit")).isEqualTo(range[0] != null);
        assertThat(entry.getDouble("val")).as(entry.encode()).isBetween((Double) range[1], (Double) range[2]);
        assertThat(ts(entry)).isBeforeOrEqualTo(ts(datagram));
      }
    }
    // After the first (which starts at power-on), each datagram holds about a second of 100 ms samples.
    assertThat(datagrams.subList(1, datagrams.size())).allSatisfy(d ->
        assertThat(d.getJsonArray("measurements").size() / types.size()).isBetween(7, 13));
    for (String type : types) {
      Object[] range = RANGES.get(type);
      double span = (Double) range[2] - (Double) range[1];
      List<Double> values = datagrams.stream().flatMap(d -> d.getJsonArray("measurements").stream())
          .map(m -> (JsonObject) m).filter(m -> m.getString("type").equals(type)).map(m -> m.getDouble("val")).toList();
      assertThat(IntStream.range(1, values.size()).mapToDouble(i -> Math.abs(values.get(i) - values.get(i - 1))).max().orElse(0))
          .as("%s wanders smoothly", type).isLessThan(0.3 * span);
      assertThat(values.stream().distinct().count()).as("%s varies", type).isGreaterThan(2);
    }
  }
}
