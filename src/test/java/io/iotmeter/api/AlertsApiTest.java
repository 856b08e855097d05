package io.iotmeter.api;

import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;

/** Alerts: list with the acknowledged filter, create with defaults, acknowledge. */
@Timeout(60)
class AlertsApiTest {

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClass();

  @BeforeAll
  static void seed() {
    platform.post("/api/devices", new JsonObject().put("device_id", "alert-dev").put("device_name", "Alert device"));
  }

  @Test
  void createdAlertHasEveryContractField() {
    Reply created = platform.post("/api/devices/alert-dev/alerts", new JsonObject()
        .put("alert_type", "high_temperature").put("severity", "warning").put("message", "Temperature exceeded threshold"));
    assertThat(created.status()).isEqualTo(201);
    JsonObject alert = created.json();
    assertThat(alert.fieldNames()).containsExactlyInAnyOrder("id", "device_id", "alert_type", "severity", "message",
        "acknowledged", "created_at");
    assertThat(alert.getString("device_id")).isEqualTo("alert-dev");
    assertThat(alert.getString("alert_type")).isEqualTo("high_temperature");
    assertThat(alert.getString("severity")).isEqualTo("warning");
    assertThat(alert.getString("message")).isEqualTo("Temperature exceeded threshold");
    assertThat(alert.getBoolean("acknowledged")).isFalse();
  }

  @Test
  void defaultsAreGeneralAndInfo() {
    JsonObject alert = platform.post("/api/devices/alert-dev/alerts", new JsonObject().put("message", "hello")).json();
    assertThat(alert.getString("alert_type")).isEqualTo("general");
    assertThat(alert.getString("severity")).isEqualTo("info");
    JsonObject empty = platform.post("/api/devices/alert-dev/alerts", null).json();
    assertThat(empty.getString("alert_type")).isEqualTo("general");
  }

  @Test
  void acknowledgeAndFilter() {
    platform.post("/api/devices", new JsonObject().put("device_id", "ack-dev").put("device_name", "Ack device"));
    int first = platform.post("/api/devices/ack-dev/alerts", new JsonObject().put("message", "first")).json().getInteger("id");
    int second = platform.post("/api/devices/ack-dev/alerts", new JsonObject().put("message", "second")).json().getInteger("id");

    JsonArray all = platform.get("/api/devices/ack-dev/alerts").array();
    assertThat(all.stream().map(o -> ((JsonObject) o).getInteger("id")).toList()).containsExactly(second, first);

    Reply acked = platform.post("/api/alerts/" + first + "/acknowledge", null);
    assertThat(acked.status()).isEqualTo(200);
    assertThat(acked.json().getBoolean("acknowledged")).isTrue();
    assertThat(acked.json().getInteger("id")).isEqualTo(first);

    assertThat(platform.get("/api/devices/ack-dev/alerts?acknowledged=true").array().stream()
        .map(o -> ((JsonObject) o).getInteger("id")).toList()).containsExactly(first);
    assertThat(platform.get("/api/devices/ack-dev/alerts?acknowledged=false").array().stream()
        .map(o -> ((JsonObject) o).getInteger("id")).toList()).containsExactly(second);
  }

  @Test
  void errors() {
    assertThat(platform.post("/api/devices/no-such-device/alerts", new JsonObject().put("message", "x")).status()).isEqualTo(404);
    assertThat(platform.get("/api/devices/no-such-device/alerts").array()).as("as in the reference: an empty list").isEmpty();
    assertThat(platform.post("/api/alerts/999999/acknowledge", null).status()).isEqualTo(404);
    assertThat(platform.post("/api/alerts/abc/acknowledge", null).status()).isEqualTo(404);
    assertThat(platform.post("/api/alerts/-1/acknowledge", null).status()).isEqualTo(404);
    assertThat(platform.post("/api/alerts/99999999999999999999/acknowledge", null).status()).isEqualTo(404);

    Reply badFilter = platform.get("/api/devices/alert-dev/alerts?acknowledged=maybe");
    assertThat(badFilter.status()).isEqualTo(400);
    assertThat(badFilter.error()).contains("acknowledged");
    Reply badSeverity = platform.post("/api/devices/alert-dev/alerts", new JsonObject().put("severity", "apocalyptic"));
    assertThat(badSeverity.status()).isEqualTo(400);
    assertThat(badSeverity.error()).contains("severity");
    Reply badMessage = platform.post("/api/devices/alert-dev/alerts", new JsonObject().put("message", new JsonObject()));
    assertThat(badMessage.status()).isEqualTo(400);
    assertThat(badMessage.error()).contains("message");
  }

  @Test
  void statsCountUnacknowledgedAlerts() {
    platform.post("/api/devices", new JsonObject().put("device_id", "stats-dev").put("device_name", "Stats").put("status", "inactive"));
    long before = platform.get("/api/stats").json().getLong("unacknowledged_alerts");
    int id = platform.post("/api/devices/stats-dev/alerts", new JsonObject().put("message", "x")).json().getInteger("id");
    JsonObject stats = platform.get("/api/stats").json();
    assertThat(stats.getLong("unacknowledged_alerts")).isEqualTo(before + 1);
    platform.post("/api/alerts/" + id + "/acknowledge", null);
    assertThat(platform.get("/api/stats").json().getLong("unacknowledged_alerts")).isEqualTo(before);

    JsonArray byStatus = stats.getJsonArray("device_by_status");
    long total = byStatus.stream().mapToLong(o -> ((JsonObject) o).getLong("count")).sum();
    assertThat(stats.getLong("total_devices")).isEqualTo(total).isEqualTo(platform.get("/api/devices").array().size());
    assertThat(byStatus.stream().map(o -> ((JsonObject) o).getString("status")).toList()).contains("active", "inactive");
  }
}
