package io.iotmeter.mqtt;

import io.iotmeter.audit.AckLedger;
import io.iotmeter.audit.AuditReport;
import io.iotmeter.audit.DatagramsLayout;
import io.iotmeter.audit.StoreAudit;
import io.iotmeter.protocol.Category;
import io.iotmeter.support.AcceptedTap;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.RawMqttClient;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.SettledStores;
import io.iotmeter.support.TestMeter;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Meters publishing to the platform's own MQTT endpoint: what the intake accepts, what it
 * drops, and what the registry shows, with real MQTT clients and a real PostgreSQL.
 */
@Timeout(90)
class DeviceEndpointIngestTest {

  private static final Duration WAIT = Duration.ofSeconds(10);
  private RunningPlatform platform;
  private AcceptedTap accepted;

  @BeforeEach
  void start() {
    platform = RunningPlatform.start(RunningPlatform.ingestConfig());
    accepted = new AcceptedTap(platform.vertx());
  }

  @AfterEach
  void stop() {
    accepted.close();
    platform.close();
  }

  private TestMeter meter(String clientId) {
    return TestMeter.connect(platform.vertx(), platform.mqttPort(), clientId, false);
  }

  /**
   * The first value of {@code probe} that is {@code ready} and then stays the same for longer
   * than a sink's linger and recovery interval: what an absence check counts, exactly, so that a
   * copy accepted late would show.
   */
  private <T> T settled(java.util.function.Supplier<T> probe, java.util.function.Predicate<? super T> ready) {
    return Eventually.settled(WAIT, SettledStores.interval(platform.config()), probe, ready);
  }

  private String metric(String line) {
    return platform.get("/metrics").body().lines().filter(l -> l.startsWith(line)).findFirst().orElse("");
  }

  @Test
  void telemetryAtEveryQosIsAcceptedOnceAndTheRegistryFollows() {
    try (TestMeter meter = meter("dc-meter-001")) {
      meter.send("iot/dc-meter-001/status", Datagrams.status("dc-meter-001", "online", Instant.now()), 1);
      meter.send("iot/dc-meter-001/telemetry", Datagrams.telemetry("dc-meter-001", 0), 0);
      meter.send("iot/dc-meter-001/telemetry", Datagrams.telemetry("dc-meter-001", 1), 1);
      meter.send("iot/dc-meter-001/telemetry", Datagrams.telemetry("dc-meter-001", 2), 2);
      meter.send("iot/dc-meter-001/hello", Datagrams.hello("dc-meter-001", 3, Datagrams.T0.plusSeconds(30), "2.4.1", 40), 2);
    }
    assertThat(settled(() -> accepted.of("dc-meter-001"), a -> a.size() >= 5)).hasSize(5);
    assertThat(accepted.seqs("dc-meter-001", Category.TELEMETRY)).containsExactly(0L, 1L, 2L);
    assertThat(accepted.of("dc-meter-001").get(2).payload()).as("the payload travels as received")
        .isEqualTo(Datagrams.telemetry("dc-meter-001", 1).encode());
    Eventually.within(WAIT, () -> {
      JsonObject device = platform.get("/api/devices/dc-meter-001").json();
      assertThat(device.getString("connection_status")).isEqualTo("online");
      assertThat(device.getString("fw_version")).isEqualTo("2.4.1");
      assertThat(Instant.parse(device.getString("last_seen"))).isAfter(Instant.now().minusSeconds(30));
    });
    assertThat(metric("mqtt_collector_messages_processed_total{topic_suffix=\"telemetry\"}")).endsWith(" 3.0");
    Eventually.within(WAIT, () -> assertThat(TestPostgres.count(platform.postgres(), "SELECT count(*) FROM journal_waiting"))
        .as("every sink stored every journal row").isZero());
  }

  @Test
  void copiesThroughThreeConnectionsAreStoredOnce() {
    List<TestMeter> brokers = new ArrayList<>();
    List<String> paths = List.of("a", "b", "c");
    for (String copy : paths) {
      brokers.add(meter("dc-meter-002-via-" + copy));
    }
    AckLedger ledger = new AckLedger();
    try {
      for (long seq = 0; seq < 10; seq++) {
        for (int i = 0; i < brokers.size(); i++) {
          brokers.get(i).sendTelemetry(ledger, paths.get(i), "dc-meter-002", seq, 2);
        }
      }
    } finally {
      brokers.forEach(TestMeter::close);
    }
    assertThat(settled(() -> accepted.seqs("dc-meter-002", Category.TELEMETRY), s -> s.size() >= 10))
        .containsExactlyElementsOf(LongStream.range(0, 10).boxed().toList());
    assertThat(metric("mqtt_collector_duplicates_dropped_total")).endsWith(" 20.0");
    // Stored once, per key, in every store: each of the three connections' acknowledgements is audited.
    AuditReport report = SettledStores.of(platform.config()).audit(ledger, new DatagramsLayout(), List.of("dc-meter-002"));
    assertThat(report.clean()).as(report.detail()).isTrue();
    assertThat(ledger.paths()).containsExactlyElementsOf(paths);
    assertThat(report.store(StoreAudit.ARCHIVE).stored()).as(report.detail()).isEqualTo(10);
    assertThat(report.store(StoreAudit.TIME_SERIES).stored()).as(report.detail()).isEqualTo(10);
    assertThat(report.store(StoreAudit.REGISTRY).expected()).as(report.detail()).isEqualTo(1);
  }

  @Test
  void aGapRaisesOneAlertThatCountsTheMissingMessages() {
    try (TestMeter meter = meter("ac-meter-001")) {
      for (long seq : new long[] {0, 1, 2, 7, 8}) {
        meter.send("iot/ac-meter-001/telemetry", Datagrams.telemetry("ac-meter-001", seq), 1);
      }
    }
    // One alert: counted after the gap scans (every 200 ms here) went on long enough to raise a second.
    JsonArray alerts = settled(() -> platform.get("/api/devices/ac-meter-001/alerts").array(), a -> !a.isEmpty());
    assertThat(alerts).hasSize(1);
    JsonObject alert = alerts.getJsonObject(0);
    assertThat(alert.getString("alert_type")).isEqualTo("sequence_gap");
    assertThat(alert.getString("message")).contains("4 messages missing").contains("seq 3 to 6");
    assertThat(TestPostgres.count(platform.postgres(), "SELECT gap_count FROM device_seq_tracking WHERE device_id = 'ac-meter-001'"))
        .isEqualTo(1);
    assertThat(metric("mqtt_collector_sequence_gaps_total")).endsWith(" 1.0");
  }

  @Test
  void aRebootedMeterCountingFromZeroIsStillAccepted() {
    try (TestMeter meter = meter("dc-meter-001")) {
      for (long seq = 0; seq <= 5; seq++) {
        meter.send("iot/dc-meter-001/telemetry", Datagrams.telemetry("dc-meter-001", seq), 1);
      }
      Instant bootTime = Datagrams.T0.plusSeconds(3600);
      meter.send("iot/dc-meter-001/status", Datagrams.status("dc-meter-001", "online", bootTime), 1);
      meter.send("iot/dc-meter-001/telemetry", Datagrams.envelope("dc-meter-001", 0, "telemetry", bootTime.plusSeconds(10))
          .put("measurements", new JsonArray()), 1);
      meter.send("iot/dc-meter-001/telemetry", Datagrams.envelope("dc-meter-001", 1, "telemetry", bootTime.plusSeconds(20))
          .put("measurements", new JsonArray()), 1);
    }
    Eventually.within(WAIT, () -> assertThat(accepted.seqs("dc-meter-001", Category.TELEMETRY))
        .containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 0L, 1L));
    assertThat(accepted.of("dc-meter-001").get(7).epoch()).isEqualTo(1);
  }

  @Test
  void v1PayloadsAreDeduplicatedByContentAndUnknownDevicesAreRegistered() {
    JsonObject legacy = new JsonObject().put("timestamp", "2026-02-12T12:00:00Z").put("device_id", "legacy-7")
        .put("temperature", 25.7).put("unit", "celsius");
    JsonObject next = legacy.copy().put("timestamp", "2026-02-12T12:00:10Z");
    JsonObject sameTimeOtherValue = legacy.copy().put("temperature", 25.8);
    try (TestMeter meter = meter("legacy-7")) {
      meter.send("iot/legacy-7/telemetry", legacy, 1);
      meter.send("iot/legacy-7/telemetry", legacy, 1);
      meter.send("iot/legacy-7/telemetry", next, 1);
      meter.send("iot/legacy-7/telemetry", sameTimeOtherValue, 1);
      meter.send("iot/legacy-7/telemetry", next, 1);
    }
    // The byte-identical copies are dropped; every payload that differs is kept. (All five were
    // decided once the two copies are counted.)
    Eventually.within(WAIT, () -> assertThat(platform.get("/metrics").body())
        .contains("mqtt_collector_duplicates_dropped_total 2.0"));
    assertThat(settled(() -> accepted.of("legacy-7"), a -> a.size() >= 3)).hasSize(3);
    assertThat(TestPostgres.count(platform.postgres(), "SELECT count(*) FROM intake_seen WHERE device_id = 'legacy-7' AND seq < 0"))
        .isEqualTo(3);
    JsonObject device = platform.get("/api/devices/legacy-7").json();
    assertThat(device.getJsonObject("metadata").getBoolean("auto_registered")).isTrue();
  }

  @Test
  void junkIsCountedAcknowledgedAndDoesNotDisturbTheConnection() {
    try (TestMeter meter = meter("dc-meter-002")) {
      meter.send("iot/dc-meter-002/telemetry", Buffer.buffer("{not json"), 1);
      meter.send("iot/dc-meter-002/telemetry", Buffer.buffer(new byte[] {(byte) 0xC3, (byte) 0x28}), 1);
      meter.send("iot/dc-meter-002/telemetry", new JsonObject().put("v", 2).put("seq", "seven"), 1);
      meter.send("iot/dc-meter-002/hello", Datagrams.envelope("dc-meter-002", 1, "hello", Instant.now()), 2);
      meter.send("elsewhere/dc-meter-002", new JsonObject().put("x", 1), 1);
      meter.send("iot/dc-meter-002/telemetry", Datagrams.telemetry("dc-meter-002", 4), 1);
    }
    assertThat(settled(() -> accepted.seqs("dc-meter-002", Category.TELEMETRY), a -> !a.isEmpty())).containsExactly(4L);
    assertThat(metric("mqtt_collector_messages_errors_total{error_type=\"json_decode\"}")).endsWith(" 2.0");
    assertThat(metric("mqtt_collector_messages_errors_total{error_type=\"invalid_payload\"}")).endsWith(" 2.0");
    assertThat(metric("mqtt_collector_messages_errors_total{error_type=\"mqtt_refused_topic\"}")).endsWith(" 1.0");
  }

  @Test
  void aResentQos2PublishWithTheSamePacketIdIsProcessedOnce() {
    JsonObject legacy = new JsonObject().put("timestamp", "2026-02-12T12:00:00Z").put("temperature", 21.5);
    try (RawMqttClient raw = RawMqttClient.connect(platform.vertx(), platform.mqttPort(), "raw-1", false, 30, null, null)) {
      raw.publish("iot/raw-1/telemetry", legacy.encode(), 2, 7, false);
      assertThat(raw.await(RawMqttClient.PUBREC, WAIT).packetId()).isEqualTo(7);
      raw.publish("iot/raw-1/telemetry", legacy.encode(), 2, 7, true);
      assertThat(raw.await(RawMqttClient.PUBREC, WAIT).packetId()).isEqualTo(7);
      raw.pubrel(7);
      assertThat(raw.await(RawMqttClient.PUBCOMP, WAIT).packetId()).isEqualTo(7);
      raw.disconnect();
    }
    assertThat(settled(() -> accepted.of("raw-1"), a -> !a.isEmpty())).hasSize(1);
    // v1 payloads are not de-duplicated by content: only the packet id kept the copy out.
  }

  @Test
  void aPacketIdReusedWithoutDupIsANewMessage() {
    JsonObject legacy = new JsonObject().put("timestamp", "2026-02-12T12:00:00Z").put("temperature", 21.5);
    try (RawMqttClient raw = RawMqttClient.connect(platform.vertx(), platform.mqttPort(), "raw-2", false, 30, null, null)) {
      raw.publish("iot/raw-2/telemetry", legacy.encode(), 2, 9, false);
      raw.await(RawMqttClient.PUBREC, WAIT);
    } // gone before PUBREL: the session still awaits the release of packet 9
    try (RawMqttClient raw = RawMqttClient.connect(platform.vertx(), platform.mqttPort(), "raw-2", false, 30, null, null)) {
      // A client that kept no session state numbers afresh and sends a new message as packet 9.
      raw.publish("iot/raw-2/telemetry", legacy.put("temperature", 22.0).encode(), 2, 9, false);
      raw.await(RawMqttClient.PUBREC, WAIT);
      raw.pubrel(9);
      raw.await(RawMqttClient.PUBCOMP, WAIT);
      raw.disconnect();
    }
    Eventually.within(WAIT, () -> assertThat(accepted.of("raw-2")).hasSize(2));
  }

  @Test
  void aVanishedMeterIsMarkedOfflineByItsWill() {
    try (RawMqttClient raw = RawMqttClient.connect(platform.vertx(), platform.mqttPort(), "dc-meter-001", false, 30,
        "iot/dc-meter-001/status", Datagrams.status("dc-meter-001", "offline", Instant.now()).encode())) {
      raw.publish("iot/dc-meter-001/status", Datagrams.status("dc-meter-001", "online", Instant.now()).encode(), 1, 1, false);
      raw.await(RawMqttClient.PUBACK, WAIT);
      Eventually.within(WAIT, () -> assertThat(platform.get("/api/devices/dc-meter-001/status").json()
          .getString("connection_status")).isEqualTo("online"));
    } // closed without DISCONNECT
    Eventually.within(WAIT, () -> assertThat(platform.get("/api/devices/dc-meter-001/status").json()
        .getString("connection_status")).isEqualTo("offline"));
  }

  @Test
  void aMeterSilentPastItsKeepAliveIsDroppedAndItsWillFired() {
    RawMqttClient raw = RawMqttClient.connect(platform.vertx(), platform.mqttPort(), "dc-meter-002", false, 1,
        "iot/dc-meter-002/status", Datagrams.status("dc-meter-002", "offline", Instant.now()).encode());
    try {
      // No PINGREQ: after 1.5 × the 1 s keep-alive the endpoint closes the connection.
      Eventually.within(WAIT, () -> assertThat(accepted.of("dc-meter-002")).singleElement()
          .satisfies(m -> assertThat(m.payload()).contains("\"offline\"")));
    } finally {
      raw.close();
    }
  }

  @Test
  void anOversizedPacketClosesTheConnectionAndIsCounted() {
    String huge = "{\"v\":2,\"pad\":\"" + "x".repeat(300 * 1024) + "\"}";
    try (RawMqttClient raw = RawMqttClient.connect(platform.vertx(), platform.mqttPort(), "greedy-1", true, 30, null, null)) {
      raw.publish("iot/greedy-1/telemetry", huge, 1, 1, false);
      assertThat(raw.count(RawMqttClient.PUBACK, Duration.ofSeconds(2))).isZero();
    }
    Eventually.within(WAIT, () -> assertThat(metric("mqtt_collector_messages_errors_total{error_type=\"mqtt_protocol\"}"))
        .isNotEmpty());
    assertThat(accepted.of("greedy-1")).isEmpty();
    // The endpoint keeps serving everyone else.
    try (TestMeter meter = meter("dc-meter-001")) {
      meter.send("iot/dc-meter-001/telemetry", Datagrams.telemetry("dc-meter-001", 0), 1);
    }
  }

  @Test
  void aCleanDisconnectDoesNotFireTheWill() {
    try (TestMeter meter = TestMeter.connectWithWill(platform.vertx(), platform.mqttPort(), "dc-meter-002")) {
      meter.send("iot/dc-meter-002/status", Datagrams.status("dc-meter-002", "online", Instant.now()), 1);
    }
    assertThat(settled(() -> accepted.of("dc-meter-002"), a -> !a.isEmpty())).as("no will after DISCONNECT").hasSize(1);
  }

  @Test
  void deduplicationStateSurvivesARestart() {
    try (TestMeter meter = meter("dc-meter-001")) {
      for (long seq = 0; seq < 3; seq++) {
        meter.send("iot/dc-meter-001/telemetry", Datagrams.telemetry("dc-meter-001", seq), 1);
      }
    }
    Eventually.within(WAIT, () -> assertThat(accepted.seqs("dc-meter-001", Category.TELEMETRY)).hasSize(3));
    JsonObject config = platform.config();
    accepted.close();
    platform.close();

    platform = RunningPlatform.start(config);
    accepted = new AcceptedTap(platform.vertx());
    try (TestMeter meter = meter("dc-meter-001")) {
      meter.send("iot/dc-meter-001/telemetry", Datagrams.telemetry("dc-meter-001", 2), 1);
      meter.send("iot/dc-meter-001/telemetry", Datagrams.telemetry("dc-meter-001", 3), 1);
    }
    assertThat(settled(() -> accepted.seqs("dc-meter-001", Category.TELEMETRY), a -> !a.isEmpty())).containsExactly(3L);
  }

  @Test
  void theStatusOfEveryMeterIsRetainedForNewSubscribers() {
    try (TestMeter device = meter("dc-meter-001")) {
      device.sendRetained("iot/dc-meter-001/status", Datagrams.status("dc-meter-001", "online", Instant.now()), 1);
    }
    try (RawMqttClient raw = RawMqttClient.connect(platform.vertx(), platform.mqttPort(), "watcher", true, 30, null, null)) {
      raw.subscribe(1, "iot/+/status", 1);
      raw.await(RawMqttClient.SUBACK, WAIT);
      RawMqttClient.Packet retained = raw.await(RawMqttClient.PUBLISH, WAIT);
      assertThat(retained.flags() & 0x01).as("retain flag").isEqualTo(1);
      assertThat(retained.body().toString()).contains("iot/dc-meter-001/status").contains("\"online\"");
    }
  }
}
