package io.iotmeter.lifecycle;

import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.RawMqttClient;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.SettledStores;
import io.iotmeter.support.TestMeter;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Liveness, command completion (configs, time-outs, redelivery, OTA progress) and derived values. */
@Timeout(120)
class DeviceLifecycleTest {

  private static final Duration WAIT = Duration.ofSeconds(15);

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClassWith(() -> {
    JsonObject config = RunningPlatform.ingestConfig();
    config.getJsonObject("commands").put("ack_timeout_s", 2);
    return config;
  });

  /** The first value that is {@code ready} and then stays the same past the settle interval (an absence check counts after it). */
  private static <T> T settled(java.util.function.Supplier<T> probe, java.util.function.Predicate<? super T> ready) {
    return Eventually.settled(WAIT, SettledStores.interval(platform.config()), probe, ready);
  }

  private static void register(String deviceId, JsonObject metadata) {
    assertThat(platform.post("/api/devices", new JsonObject().put("device_id", deviceId).put("device_name", deviceId)
        .put("metadata", metadata)).status()).isEqualTo(201);
  }

  private static long alerts(String deviceId, String type) {
    return platform.get("/api/devices/" + deviceId + "/alerts").array().stream()
        .filter(a -> type.equals(((JsonObject) a).getString("alert_type"))).count();
  }

  private static String status(String deviceId) {
    return platform.get("/api/devices/" + deviceId + "/status").json().getString("connection_status");
  }

  @Test
  void aSilentMeterGoesOfflineOnceAndComesBack() {
    register("live-1", new JsonObject().put("send_interval_s", 1).put("hello_interval_s", 1)); // timeout 2 s
    try (TestMeter meter = TestMeter.connect(platform.vertx(), platform.mqttPort(), "live-1", false)) {
      meter.send("iot/live-1/telemetry", Datagrams.telemetry("live-1", 0), 1);
      Eventually.within(WAIT, () -> assertThat(status("live-1")).isEqualTo("online"));
      Eventually.within(WAIT, () -> assertThat(status("live-1")).isEqualTo("offline"));
      assertThat(alerts("live-1", "device_offline")).isEqualTo(1);
      sleep(1000);
      assertThat(alerts("live-1", "device_offline")).as("one alert per outage, not per check").isEqualTo(1);

      meter.send("iot/live-1/telemetry", Datagrams.telemetry("live-1", 1), 1);
      Eventually.within(WAIT, () -> assertThat(status("live-1")).isEqualTo("online"));
      Eventually.within(WAIT, () -> assertThat(status("live-1")).isEqualTo("offline"));
      // One more alert for the second outage, counted once liveness checked (every 200 ms) long enough to raise a third.
      assertThat(settled(() -> alerts("live-1", "device_offline"), n -> n >= 2)).isEqualTo(2);
    }
  }

  @Test
  void theWillMarksTheMeterOfflineAtOnceWithOneAlert() {
    register("will-1", new JsonObject().put("send_interval_s", 600).put("hello_interval_s", 600));
    try (RawMqttClient raw = RawMqttClient.connect(platform.vertx(), platform.mqttPort(), "will-1", false, 60,
        "iot/will-1/status", Datagrams.status("will-1", "offline", Instant.now()).encode())) {
      raw.publish("iot/will-1/status", Datagrams.status("will-1", "online", Instant.now()).encode(), 1, 1, false);
      raw.await(RawMqttClient.PUBACK, WAIT);
      Eventually.within(WAIT, () -> assertThat(status("will-1")).isEqualTo("online"));
    }
    Eventually.within(WAIT, () -> assertThat(status("will-1")).isEqualTo("offline"));
    assertThat(settled(() -> alerts("will-1", "device_offline"), n -> n >= 1)).as("one alert").isEqualTo(1);
  }

  @Test
  void anAcceptedUpdateConfigBecomesTheDevicesConfiguration() {
    register("cfg-1", new JsonObject().put("voltage_system", "DC 750V").put("send_interval_s", 10));
    try (TestMeter meter = TestMeter.connect(platform.vertx(), platform.mqttPort(), "cfg-1", false)) {
      meter.subscribe("iot/cfg-1/command", 2);
      String cmdId = platform.post("/api/devices/cfg-1/commands", new JsonObject().put("cmd", "update_config")
          .put("params", new JsonObject().put("send_interval_s", 5).put("hello_interval_s", 60))).json().getString("cmd_id");
      assertThat(meter.receive(WAIT).payload().toJsonObject().getString("cmd_id")).isEqualTo(cmdId);
      meter.send("iot/cfg-1/command/ack", Datagrams.ack("cfg-1", 0, cmdId, "accepted", "applied"), 2);
    }
    Eventually.within(WAIT, () -> {
      JsonObject metadata = platform.get("/api/devices/cfg-1").json().getJsonObject("metadata");
      assertThat(metadata.getInteger("send_interval_s")).isEqualTo(5);
      assertThat(metadata.getInteger("hello_interval_s")).isEqualTo(60);
      assertThat(metadata.getString("voltage_system")).as("other metadata kept").isEqualTo("DC 750V");
    });
    assertThat(TestPostgres.count(platform.postgres(),
        "SELECT count(*) FROM device_configs WHERE device_id = 'cfg-1' AND config_key = 'send_interval_s' AND config_value = '5'"))
        .isEqualTo(1);
  }

  @Test
  void aCommandWithoutAckTimesOut() {
    register("slow-1", new JsonObject());
    String cmdId = platform.post("/api/devices/slow-1/commands", new JsonObject().put("cmd", "reboot")).json().getString("cmd_id");
    Eventually.within(WAIT, () -> {
      JsonObject command = platform.get("/api/commands/" + cmdId).json();
      assertThat(command.getString("status")).isEqualTo("timeout");
      assertThat(command.getString("ack_detail")).contains("no acknowledgement");
    });
  }

  @Test
  void aCommandAnswered202IsDeliveredWhenItsMeterComesOnline() {
    register("late-1", new JsonObject());
    Reply reply = platform.post("/api/devices/late-1/commands", new JsonObject().put("cmd", "request_status"));
    assertThat(reply.status()).isEqualTo(202);
    try (TestMeter meter = TestMeter.connect(platform.vertx(), platform.mqttPort(), "late-1", false)) {
      meter.subscribe("iot/late-1/command", 2);
      meter.sendRetained("iot/late-1/status", Datagrams.status("late-1", "online", Instant.now()), 1);
      JsonObject envelope = meter.receive(WAIT).payload().toJsonObject();
      assertThat(envelope.getString("cmd_id")).isEqualTo(reply.json().getString("cmd_id"));
      assertThat(envelope.getString("cmd")).isEqualTo("request_status");
    }
  }

  @Test
  void otaProgressIsVisiblePerCommand() throws Exception {
    register("ota-1", new JsonObject());
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest("image".getBytes()));
    String cmdId = platform.post("/api/devices/ota-1/commands", new JsonObject().put("cmd", "start_ota").put("params",
        new JsonObject().put("fw_version", "2.0.0").put("fw_url", "https://fw.example/2.0.0.bin").put("fw_sha256", sha)
            .put("fw_size_bytes", 5))).json().getString("cmd_id");
    try (TestMeter meter = TestMeter.connect(platform.vertx(), platform.mqttPort(), "ota-1", false)) {
      long seq = 0;
      meter.send("iot/ota-1/command/ack", Datagrams.ack("ota-1", seq++, cmdId, "accepted", "starting"), 2);
      for (String[] step : new String[][] {{"downloading", "0"}, {"downloading", "100"}, {"verifying", "100"},
          {"applying", "100"}, {"success", "100"}}) {
        meter.send("iot/ota-1/ota/status", Datagrams.envelope("ota-1", seq, "ota_status", Datagrams.T0.plusSeconds(seq++))
            .put("cmd_id", cmdId).put("ota_state", step[0]).put("progress_pct", Integer.parseInt(step[1]))
            .put("fw_version_target", "2.0.0"), 1);
      }
    }
    // One row per report: counted once the stores settled, so a report recorded twice would show.
    SettledStores.of(platform.config()).await();
    Eventually.within(WAIT, () -> {
      JsonObject command = platform.get("/api/commands/" + cmdId).json();
      assertThat(command.getString("status")).isEqualTo("accepted");
      JsonArray progress = command.getJsonArray("ota_progress");
      assertThat(progress.stream().map(p -> ((JsonObject) p).getString("ota_state")).toList())
          .containsExactly("downloading", "downloading", "verifying", "applying", "success");
      assertThat(progress.getJsonObject(1).getDouble("progress_pct")).isEqualTo(100.0);
    });
    assertThat(platform.get("/api/commands/" + java.util.UUID.randomUUID()).status()).isEqualTo(404);
  }

  @Test
  void derivedPowerAndEnergyFollowTheMeasurements() {
    register("pwr-1", new JsonObject().put("sampling_cadence_ms", 1000));
    Instant t0 = Instant.parse("2026-03-01T08:00:00Z");
    try (TestMeter meter = TestMeter.connect(platform.vertx(), platform.mqttPort(), "pwr-1", false)) {
      for (int datagram = 0; datagram < 3; datagram++) {
        if (datagram == 1) {
          continue; // the second datagram is lost: its 10 s must not be integrated
        }
        JsonArray samples = new JsonArray();
        for (int i = 0; i < 10; i++) {
          String ts = t0.plusSeconds(datagram * 10L + i).toString();
          samples.add(new JsonObject().put("ts", ts).put("type", "voltage_dc").put("val", 750.0).put("unit", "V"));
          samples.add(new JsonObject().put("ts", ts).put("type", "current_dc").put("val", 480.0).put("unit", "A"));
        }
        meter.send("iot/pwr-1/telemetry", Datagrams.envelope("pwr-1", datagram, "telemetry", t0.plusSeconds(datagram * 10L + 10))
            .put("measurements", samples), 1);
      }
    }
    String window = "start=2026-03-01T07:59:00Z&stop=2026-03-01T08:01:00Z";
    // Counted once the stores settled: a point of the lost datagram's 10 s, or a copy, would show.
    SettledStores.of(platform.config()).await();
    JsonArray power = platform.get("/api/devices/pwr-1/metrics?" + window + "&metric=power_active").array();
    assertThat(power).hasSize(20);
    assertThat(power.stream().map(p -> ((JsonObject) p).getDouble("value")).distinct().toList()).containsExactly(360_000.0);
    // 360 kW over 9 s in each of the two datagrams (the 11 s jump across the lost one is not
    // integrated): 2 × 360 kW × 9 s / 3600 = 1800 Wh.
    JsonArray energy = platform.get("/api/devices/pwr-1/metrics?" + window + "&metric=energy_active_import").array();
    assertThat(energy).hasSize(20);
    JsonObject last = energy.getJsonObject(19);
    assertThat(last.getString("metric")).isEqualTo("energy_active_import");
    assertThat(last.getDouble("value")).isCloseTo(1800.0, within(1e-6));
    JsonArray exported = platform.get("/api/devices/pwr-1/metrics?" + window + "&metric=energy_active_export").array();
    assertThat(exported.getJsonObject(19).getDouble("value")).isZero();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
