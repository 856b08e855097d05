package io.iotmeter.sink;

import io.iotmeter.archive.ObjectStore;
import io.iotmeter.archive.ObjectStores;
import io.iotmeter.audit.AckLedger;
import io.iotmeter.audit.AuditReport;
import io.iotmeter.audit.DatagramsLayout;
import io.iotmeter.audit.MessageKey;
import io.iotmeter.audit.StoreAudit;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.SettledStores;
import io.iotmeter.support.TestMeter;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What lands in the archive (S3, served by the embedded S3Proxy) and in the time-series store
 * (the embedded QuestDB), read back through the REST API and the stores themselves.
 */
@Timeout(120)
class StoredDataTest {

  private static final Duration WAIT = Duration.ofSeconds(20);

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClassWith(RunningPlatform::ingestConfig);

  private static final DatagramsLayout LAYOUT = new DatagramsLayout();
  private static final DatagramsLayout WITH_HELLO = DatagramsLayout.withHellos(6L);

  private static SettledStores stores() {
    return SettledStores.of(platform.config());
  }

  private static List<String> archivedRecords(String deviceId) {
    JsonObject s3 = platform.config().getJsonObject("s3");
    List<String> records = new ArrayList<>();
    try (ObjectStore store = ObjectStores.open(s3)) {
      store.list(deviceId + "/", 1000).forEach(o ->
          records.addAll(new String(store.get(o.key()), StandardCharsets.UTF_8).lines().toList()));
    }
    return records;
  }

  @Test
  void everyMeasurementBecomesOnePointWithItsExactValue() {
    AckLedger ledger = new AckLedger();
    try (TestMeter meter = TestMeter.connect(platform.vertx(), platform.mqttPort(), "dc-meter-001", false)) {
      for (long seq = 0; seq < 5; seq++) {
        meter.sendTelemetry(ledger, "endpoint", "dc-meter-001", seq, 2);
        meter.sendTelemetry(ledger, "endpoint", "dc-meter-001", seq, 2); // a copy
      }
    }
    // Counted once the stores settled: a copy stored late would show.
    AuditReport report = stores().audit(ledger, LAYOUT, List.of("dc-meter-001"));
    String query = "/api/devices/dc-meter-001/metrics?start=2026-02-12T09:00:00Z&stop=2026-02-12T11:00:00Z";
    // Two measurements per datagram, plus the active power derived from them (V·I).
    JsonArray points = platform.get(query).array();
    assertThat(points).hasSize(15);
    assertThat(report.clean()).as(report.detail()).isTrue();
    assertThat(report.store(StoreAudit.TIME_SERIES).stored()).as(report.detail()).isEqualTo(5);
    assertThat(report.store(StoreAudit.ARCHIVE).stored()).as("each datagram archived once, not its copy: " + report.detail())
        .isEqualTo(5);
    assertThat(report.store(StoreAudit.REGISTRY).expected()).as(report.detail()).isEqualTo(1);
    assertThat(points.stream().filter(o -> ((JsonObject) o).getString("metric").equals("power_active")).count()).isEqualTo(5);
    JsonObject first = points.getJsonObject(0);
    assertThat(first.getString("time")).isEqualTo("2026-02-12T09:59:59Z");
    assertThat(first.getString("device_id")).isEqualTo("dc-meter-001");
    List<String> voltage = platform.get(query + "&metric=voltage_dc").array().stream()
        .map(o -> ((JsonObject) o).getString("time") + "=" + ((JsonObject) o).getDouble("value")).toList();
    assertThat(voltage).containsExactly("2026-02-12T09:59:59Z=750.0", "2026-02-12T10:00:09Z=751.0",
        "2026-02-12T10:00:19Z=752.0", "2026-02-12T10:00:29Z=753.0", "2026-02-12T10:00:39Z=754.0");
    List<String> times = points.stream().map(o -> ((JsonObject) o).getString("time")).toList();
    assertThat(times).isSorted();
  }

  @Test
  void everyMessageIsArchivedOnceAsTheContractsRecord() {
    List<JsonObject> sent = new ArrayList<>();
    AckLedger ledger = new AckLedger();
    try (TestMeter meter = TestMeter.connect(platform.vertx(), platform.mqttPort(), "ac-meter-001", false)) {
      for (long seq = 0; seq < 6; seq++) {
        JsonObject telemetry = Datagrams.telemetry("ac-meter-001", seq);
        sent.add(telemetry);
        meter.sendTelemetry(ledger, "endpoint", "ac-meter-001", seq, 1);
        meter.sendTelemetry(ledger, "endpoint", "ac-meter-001", seq, 1);
      }
      // Its firmware version names its seq, as the audit's layout reads it back from the registry.
      JsonObject hello = Datagrams.hello("ac-meter-001", 6, Datagrams.T0.plusSeconds(60), WITH_HELLO.helloFirmware(6), 70);
      sent.add(hello);
      meter.send(ledger, "endpoint", new MessageKey("ac-meter-001", 6), "iot/ac-meter-001/hello", hello, 2);
    }
    // Counted once the stores settled: a copy archived late would show.
    AuditReport report = stores().audit(ledger, WITH_HELLO, List.of("ac-meter-001"));
    List<String> records = archivedRecords("ac-meter-001");
    assertThat(records).hasSize(7);
    assertThat(report.clean()).as(report.detail()).isTrue();
    assertThat(report.store(StoreAudit.ARCHIVE).stored()).as(report.detail()).isEqualTo(7);
    assertThat(report.store(StoreAudit.TIME_SERIES).stored()).as(report.detail()).isEqualTo(6);
    assertThat(report.store(StoreAudit.REGISTRY).expected()).as("last_seen and the hello's firmware: " + report.detail())
        .isEqualTo(1);
    List<JsonObject> data = new ArrayList<>();
    for (String line : records) {
      JsonObject record = new JsonObject(line);
      assertThat(record.fieldNames()).containsExactlyInAnyOrder("device_id", "timestamp", "category", "data");
      assertThat(record.getString("device_id")).isEqualTo("ac-meter-001");
      data.add(record.getJsonObject("data"));
    }
    assertThat(data).containsExactlyInAnyOrderElementsOf(sent);

    JsonArray listing = platform.get("/api/devices/ac-meter-001/raw-data?prefix=hello/").array();
    assertThat(listing).hasSize(1);
    JsonObject object = listing.getJsonObject(0);
    assertThat(object.getString("filename")).startsWith("ac-meter-001/hello/").endsWith(".json");
    assertThat(object.getLong("size")).isPositive();
    assertThat(object.getString("last_modified")).isNotBlank();
    assertThat(platform.get("/api/devices/ac-meter-001/raw-data?limit=2").array()).hasSize(2);
  }

  @Test
  void aV1PayloadIsMappedToOnePointPerNumericField() {
    JsonObject legacy = new JsonObject().put("timestamp", "2026-02-12T12:00:00Z").put("device_id", "dc-meter-002")
        .put("temperature", 25.7).put("humidity", 40).put("unit", "celsius").put("note", "not a number");
    try (TestMeter meter = TestMeter.connect(platform.vertx(), platform.mqttPort(), "dc-meter-002", false)) {
      meter.send("iot/dc-meter-002/telemetry", legacy, 1);
    }
    String query = "/api/devices/dc-meter-002/metrics?start=2026-02-12T11:00:00Z&stop=2026-02-12T13:00:00Z";
    // Counted once the points stayed the same past the settle interval: a point stored late would show.
    JsonArray points = Eventually.settled(WAIT, stores().interval(), () -> platform.get(query).array(), a -> a.size() >= 2);
    assertThat(points.stream().map(o -> ((JsonObject) o).getString("metric") + "@" + ((JsonObject) o).getString("time")
        + "=" + ((JsonObject) o).getDouble("value")).toList())
        .containsExactlyInAnyOrder("temperature@2026-02-12T12:00:00Z=25.7", "humidity@2026-02-12T12:00:00Z=40.0");
  }

  @Test
  void readinessCoversTheStoresAndMqtt() {
    JsonObject ready = Eventually.value(WAIT, () -> platform.get("/readyz").json(), r -> "ready".equals(r.getString("status")));
    assertThat(ready.getString("status")).as(ready.encode()).isEqualTo("ready");
    assertThat(ready.getJsonArray("checks").stream().map(o -> ((JsonObject) o).getString("name")).toList())
        .containsExactlyInAnyOrder("database", "intake", "archive", "timeseries", "registry", "mqtt");
  }

  @Test
  void senmlMeasurementsAreStoredAndMetricsExportAsCsv() {
    JsonObject senml = Datagrams.envelope("dc-meter-002", 0, "telemetry", Datagrams.T0).put("measurements", new JsonArray()
        .add(new JsonObject().put("n", "voltage_dc").put("v", 752.0).put("u", "V").put("t", -5))
        .add(new JsonObject().put("n", "current_dc").put("v", 301.0).put("u", "A").put("t", -5)));
    try (TestMeter meter = TestMeter.connect(platform.vertx(), platform.mqttPort(), "dc-meter-002", false)) {
      meter.send("iot/dc-meter-002/telemetry", senml, 1);
    }
    String query = "/api/devices/dc-meter-002/metrics?start=2026-02-12T09:00:00Z&stop=2026-02-12T11:00:00Z";
    // Two measurements and the active power derived from them, as for any datagram; counted once
    // they stayed the same past the settle interval.
    JsonArray points = Eventually.settled(WAIT, stores().interval(), () -> platform.get(query).array(), a -> a.size() >= 3);
    assertThat(points).hasSize(3);
    String time = Datagrams.T0.minusSeconds(5).toString();
    Reply csv = platform.get(query + "&format=csv");
    assertThat(csv.status()).isEqualTo(200);
    assertThat(csv.contentType()).startsWith("text/csv");
    assertThat(csv.body().split("\r\n")).containsExactly("time,device_id,metric,value",
        time + ",dc-meter-002,current_dc,301.0", time + ",dc-meter-002,power_active,226352.0", time + ",dc-meter-002,voltage_dc,752.0");
    Reply accepted = platform.send(io.vertx.core.http.HttpMethod.GET, query, null);
    assertThat(accepted.contentType()).startsWith("application/json");
    assertThat(platform.get(query + "&format=xml").status()).isEqualTo(400);
    // A device without any data: an empty array, as the reference answers.
    assertThat(platform.get("/api/devices/ac-meter-001/metrics?start=2020-01-01T00:00:00Z&stop=2020-01-02T00:00:00Z").array()).isEmpty();
  }
}
