package io.iotmeter.mqtt;

import io.iotmeter.support.Eventually;
import io.iotmeter.support.RawMqtt5Client;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * MQTT 5 clients on the whole platform with security on: the same identity rules and ACLs as
 * for MQTT 3.1.1 clients, now answered with MQTT 5 reason codes; a server-assigned client id is
 * one of the device's own; a v5 meter's messages are stored and its commands reach it.
 */
class Mqtt5SecuredEndpointTest {

  private static final Duration WAIT = Duration.ofSeconds(20);

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClassWith(RunningPlatform::securedConfig);
  private static final Vertx devices = Vertx.vertx();

  @AfterAll
  static void close() {
    devices.close().await();
  }

  private static RawMqtt5Client connect(String clientId, String deviceId, String password) {
    return RawMqtt5Client.connect(devices, platform.mqttPort(), clientId, 30, Buffer.buffer(), deviceId, password);
  }

  private static byte[] json(JsonObject datagram) {
    return datagram.encode().getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aV5MeterIsAuthenticatedItsMessagesAreStoredAndItsCommandsReachIt() {
    String password = platform.issueDeviceCredentials("v5-meter-001");
    try (RawMqtt5Client wrong = connect("v5-meter-001", "v5-meter-001", "not-the-password")) {
      assertThat(wrong.connectReasonCode()).as("bad user name or password").isEqualTo(0x86);
    }
    try (RawMqtt5Client meter = connect("v5-meter-001", "v5-meter-001", password)) {
      assertThat(meter.connectReasonCode()).isZero();
      assertThat(meter.subscribeAndAwait(1, "iot/v5-meter-001/command", 2)).isEqualTo(2);
      Buffer userProperty = Buffer.buffer().appendByte((byte) 0x26)
          .appendShort((short) 4).appendString("site").appendShort((short) 7).appendString("Hamburg");
      JsonObject hello = io.iotmeter.support.Datagrams.hello("v5-meter-001", 0, Instant.now(), "5.0.1", 10);
      meter.publish("iot/v5-meter-001/hello", 1, 1, userProperty, json(hello));
      assertThat(meter.await(RawMqtt5Client.PUBACK, WAIT).reasonCode()).as("stored").isZero();
      Eventually.within(WAIT, () -> assertThat(platform.as(RunningPlatform.ADMIN_KEY).get("/api/devices/v5-meter-001").json()
          .getString("fw_version")).isEqualTo("5.0.1"));

      Reply command = platform.as(RunningPlatform.ADMIN_KEY).post("/api/devices/v5-meter-001/commands",
          new JsonObject().put("cmd", "request_status"));
      assertThat(command.status()).as(command.toString()).isEqualTo(201);
      RawMqtt5Client.Packet delivered = meter.await(RawMqtt5Client.PUBLISH, WAIT);
      assertThat(delivered.topic()).isEqualTo("iot/v5-meter-001/command");
      assertThat(delivered.body().toString(StandardCharsets.UTF_8)).contains(command.json().getString("cmd_id"));
    }
  }

  @Test
  void theAclsAnswerV5ClientsWithReasonCodes() {
    String password = platform.issueDeviceCredentials("v5-meter-002");
    platform.issueDeviceCredentials("v5-meter-003");
    try (RawMqtt5Client meter = connect("v5-meter-002", "v5-meter-002", password)) {
      meter.publish("iot/v5-meter-003/telemetry", 1, 1, Buffer.buffer(),
          json(io.iotmeter.support.Datagrams.telemetry("v5-meter-003", 0)));
      assertThat(meter.await(RawMqtt5Client.PUBACK, WAIT).reasonCode()).as("another device's topic").isEqualTo(0x87);
      assertThat(meter.subscribeAndAwait(2, "iot/v5-meter-003/command", 1)).isEqualTo(0x87);
      assertThat(meter.subscribeAndAwait(3, "$share/g/iot/v5-meter-003/command", 1)).as("shared: judged by its filter").isEqualTo(0x87);
      assertThat(meter.subscribeAndAwait(4, "$share/g/iot/v5-meter-002/command", 1)).as("its own, shared").isEqualTo(1);
    }
    try (RawMqtt5Client foreign = connect("v5-meter-003", "v5-meter-002", password)) {
      assertThat(foreign.connectReasonCode()).as("another device's client id: client identifier not valid").isEqualTo(0x85);
    }
  }

  @Test
  void anAssignedClientIdIsOneOfTheDevicesOwn() {
    String password = platform.issueDeviceCredentials("v5-meter-004");
    try (RawMqtt5Client meter = connect("", "v5-meter-004", password)) {
      assertThat(meter.connectReasonCode()).isZero();
      assertThat(meter.connackString(RawMqtt5Client.ASSIGNED_CLIENT_IDENTIFIER)).startsWith("v5-meter-004-");
      assertThat(meter.subscribeAndAwait(1, "iot/v5-meter-004/command", 1)).isEqualTo(1);
    }
  }
}
