package io.iotmeter.mqtt;

import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.TestMeter;
import io.vertx.core.json.JsonObject;
import io.vertx.mqtt.messages.MqttPublishMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A command is delivered only when the device acknowledged it over MQTT: one queued in memory
 * for an offline meter survives a platform restart, and goes out when the meter is back.
 */
@Timeout(120)
class CommandAcrossRestartTest {

  private static final Duration WAIT = Duration.ofSeconds(20);

  private static JsonObject command(RunningPlatform platform, String cmdId) {
    return platform.get("/api/commands/" + cmdId).json();
  }

  @Test
  void aCommandQueuedForAnOfflineMeterSurvivesARestartAndIsDeliveredOnce() {
    RunningPlatform platform = RunningPlatform.start(RunningPlatform.ingestConfig());
    JsonObject config = platform.config();
    String cmdId;
    try {
      TestMeter.connect(platform.vertx(), platform.mqttPort(), "dc-meter-002", false).subscribeAndClose("iot/dc-meter-002/command", 2);
      Reply reply = platform.post("/api/devices/dc-meter-002/commands", new JsonObject().put("cmd", "reboot"));
      assertThat(reply.status()).as("queued in the meter's session").isEqualTo(201);
      cmdId = reply.json().getString("cmd_id");
      assertThat(command(platform, cmdId).getString("delivered_at")).as("queued is not delivered").isNull();
    } finally {
      platform.close();
    }

    RunningPlatform restarted = RunningPlatform.start(config);
    try (TestMeter meter = TestMeter.connect(restarted.vertx(), restarted.mqttPort(), "dc-meter-002", false)) {
      // The session was in the old process: the meter finds none, subscribes again and says it is online.
      meter.subscribe("iot/dc-meter-002/command", 2);
      meter.send("iot/dc-meter-002/status", Datagrams.status("dc-meter-002", "online", Instant.now()), 1);
      MqttPublishMessage delivered = meter.receive(WAIT);
      assertThat(delivered.payload().toJsonObject().getString("cmd_id")).isEqualTo(cmdId);
      Eventually.within(WAIT, () -> assertThat(command(restarted, cmdId).getString("delivered_at")).isNotNull());

      // Delivered: more traffic and another online status bring no second copy.
      meter.send("iot/dc-meter-002/status", Datagrams.status("dc-meter-002", "online", Instant.now().plusSeconds(1)), 1);
      meter.send("iot/dc-meter-002/telemetry", Datagrams.telemetry("dc-meter-002", 1), 1);
      assertThat(meter.receiveNone(Duration.ofSeconds(3))).as("a second copy").isTrue();
    } finally {
      restarted.close();
    }
  }
}
