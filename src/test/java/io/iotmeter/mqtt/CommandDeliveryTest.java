package io.iotmeter.mqtt;

import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.TestMeter;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.json.JsonObject;
import io.vertx.mqtt.messages.MqttPublishMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** Commands from the API to a meter on the device endpoint, and the meter's acknowledgement back. */
@Timeout(60)
class CommandDeliveryTest {

  private static final Duration WAIT = Duration.ofSeconds(10);

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClassWith(RunningPlatform::ingestConfig);

  @Test
  void aCommandReachesTheSubscribedMeterAtQos2AndItsAckUpdatesTheRecord() {
    try (TestMeter meter = TestMeter.connect(platform.vertx(), platform.mqttPort(), "dc-meter-001", false)) {
      meter.subscribe("iot/dc-meter-001/command", 2);
      Reply reply = platform.post("/api/devices/dc-meter-001/commands", new JsonObject().put("cmd", "update_config")
          .put("params", new JsonObject().put("send_interval_s", 5)));
      assertThat(reply.status()).as(reply.toString()).isEqualTo(201);
      String cmdId = reply.json().getString("cmd_id");

      MqttPublishMessage delivered = meter.receive(WAIT);
      assertThat(delivered.topicName()).isEqualTo("iot/dc-meter-001/command");
      assertThat(delivered.qosLevel()).isEqualTo(MqttQoS.EXACTLY_ONCE);
      JsonObject envelope = delivered.payload().toJsonObject();
      assertThat(envelope.fieldNames()).containsExactlyInAnyOrder("v", "cmd_id", "ts", "cmd", "params");
      assertThat(envelope.getString("cmd_id")).isEqualTo(cmdId);
      assertThat(envelope.getString("cmd")).isEqualTo("update_config");
      assertThat(envelope.getJsonObject("params")).isEqualTo(new JsonObject().put("send_interval_s", 5));

      meter.send("iot/dc-meter-001/command/ack", Datagrams.ack("dc-meter-001", 1, cmdId, "accepted", "applied"), 2);
      Eventually.within(WAIT, () -> {
        JsonObject command = platform.get("/api/devices/dc-meter-001/commands").array().stream()
            .map(o -> (JsonObject) o).filter(c -> c.getString("cmd_id").equals(cmdId)).findFirst().orElseThrow();
        assertThat(command.getString("status")).isEqualTo("accepted");
        assertThat(command.getString("ack_detail")).isEqualTo("applied");
        assertThat(command.getString("acked_at")).isNotNull();
      });
    }
  }

  @Test
  void aCommandForAnOfflineMeterWaitsInItsPersistentSession() {
    TestMeter.connect(platform.vertx(), platform.mqttPort(), "dc-meter-002", false).subscribeAndClose("iot/dc-meter-002/command", 2);
    Reply reply = platform.post("/api/devices/dc-meter-002/commands", new JsonObject().put("cmd", "reboot"));
    assertThat(reply.status()).as("queued in the session counts as handed to MQTT").isEqualTo(201);
    try (TestMeter meter = TestMeter.connect(platform.vertx(), platform.mqttPort(), "dc-meter-002", false)) {
      JsonObject envelope = meter.receive(WAIT).payload().toJsonObject();
      assertThat(envelope.getString("cmd")).isEqualTo("reboot");
      assertThat(envelope.getString("cmd_id")).isEqualTo(reply.json().getString("cmd_id"));
    }
  }

  @Test
  void aMeterWithoutSessionGets202AndThePendingCommandIsKept() {
    Reply reply = platform.post("/api/devices/ac-meter-001/commands", new JsonObject().put("cmd", "request_status"));
    assertThat(reply.status()).isEqualTo(202);
    assertThat(reply.json().getString("mqtt_error")).contains("ac-meter-001").contains("no MQTT session");
    assertThat(platform.get("/api/devices/ac-meter-001/commands?status=pending").array()).hasSize(1);
  }
}
