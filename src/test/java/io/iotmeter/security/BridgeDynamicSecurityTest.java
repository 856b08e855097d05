package io.iotmeter.security;

import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.SettledStores;
import io.iotmeter.support.TestMeter;
import io.iotmeter.support.TestMosquitto;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.mqtt.MqttClientOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bridge mode against a real Mosquitto with the dynamic-security plugin, started from the
 * {@code docker/mosquitto/dynamic-security.json} the compose deployment ships: device
 * credentials issued by the API are provisioned into the broker with an ACL of the device's own
 * topics, rotation replaces them (the old session is kicked), revocation removes them.
 */
@Timeout(120)
class BridgeDynamicSecurityTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static TestMosquitto broker;
  private static RunningPlatform platform;
  private static final Vertx devices = Vertx.vertx();

  @BeforeAll
  static void start() {
    broker = TestMosquitto.startWithDynamicSecurity(Path.of("docker/mosquitto/dynamic-security.json"));
    JsonObject config = RunningPlatform.securedConfig();
    config.getJsonObject("deploy").put("mqtt_server", 0).put("mqtt_bridge", 1);
    config.getJsonObject("mqtt_bridge").put("brokers", new JsonArray().add(broker.address())).put("client_id", "dynsec-test")
        .put("username", "iot-platform").put("password", "iot-platform-password").put("dynamic_security", true)
        .put("min_backoff_ms", 100).put("max_backoff_ms", 500);
    platform = RunningPlatform.start(config);
    Eventually.within(WAIT, () -> assertThat(platform.as(RunningPlatform.ADMIN_KEY).get("/readyz").status()).isEqualTo(200));
  }

  @AfterAll
  static void stop() {
    platform.close();
    broker.close();
    devices.close().await();
  }

  private static MqttClientOptions login(String deviceId, String password) {
    MqttClientOptions options = new MqttClientOptions().setClientId(deviceId).setCleanSession(true);
    return password == null ? options : options.setUsername(deviceId).setPassword(password);
  }

  private static MqttConnectReturnCode connect(MqttClientOptions options) {
    return TestMeter.connackOf(devices, broker.port(), options);
  }


  private static String issue(String deviceId) {
    Reply issued = platform.as(RunningPlatform.ADMIN_KEY).post("/api/devices/" + deviceId + "/credentials", null);
    assertThat(issued.status()).as(issued.toString()).isEqualTo(201);
    assertThat(issued.json().getJsonObject("brokers").getString(broker.address())).isEqualTo("ok");
    return issued.json().getString("password");
  }

  private static long voltagePoints(String deviceId) {
    return platform.as(RunningPlatform.ADMIN_KEY).get("/api/devices/" + deviceId
        + "/metrics?start=2026-02-12T09:00:00Z&stop=2026-02-12T12:00:00Z&metric=voltage_dc").array().size();
  }

  @Test
  void issuedCredentialsWorkOnTheBrokerForTheDevicesOwnTopicsOnly() {
    assertThat(connect(login("dc-meter-001", null))).as("anonymous").isNotEqualTo(MqttConnectReturnCode.CONNECTION_ACCEPTED);
    String password = issue("dc-meter-001");
    issue("dc-meter-002");
    // The role pins the client id: no device can take another's session on the broker.
    assertThat(connect(login("dc-meter-001", password).setClientId("dc-meter-002")))
        .as("another device's client id").isNotEqualTo(MqttConnectReturnCode.CONNECTION_ACCEPTED);
    try (TestMeter meter = TestMeter.connect(devices, broker.port(), login("dc-meter-001", password))) {
      meter.subscribe("iot/dc-meter-001/command", 1);
      meter.send("iot/dc-meter-001/telemetry", Datagrams.telemetry("dc-meter-001", 0), 1);
      // Another device's topic: the broker's ACL drops it.
      meter.send("iot/dc-meter-002/telemetry", Datagrams.telemetry("dc-meter-002", 0), 1);
      Eventually.within(WAIT, () -> assertThat(voltagePoints("dc-meter-001")).isEqualTo(1));
      // Commands still reach it through the broker.
      Reply command = platform.as(RunningPlatform.ADMIN_KEY).post("/api/devices/dc-meter-001/commands",
          new JsonObject().put("cmd", "request_status"));
      assertThat(command.status()).isEqualTo(201);
      assertThat(meter.receive(WAIT).payload().toJsonObject().getString("cmd_id")).isEqualTo(command.json().getString("cmd_id"));
    }
    // Counted once the stores settled: a message the broker let through would be stored by then.
    SettledStores.of(platform.config()).await();
    assertThat(voltagePoints("dc-meter-001")).isEqualTo(1);
    assertThat(voltagePoints("dc-meter-002")).as("nothing arrived under another device's name").isZero();
  }

  @Test
  void rotationKicksTheOldSessionAndRevocationRemovesTheDevice() {
    String first = issue("ac-meter-001");
    try (TestMeter meter = TestMeter.connect(devices, broker.port(), login("ac-meter-001", first))) {
      String second = issue("ac-meter-001");
      Eventually.within(WAIT, () -> assertThat(meter.isConnected()).as("kicked by the rotation").isFalse());
      assertThat(connect(login("ac-meter-001", first))).isNotEqualTo(MqttConnectReturnCode.CONNECTION_ACCEPTED);
      assertThat(connect(login("ac-meter-001", second))).isEqualTo(MqttConnectReturnCode.CONNECTION_ACCEPTED);
      Reply revoked = platform.as(RunningPlatform.ADMIN_KEY).delete("/api/devices/ac-meter-001/credentials");
      assertThat(revoked.status()).isEqualTo(200);
      assertThat(connect(login("ac-meter-001", second))).isNotEqualTo(MqttConnectReturnCode.CONNECTION_ACCEPTED);
    }
  }

  @Test
  void deletingTheDeviceRemovesItFromTheBroker() {
    assertThat(platform.as(RunningPlatform.ADMIN_KEY).post("/api/devices", new JsonObject().put("device_id", "dc-meter-009")
        .put("device_name", "to be deleted")).status()).isEqualTo(201);
    String password = issue("dc-meter-009");
    try (TestMeter meter = TestMeter.connect(devices, broker.port(), login("dc-meter-009", password))) {
      Reply deleted = platform.as(RunningPlatform.ADMIN_KEY).delete("/api/devices/dc-meter-009");
      assertThat(deleted.status()).as(deleted.toString()).isEqualTo(200);
      assertThat(deleted.json().getJsonObject("brokers").getString(broker.address())).isEqualTo("ok");
      Eventually.within(WAIT, () -> assertThat(meter.isConnected()).as("its broker client deleted").isFalse());
    }
    assertThat(connect(login("dc-meter-009", password))).isNotEqualTo(MqttConnectReturnCode.CONNECTION_ACCEPTED);
  }
}
