package io.iotmeter.api;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/** Commands: validation, storage, hand-off to MQTT over the bus, listing, acknowledgement. */
@Timeout(60)
class CommandsApiTest {

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClass();

  @Test
  void withoutAnMqttVerticleTheCommandIsStoredPendingAnd202() {
    Reply reply = platform.post("/api/devices/dc-meter-001/commands", new JsonObject().put("cmd", "request_status"));
    assertThat(reply.status()).isEqualTo(202);
    JsonObject body = reply.json();
    assertThat(body.getString("device_id")).isEqualTo("dc-meter-001");
    assertThat(body.getString("cmd")).isEqualTo("request_status");
    assertThat(body.getString("status")).isEqualTo("pending");
    assertThat(body.getString("message")).isNotBlank();
    assertThat(body.getString("mqtt_error")).contains("No MQTT");
    UUID.fromString(body.getString("cmd_id"));

    JsonArray stored = platform.get("/api/devices/dc-meter-001/commands").array();
    JsonObject command = stored.stream().map(o -> (JsonObject) o)
        .filter(c -> c.getString("cmd_id").equals(body.getString("cmd_id"))).findFirst().orElseThrow();
    assertThat(command.fieldNames()).containsExactlyInAnyOrder("id", "cmd_id", "device_id", "cmd", "params", "status",
        "ack_detail", "created_at", "acked_at", "delivered_at", "issued_by");
    assertThat(command.getString("issued_by")).as("security off").isEqualTo("anonymous");
    assertThat(command.getString("status")).isEqualTo("pending");
    assertThat(command.getJsonObject("params")).isEqualTo(new JsonObject());
  }

  @Test
  void withAStubMqttConsumerOnTheBusTheCommandIsPublishedAnd201() {
    List<JsonObject> received = new CopyOnWriteArrayList<>();
    MessageConsumer<JsonObject> stubMqtt = platform.vertx().eventBus().consumer(BusAddress.COMMAND_SEND.address(), message -> {
      received.add(message.body());
      message.reply(new JsonObject().put("delivered", true));
    });
    stubMqtt.completion().await();
    try {
      JsonObject params = new JsonObject().put("send_interval_s", 5).put("hello_interval_s", 60);
      Reply reply = platform.post("/api/devices/dc-meter-002/commands", new JsonObject().put("cmd", "update_config").put("params", params));
      assertThat(reply.status()).isEqualTo(201);
      assertThat(reply.json().getString("status")).isEqualTo("pending");
      assertThat(reply.json().containsKey("mqtt_error")).isFalse();

      assertThat(received).hasSize(1);
      JsonObject envelope = received.get(0);
      assertThat(envelope.getInteger("v")).isEqualTo(2);
      assertThat(envelope.getString("device_id")).isEqualTo("dc-meter-002");
      assertThat(envelope.getString("cmd_id")).isEqualTo(reply.json().getString("cmd_id"));
      assertThat(envelope.getString("cmd")).isEqualTo("update_config");
      assertThat(envelope.getJsonObject("params")).isEqualTo(params);
      assertThat(envelope.getString("ts")).isNotBlank();
    } finally {
      stubMqtt.unregister().await();
    }
  }

  @Test
  void cmdIsRequiredAndMustBeKnown() {
    Reply missing = platform.post("/api/devices/dc-meter-001/commands", new JsonObject().put("params", new JsonObject()));
    assertThat(missing.status()).isEqualTo(400);
    assertThat(missing.error()).contains("cmd");
    Reply unknown = platform.post("/api/devices/dc-meter-001/commands", new JsonObject().put("cmd", "set_interval"));
    assertThat(unknown.status()).isEqualTo(400);
    assertThat(unknown.error()).startsWith("Invalid command: set_interval");
    Reply wrongType = platform.post("/api/devices/dc-meter-001/commands", new JsonObject().put("cmd", 7));
    assertThat(wrongType.status()).isEqualTo(400);
    assertThat(wrongType.error()).contains("cmd");
    Reply badParams = platform.post("/api/devices/dc-meter-001/commands", new JsonObject().put("cmd", "reboot").put("params", "now"));
    assertThat(badParams.status()).isEqualTo(400);
    assertThat(badParams.error()).contains("params");
    assertThat(platform.post("/api/devices/unknown-dev/commands", new JsonObject().put("cmd", "reboot")).status()).isEqualTo(404);
  }

  @Test
  void parametersAreValidatedPerCommand() {
    Reply outOfRange = platform.post("/api/devices/dc-meter-001/commands", new JsonObject().put("cmd", "update_config")
        .put("params", new JsonObject().put("send_interval_s", 0)));
    assertThat(outOfRange.status()).isEqualTo(400);
    assertThat(outOfRange.error()).contains("send_interval_s").contains("1 to 3600");
    Reply ota = platform.post("/api/devices/dc-meter-001/commands", new JsonObject().put("cmd", "start_ota")
        .put("params", new JsonObject().put("fw_version", "2.0.0")));
    assertThat(ota.status()).isEqualTo(400);
    assertThat(ota.error()).contains("fw_");
    long before = platform.get("/api/devices/dc-meter-001/commands").array().size();
    platform.post("/api/devices/dc-meter-001/commands", new JsonObject().put("cmd", "reboot").put("params", new JsonObject().put("delay", 1)));
    assertThat(platform.get("/api/devices/dc-meter-001/commands").array().size()).as("refused commands are not stored").isEqualTo(before);
  }

  @Test
  void ackSetsResultDetailAndTime() {
    String cmdId = platform.post("/api/devices/ac-meter-001/commands", new JsonObject().put("cmd", "factory_reset")).json().getString("cmd_id");
    Reply acked = platform.put("/api/commands/" + cmdId + "/ack", new JsonObject().put("result", "rejected").put("detail", "busy"));
    assertThat(acked.status()).isEqualTo(200);
    assertThat(acked.json().getString("status")).isEqualTo("rejected");
    assertThat(acked.json().getString("ack_detail")).isEqualTo("busy");
    assertThat(acked.json().getString("acked_at")).isNotNull();

    String second = platform.post("/api/devices/ac-meter-001/commands", new JsonObject().put("cmd", "reboot")).json().getString("cmd_id");
    Reply synonym = platform.put("/api/commands/" + second + "/ack", new JsonObject().put("status", "accepted"));
    assertThat(synonym.status()).isEqualTo(200);
    assertThat(synonym.json().getString("status")).isEqualTo("accepted");

    JsonArray accepted = platform.get("/api/devices/ac-meter-001/commands?status=accepted").array();
    assertThat(accepted.stream().map(o -> ((JsonObject) o).getString("cmd_id")).toList()).containsExactly(second);
    JsonArray all = platform.get("/api/devices/ac-meter-001/commands").array();
    assertThat(all.stream().map(o -> ((JsonObject) o).getString("cmd_id")).toList()).containsSubsequence(second, cmdId);
  }

  @Test
  void ackErrors() {
    String cmdId = platform.post("/api/devices/dc-meter-002/commands", new JsonObject().put("cmd", "reboot")).json().getString("cmd_id");
    Reply bad = platform.put("/api/commands/" + cmdId + "/ack", new JsonObject().put("result", "done"));
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.error()).contains("result");
    Reply pending = platform.put("/api/commands/" + cmdId + "/ack", new JsonObject().put("result", "pending"));
    assertThat(pending.status()).as("pending is not a result").isEqualTo(400);
    Reply missing = platform.put("/api/commands/" + cmdId + "/ack", new JsonObject().put("detail", "x"));
    assertThat(missing.status()).isEqualTo(400);
    assertThat(missing.error()).contains("result");
    assertThat(platform.put("/api/commands/" + UUID.randomUUID() + "/ack", new JsonObject().put("result", "accepted")).status()).isEqualTo(404);
    assertThat(platform.put("/api/commands/not-a-uuid/ack", new JsonObject().put("result", "accepted")).status()).isEqualTo(404);
    Reply badFilter = platform.get("/api/devices/dc-meter-002/commands?status=sent");
    assertThat(badFilter.status()).isEqualTo(400);
    assertThat(badFilter.error()).contains("status");
    assertThat(platform.get("/api/devices/unknown-dev/commands").status()).isEqualTo(404);
  }
}
