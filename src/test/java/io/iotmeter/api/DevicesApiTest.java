package io.iotmeter.api;

import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Instant;
import java.util.List;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** Devices CRUD, filters, heartbeat and connection status against a real PostgreSQL. */
@Timeout(60)
class DevicesApiTest {

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClass();

  private static JsonObject newDevice(String id) {
    return new JsonObject()
        .put("device_id", id)
        .put("device_name", "DC Traction Meter — Train 9000")
        .put("device_type", "power_meter_dc")
        .put("location", "Train 9000 / Car 1 / Main DC Bus")
        .put("status", "active")
        .put("metadata", new JsonObject().put("voltage_system", "DC 750V").put("accuracy_class", "0.5R"));
  }

  @Test
  void freshInstallationHasTheThreeReferenceDevices() {
    Reply reply = platform.get("/api/devices");
    assertThat(reply.status()).isEqualTo(200);
    assertThat(reply.contentType()).startsWith("application/json");
    List<String> ids = reply.array().stream().map(o -> ((JsonObject) o).getString("device_id")).collect(Collectors.toList());
    assertThat(ids).contains("dc-meter-001", "dc-meter-002", "ac-meter-001");

    JsonObject ac = platform.get("/api/devices/ac-meter-001").json();
    assertThat(ac.getString("device_type")).isEqualTo("power_meter_ac");
    assertThat(ac.getJsonObject("metadata").getString("voltage_system")).isEqualTo("AC 25kV 50Hz");
    assertThat(ac.getString("location")).contains("Train 8010");
    JsonObject dc = platform.get("/api/devices/dc-meter-002").json();
    assertThat(dc.getJsonObject("metadata").getString("voltage_system")).isEqualTo("DC 750V");
    assertThat(dc.getString("location")).contains("Train 4521").contains("Car 3");
  }

  @Test
  void createdDeviceHasEveryContractField() {
    Reply created = platform.post("/api/devices", newDevice("dc-meter-100"));
    assertThat(created.status()).isEqualTo(201);
    JsonObject device = created.json();
    assertThat(device.fieldNames()).containsExactlyInAnyOrder("id", "device_id", "device_name", "device_type",
        "location", "status", "connection_status", "last_seen", "fw_version", "created_at", "updated_at", "metadata");
    assertThat(device.getInteger("id")).isPositive();
    assertThat(device.getString("device_id")).isEqualTo("dc-meter-100");
    assertThat(device.getString("device_name")).isEqualTo("DC Traction Meter — Train 9000");
    assertThat(device.getString("status")).isEqualTo("active");
    assertThat(device.getString("connection_status")).isEqualTo("unknown");
    assertThat(device.getValue("last_seen")).isNull();
    assertThat(Instant.parse(device.getString("created_at"))).isBefore(Instant.now().plusSeconds(5));
    assertThat(device.getJsonObject("metadata")).isEqualTo(new JsonObject().put("voltage_system", "DC 750V").put("accuracy_class", "0.5R"));

    assertThat(platform.get("/api/devices/dc-meter-100").json()).isEqualTo(device);
  }

  @Test
  void minimalDeviceGetsDefaults() {
    Reply created = platform.post("/api/devices", new JsonObject().put("device_id", "minimal-1").put("device_name", "Minimal"));
    assertThat(created.status()).isEqualTo(201);
    assertThat(created.json().getString("status")).isEqualTo("active");
    assertThat(created.json().getJsonObject("metadata")).isEqualTo(new JsonObject());
    assertThat(created.json().getValue("device_type")).isNull();
  }

  @Test
  void missingRequiredFieldsAreNamed() {
    Reply noId = platform.post("/api/devices", new JsonObject().put("device_name", "x"));
    assertThat(noId.status()).isEqualTo(400);
    assertThat(noId.error()).contains("device_id");
    Reply noName = platform.post("/api/devices", new JsonObject().put("device_id", "x-1"));
    assertThat(noName.status()).isEqualTo(400);
    assertThat(noName.error()).contains("device_name");
  }

  @Test
  void duplicateIdIsAConflict() {
    assertThat(platform.post("/api/devices", newDevice("dup-1")).status()).isEqualTo(201);
    Reply again = platform.post("/api/devices", newDevice("dup-1"));
    assertThat(again.status()).isEqualTo(409);
    assertThat(again.error()).contains("dup-1").contains("already exists");
  }

  @Test
  void listIsNewestFirstAndFilters() {
    platform.post("/api/devices", newDevice("order-a").put("device_type", "filter_type_x"));
    platform.post("/api/devices", newDevice("order-b").put("device_type", "filter_type_x").put("status", "inactive"));
    JsonArray byType = platform.get("/api/devices?type=filter_type_x").array();
    assertThat(byType.stream().map(o -> ((JsonObject) o).getString("device_id")).toList()).containsExactly("order-b", "order-a");

    JsonArray inactive = platform.get("/api/devices?status=inactive&type=filter_type_x").array();
    assertThat(inactive.stream().map(o -> ((JsonObject) o).getString("device_id")).toList()).containsExactly("order-b");
    assertThat(platform.get("/api/devices?status=active").array().stream()
        .allMatch(o -> ((JsonObject) o).getString("status").equals("active"))).isTrue();
    assertThat(platform.get("/api/devices?type=no-such-type").array()).isEmpty();
  }

  @Test
  void listPagesWithLimitAndOffsetAndGivesAllWithout() {
    for (String id : java.util.List.of("page-a", "page-b", "page-c")) {
      platform.post("/api/devices", newDevice(id).put("device_type", "page_type"));
    }
    java.util.function.Function<String, java.util.List<String>> ids = query -> platform.get("/api/devices?type=page_type" + query)
        .array().stream().map(o -> ((JsonObject) o).getString("device_id")).toList();
    assertThat(ids.apply("")).containsExactly("page-c", "page-b", "page-a");
    assertThat(ids.apply("&limit=2")).containsExactly("page-c", "page-b");
    assertThat(ids.apply("&limit=2&offset=2")).containsExactly("page-a");
    assertThat(ids.apply("&offset=1")).containsExactly("page-b", "page-a");
    for (String bad : java.util.List.of("limit=0", "limit=10001", "limit=x", "offset=-1", "limit=1&limit=2")) {
      Reply reply = platform.get("/api/devices?" + bad);
      assertThat(reply.status()).as(bad).isEqualTo(400);
      assertThat(reply.error()).as(bad).containsAnyOf("limit", "offset");
    }
  }

  @Test
  void unknownStatusFilterIsRefused() {
    Reply reply = platform.get("/api/devices?status=broken");
    assertThat(reply.status()).isEqualTo(400);
    assertThat(reply.error()).contains("status").contains("active").contains("inactive");
  }

  @Test
  void updateChangesOnlyGivenFields() throws InterruptedException {
    JsonObject created = platform.post("/api/devices", newDevice("upd-1")).json();
    Thread.sleep(5); // updated_at must move past created_at
    Reply updated = platform.put("/api/devices/upd-1", new JsonObject()
        .put("device_name", "Updated DC Meter").put("location", "Train 9000 / Car 2")
        .put("metadata", new JsonObject().put("send_interval_s", 5)));
    assertThat(updated.status()).isEqualTo(200);
    JsonObject device = updated.json();
    assertThat(device.getString("device_name")).isEqualTo("Updated DC Meter");
    assertThat(device.getString("location")).isEqualTo("Train 9000 / Car 2");
    assertThat(device.getString("device_type")).isEqualTo("power_meter_dc");
    assertThat(device.getJsonObject("metadata")).isEqualTo(new JsonObject().put("send_interval_s", 5));
    assertThat(Instant.parse(device.getString("updated_at"))).isAfter(Instant.parse(created.getString("updated_at")));

    assertThat(platform.put("/api/devices/upd-1", new JsonObject().put("status", "inactive")).json().getString("status"))
        .isEqualTo("inactive");
  }

  @Test
  void updateErrors() {
    platform.post("/api/devices", newDevice("upd-2"));
    Reply nothing = platform.put("/api/devices/upd-2", new JsonObject().put("colour", "red"));
    assertThat(nothing.status()).isEqualTo(400);
    assertThat(nothing.error()).contains("No updatable field");
    Reply badStatus = platform.put("/api/devices/upd-2", new JsonObject().put("status", "exploded"));
    assertThat(badStatus.status()).isEqualTo(400);
    assertThat(badStatus.error()).contains("status");
    Reply badName = platform.put("/api/devices/upd-2", new JsonObject().put("device_name", 42));
    assertThat(badName.status()).isEqualTo(400);
    assertThat(badName.error()).contains("device_name");
    Reply badMetadata = platform.put("/api/devices/upd-2", new JsonObject().put("metadata", "not an object"));
    assertThat(badMetadata.status()).isEqualTo(400);
    assertThat(badMetadata.error()).contains("metadata");
    assertThat(platform.put("/api/devices/nope-404", new JsonObject().put("device_name", "x")).status()).isEqualTo(404);
  }

  @Test
  void deleteRemovesTheDeviceAndEverythingItOwns() {
    platform.post("/api/devices", newDevice("del-1"));
    platform.post("/api/devices/del-1/alerts", new JsonObject().put("message", "m"));
    platform.post("/api/devices/del-1/commands", new JsonObject().put("cmd", "reboot"));
    TestPostgres.execute(platform.postgres(), "INSERT INTO device_configs (device_id, config_key, config_value) VALUES ('del-1', 'send_interval_s', '5')");
    TestPostgres.execute(platform.postgres(), "INSERT INTO device_seq_tracking (device_id, last_seq) VALUES ('del-1', 7)");

    Reply deleted = platform.delete("/api/devices/del-1");
    assertThat(deleted.status()).isEqualTo(200);
    assertThat(deleted.json()).isEqualTo(new JsonObject().put("message", "Device deleted successfully"));
    assertThat(platform.get("/api/devices/del-1").status()).isEqualTo(404);
    assertThat(platform.delete("/api/devices/del-1").status()).isEqualTo(404);
    for (String table : List.of("device_alerts", "device_commands", "device_configs", "device_seq_tracking")) {
      assertThat(TestPostgres.count(platform.postgres(), "SELECT count(*) FROM " + table + " WHERE device_id = 'del-1'"))
          .as(table).isZero();
    }
  }

  @Test
  void heartbeatSetsLastSeen() {
    platform.post("/api/devices", newDevice("hb-1"));
    Instant before = Instant.now().minusSeconds(1);
    Reply reply = platform.post("/api/devices/hb-1/heartbeat", null);
    assertThat(reply.status()).isEqualTo(200);
    assertThat(reply.json()).isEqualTo(new JsonObject().put("message", "Heartbeat received"));
    assertThat(Instant.parse(platform.get("/api/devices/hb-1").json().getString("last_seen"))).isAfter(before);
    assertThat(platform.post("/api/devices/hb-unknown/heartbeat", null).status()).isEqualTo(404);
  }

  @Test
  void connectionStatusReadAndWrite() {
    platform.post("/api/devices", newDevice("st-1"));
    JsonObject status = platform.get("/api/devices/st-1/status").json();
    assertThat(status).isEqualTo(new JsonObject().put("device_id", "st-1").put("connection_status", "unknown")
        .putNull("last_seen").putNull("fw_version"));

    Reply put = platform.put("/api/devices/st-1/status", new JsonObject().put("connection_status", "online").put("fw_version", "2.1.0"));
    assertThat(put.status()).isEqualTo(200);
    assertThat(put.json().getString("connection_status")).isEqualTo("online");
    assertThat(put.json().getString("fw_version")).isEqualTo("2.1.0");
    assertThat(put.json().getString("device_name")).isNotNull();
    assertThat(platform.get("/api/devices/st-1/status").json().getString("connection_status")).isEqualTo("online");

    Reply bad = platform.put("/api/devices/st-1/status", new JsonObject().put("connection_status", "sleeping"));
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.error()).contains("connection_status");
    Reply missing = platform.put("/api/devices/st-1/status", new JsonObject().put("fw_version", "1.0.0"));
    assertThat(missing.status()).isEqualTo(400);
    assertThat(missing.error()).contains("connection_status");
    assertThat(platform.get("/api/devices/st-unknown/status").status()).isEqualTo(404);
    assertThat(platform.put("/api/devices/st-unknown/status", new JsonObject().put("connection_status", "online")).status()).isEqualTo(404);
  }
}
