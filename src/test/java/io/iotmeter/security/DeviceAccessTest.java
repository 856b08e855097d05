package io.iotmeter.security;

import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.SettledStores;
import io.iotmeter.support.TestMeter;
import io.iotmeter.support.TestPostgres;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.mqtt.MqttClient;
import io.vertx.mqtt.MqttClientOptions;
import io.vertx.mqtt.messages.MqttSubAckMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The device endpoint with security on: devices connect with the credentials the API issued,
 * each reaches only its own topics, cannot take another's client id, and a rotation or a
 * revocation ends its sessions at once.
 */
@Timeout(120)
class DeviceAccessTest {

  private static final Duration WAIT = Duration.ofSeconds(20);

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClassWith(RunningPlatform::securedConfig);
  private static final Vertx devices = Vertx.vertx();

  @AfterAll
  static void close() {
    devices.close().await();
  }

  private static RunningPlatform.As admin() {
    return platform.as(RunningPlatform.ADMIN_KEY);
  }

  private static String issue(String deviceId) {
    return platform.issueDeviceCredentials(deviceId);
  }


  private static MqttClientOptions login(String clientId, String username, String password) {
    MqttClientOptions options = new MqttClientOptions().setClientId(clientId).setCleanSession(true);
    if (username != null) {
      options.setUsername(username).setPassword(password);
    }
    return options;
  }

  private static MqttConnectReturnCode refusal(MqttClientOptions options) {
    return TestMeter.connackOf(devices, platform.mqttPort(), options);
  }


  private static long voltagePoints(String deviceId) {
    return platform.as(RunningPlatform.ADMIN_KEY).get("/api/devices/" + deviceId
        + "/metrics?start=2026-02-12T09:00:00Z&stop=2026-02-12T12:00:00Z&metric=voltage_dc").array().size();
  }

  @Test
  void withoutOrWithWrongCredentialsTheConnectIsRefused() {
    String password = issue("dc-meter-002");
    assertThat(refusal(login("dc-meter-002", null, null))).isEqualTo(MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED);
    assertThat(refusal(login("dc-meter-002", "dc-meter-002", "wrong")))
        .isEqualTo(MqttConnectReturnCode.CONNECTION_REFUSED_BAD_USER_NAME_OR_PASSWORD);
    assertThat(refusal(login("dc-meter-002", "ac-meter-001", password))).as("another device's name")
        .isEqualTo(MqttConnectReturnCode.CONNECTION_REFUSED_BAD_USER_NAME_OR_PASSWORD);
    assertThat(refusal(login("dc-meter-002", "dc-meter-002", password))).isEqualTo(MqttConnectReturnCode.CONNECTION_ACCEPTED);
    assertThat(refusal(login("ghost-001", "ghost-001", password))).as("an unregistered device")
        .isEqualTo(MqttConnectReturnCode.CONNECTION_REFUSED_BAD_USER_NAME_OR_PASSWORD);
    assertThat(admin().post("/api/devices/ghost-001/credentials", null).status()).isEqualTo(404);
    assertThat(TestPostgresCount.keysStoredInClear(platform, password)).isZero();
  }

  @Test
  void aDeviceReachesOnlyItsOwnTopics() {
    String password = issue("dc-meter-001");
    issue("ac-meter-001");
    try (TestMeter meter = TestMeter.connect(devices, platform.mqttPort(), login("dc-meter-001", "dc-meter-001", password))) {
      meter.send("iot/dc-meter-001/telemetry", Datagrams.telemetry("dc-meter-001", 0), 1);
      // As another meter: acknowledged (MQTT 3.1.1 has no refusal for a PUBLISH) but dropped and counted.
      meter.send("iot/ac-meter-001/telemetry", Datagrams.telemetry("ac-meter-001", 0), 1);
      // Its own topic, but a payload that names another device.
      meter.send("iot/dc-meter-001/telemetry", Datagrams.telemetry("ac-meter-001", 1), 1);
      // Counted once the stores settled: a message let through would be stored by then.
      SettledStores.of(platform.config()).await();
      assertThat(voltagePoints("dc-meter-001")).isEqualTo(1);
      assertThat(voltagePoints("ac-meter-001")).isZero();
      String metrics = platform.get("/metrics").body();
      assertThat(counter(metrics, "mqtt_acl_denied")).isGreaterThanOrEqualTo(1.0);
      assertThat(counter(metrics, "device_id_mismatch")).isGreaterThanOrEqualTo(1.0);
    }
    MqttClient client = MqttClient.create(devices, login("dc-meter-001", "dc-meter-001", password));
    CompletableFuture<MqttSubAckMessage> suback = new CompletableFuture<>();
    client.subscribeCompletionHandler(suback::complete);
    client.connect(platform.mqttPort(), "127.0.0.1").await();
    try {
      client.subscribe(java.util.Map.of("iot/dc-meter-001/command", 1, "iot/ac-meter-001/command", 1, "iot/+/telemetry", 0)).await();
      List<Integer> granted = suback.get(10, TimeUnit.SECONDS).grantedQoSLevels();
      // Map order is not fixed: count what was granted and refused.
      assertThat(granted).containsExactlyInAnyOrder(1, 0x80, 0x80);
    } catch (Exception e) {
      throw new AssertionError(e);
    } finally {
      client.disconnect();
    }
  }

  private static double counter(String metrics, String errorType) {
    String prefix = "mqtt_collector_messages_errors_total{error_type=\"" + errorType + "\"} ";
    return metrics.lines().filter(l -> l.startsWith(prefix)).mapToDouble(l -> Double.parseDouble(l.substring(prefix.length())))
        .findFirst().orElse(0);
  }

  @Test
  void aDeviceThatKeepsPublishingOutsideItsTopicsIsDisconnected() {
    String password = issue("dc-meter-005");
    try (TestMeter meter = TestMeter.connect(devices, platform.mqttPort(), login("dc-meter-005", "dc-meter-005", password))) {
      for (int i = 0; i < 50 && meter.isConnected(); i++) { // the endpoint allows 10
        try {
          meter.send("iot/dc-meter-001/hello", Datagrams.hello("dc-meter-001", i, Datagrams.T0, "1.0.0", 1), 0);
        } catch (Throwable closedMeanwhile) { // the endpoint closed the connection during the publish
          break;
        }
      }
      Eventually.within(WAIT, () -> assertThat(meter.isConnected()).as("disconnected after repeated attempts").isFalse());
    }
  }

  @Test
  void aWillOutsideItsOwnStatusTopicIsRefused() {
    String password = issue("dc-meter-003");
    MqttClientOptions options = login("dc-meter-003", "dc-meter-003", password).setWillFlag(true)
        .setWillTopic("iot/dc-meter-001/status").setWillQoS(1).setWillMessageBytes(io.vertx.core.buffer.Buffer.buffer("{}"));
    assertThat(refusal(options)).isEqualTo(MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED);
  }

  @Test
  void anotherDeviceCannotTakeOverAClientId() {
    String mine = issue("ac-meter-002");
    String theirs = issue("ac-meter-003");
    try (TestMeter owner = TestMeter.connect(devices, platform.mqttPort(), login("ac-meter-002", "ac-meter-002", mine)
        .setCleanSession(false))) {
      assertThat(refusal(login("ac-meter-002", "ac-meter-003", theirs))).as("another device's client id")
          .isEqualTo(MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED);
      assertThat(refusal(login("anything", "ac-meter-003", theirs))).as("a client id of nobody's")
          .isEqualTo(MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED);
      assertThat(owner.isConnected()).isTrue();
    }
  }

  @Test
  void aDeviceUsesItsOwnClientIdsUpToItsShareOfSessions() {
    String password = issue("ac-meter-004");
    java.util.List<TestMeter> open = new java.util.ArrayList<>();
    try {
      open.add(TestMeter.connect(devices, platform.mqttPort(), login("ac-meter-004", "ac-meter-004", password)));
      for (String suffix : List.of("a", "b", "c")) {
        open.add(TestMeter.connect(devices, platform.mqttPort(), login("ac-meter-004-" + suffix, "ac-meter-004", password)));
      }
      assertThat(refusal(login("ac-meter-004-d", "ac-meter-004", password))).as("beyond mqtt.max_sessions_per_device (4)")
          .isEqualTo(MqttConnectReturnCode.CONNECTION_REFUSED_SERVER_UNAVAILABLE);
      assertThat(open).allMatch(TestMeter::isConnected);
    } finally {
      open.forEach(TestMeter::close);
    }
    Eventually.within(WAIT, () -> assertThat(refusal(login("ac-meter-004-d", "ac-meter-004", password)))
        .as("places given back as its clean sessions end").isEqualTo(MqttConnectReturnCode.CONNECTION_ACCEPTED));
  }

  @Test
  void clientIdsAndUserNamesAreLoggedEscaped() {
    ch.qos.logback.classic.Logger log = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
        .getLogger("io.iotmeter.mqtt.DeviceConnection");
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logged = new ch.qos.logback.core.read.ListAppender<>();
    logged.start();
    log.addAppender(logged);
    try {
      refusal(login("forged\n2026-12-05 INFO admin logged in", "forged\r\u001b[2Jx", Secrets.newSecret()));
      Eventually.within(WAIT, () -> assertThat(logged.list).anyMatch(e -> e.getFormattedMessage().contains("forged")));
      for (var event : logged.list) {
        assertThat(event.getFormattedMessage()).doesNotContain("\n").doesNotContain("\r").doesNotContain("\u001b");
      }
      assertThat(logged.list).anyMatch(e -> e.getFormattedMessage().contains("forged\\n2026-12-05 INFO admin logged in"));
      assertThat(logged.list).anyMatch(e -> e.getFormattedMessage().contains("forged\\r\\u001b[2Jx"));
    } finally {
      log.detachAppender(logged);
    }
  }

  @Test
  void rotationAndRevocationEndSessionsAtOnce() {
    String first = issue("dc-meter-004");
    try (TestMeter meter = TestMeter.connect(devices, platform.mqttPort(), login("dc-meter-004", "dc-meter-004", first))) {
      String second = issue("dc-meter-004");
      Eventually.within(WAIT, () -> assertThat(meter.isConnected()).as("disconnected by the rotation").isFalse());
      assertThat(refusal(login("dc-meter-004", "dc-meter-004", first)))
          .isEqualTo(MqttConnectReturnCode.CONNECTION_REFUSED_BAD_USER_NAME_OR_PASSWORD);
      try (TestMeter again = TestMeter.connect(devices, platform.mqttPort(), login("dc-meter-004", "dc-meter-004", second))) {
        assertThat(admin().delete("/api/devices/dc-meter-004/credentials").status()).isEqualTo(200);
        Eventually.within(WAIT, () -> assertThat(again.isConnected()).as("disconnected by the revocation").isFalse());
      }
      assertThat(refusal(login("dc-meter-004", "dc-meter-004", second)))
          .isEqualTo(MqttConnectReturnCode.CONNECTION_REFUSED_BAD_USER_NAME_OR_PASSWORD);
      assertThat(admin().delete("/api/devices/dc-meter-004/credentials").status()).isEqualTo(404);
    }
    assertThat(TestPostgres.count(platform.postgres(), "SELECT count(*) FROM device_credentials WHERE device_id = 'dc-meter-004'"))
        .isZero();
  }

  @Test
  void deletingADeviceEndsItsSessionsAndItsCachedSecretAtOnce() {
    String password = issue("dc-meter-006");
    MqttClientOptions options = login("dc-meter-006", "dc-meter-006", password);
    // Connected once before: the node has its secret cached (security.cache_s).
    assertThat(refusal(options)).isEqualTo(MqttConnectReturnCode.CONNECTION_ACCEPTED);
    try (TestMeter meter = TestMeter.connect(devices, platform.mqttPort(), options)) {
      Reply deleted = admin().delete("/api/devices/dc-meter-006");
      assertThat(deleted.status()).as(deleted.toString()).isEqualTo(200);
      assertThat(deleted.json().getBoolean("revoked")).isTrue();
      Eventually.within(WAIT, () -> assertThat(meter.isConnected()).as("disconnected by the deletion").isFalse());
    }
    assertThat(refusal(options)).as("its cached secret no longer works")
        .isEqualTo(MqttConnectReturnCode.CONNECTION_REFUSED_BAD_USER_NAME_OR_PASSWORD);
  }

  @Test
  void anUnknownDeviceIsNotRegisteredWithSecurityOn() {
    assertThat(refusal(login("new-meter-9", "new-meter-9", "x")))
        .isEqualTo(MqttConnectReturnCode.CONNECTION_REFUSED_BAD_USER_NAME_OR_PASSWORD);
    assertThat(admin().get("/api/devices/new-meter-9").status()).isEqualTo(404);
  }
}
