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
import io.iotmeter.support.TestMosquitto;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.mqtt.messages.MqttPublishMessage;
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
 * The platform as a client of real Mosquitto brokers (the compose deployment): meters publish
 * every message to all brokers, the bridge takes each copy, the intake keeps one.
 */
@Timeout(120)
class BrokerBridgeIngestTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private final List<TestMosquitto> brokers = new ArrayList<>();
  private Vertx devices;
  private RunningPlatform platform;
  private AcceptedTap accepted;

  @BeforeEach
  void start() {
    for (int i = 0; i < 3; i++) {
      brokers.add(TestMosquitto.start());
    }
    devices = Vertx.vertx();
    platform = RunningPlatform.start(bridgeConfig());
    accepted = new AcceptedTap(platform.vertx());
    awaitBridgeConnected(3);
  }

  @AfterEach
  void stop() {
    accepted.close();
    platform.close();
    devices.close().await();
    brokers.forEach(TestMosquitto::close);
  }

  private JsonObject bridgeConfig() {
    JsonObject config = RunningPlatform.ingestConfig();
    config.getJsonObject("deploy").put("mqtt_server", 0).put("mqtt_bridge", 1);
    config.getJsonObject("mqtt_bridge").put("brokers", new JsonArray(brokers.stream().map(TestMosquitto::address).toList()))
        .put("client_id", "platform-under-test").put("min_backoff_ms", 100).put("max_backoff_ms", 500);
    return config;
  }

  private void awaitBridgeConnected(int count) {
    Eventually.within(WAIT, () -> assertThat(platform.get("/metrics").body())
        .contains("mqtt_collector_mqtt_connected " + count + ".0"));
  }

  /** A meter connected to every broker, as real meters are. */
  private List<TestMeter> meterOnAllBrokers(String deviceId) {
    return brokers.stream().map(b -> TestMeter.connect(devices, b.port(), deviceId, false)).toList();
  }

  @Test
  void copiesThroughThreeBrokersAreStoredOnce() {
    List<TestMeter> meter = meterOnAllBrokers("dc-meter-001");
    // What each broker acknowledged to the meter: the platform must store it (the brokers keep its session).
    AckLedger ledger = new AckLedger();
    for (long seq = 0; seq < 20; seq++) {
      for (int i = 0; i < meter.size(); i++) {
        meter.get(i).sendTelemetry(ledger, brokers.get(i).address(), "dc-meter-001", seq, 2);
      }
    }
    meter.forEach(TestMeter::close);
    // A broker forwards its copy whenever it likes: every copy decided (20 kept, 40 dropped), and
    // nothing more for longer than a sink's linger and recovery interval, before counting exactly.
    Eventually.within(WAIT, () -> assertThat(platform.get("/metrics").body()).contains("mqtt_collector_duplicates_dropped_total 40.0"));
    AuditReport report = SettledStores.of(platform.config()).audit(ledger, new DatagramsLayout(), List.of("dc-meter-001"));
    assertThat(accepted.seqs("dc-meter-001", Category.TELEMETRY)).hasSize(20);
    assertThat(accepted.seqs("dc-meter-001", Category.TELEMETRY))
        .containsExactlyInAnyOrderElementsOf(LongStream.range(0, 20).boxed().toList());
    assertThat(accepted.of("dc-meter-001").get(0).source()).startsWith("broker:127.0.0.1:");
    String points = "/api/devices/dc-meter-001/metrics?start=2026-02-12T09:00:00Z&stop=2026-02-12T11:00:00Z&metric=voltage_dc";
    assertThat(platform.get(points).array().size()).isEqualTo(20);
    assertThat(duplicatesDropped()).as("every copy decided once").isEqualTo(40);
    // Stored once, per key, in every store, whichever broker's copy was kept.
    assertThat(report.clean()).as(report.detail()).isTrue();
    assertThat(ledger.paths()).hasSize(3);
    assertThat(report.store(StoreAudit.ARCHIVE).stored()).as(report.detail()).isEqualTo(20);
    assertThat(report.store(StoreAudit.TIME_SERIES).stored()).as(report.detail()).isEqualTo(20);
    assertThat(report.store(StoreAudit.REGISTRY).expected()).as(report.detail()).isEqualTo(1);
  }

  private long duplicatesDropped() {
    return platform.get("/metrics").body().lines().filter(l -> l.startsWith("mqtt_collector_duplicates_dropped_total "))
        .mapToLong(l -> (long) Double.parseDouble(l.substring(l.indexOf(' ') + 1))).findFirst().orElse(0);
  }

  @Test
  void messagesPublishedWhileThePlatformIsDownArriveWhenItIsBack() {
    JsonObject config = platform.config();
    accepted.close();
    platform.close();
    // The brokers keep the platform's persistent session and queue what the meter publishes.
    AckLedger ledger = new AckLedger();
    try (TestMeter meter = TestMeter.connect(devices, brokers.get(0).port(), "dc-meter-002", false)) {
      for (long seq = 0; seq < 5; seq++) {
        meter.sendTelemetry(ledger, brokers.get(0).address(), "dc-meter-002", seq, 2);
      }
    }
    platform = RunningPlatform.start(config);
    accepted = new AcceptedTap(platform.vertx());
    // Counted in the database, not on the tap: the queued messages may be accepted before the
    // tap listens. Counted once nothing changed for longer than a sink's linger and recovery
    // interval: a copy the broker redelivered late would show.
    assertThat(Eventually.settled(WAIT, SettledStores.interval(config), () -> io.iotmeter.support.TestPostgres.count(
        platform.postgres(), "SELECT count(*) FROM intake_seen WHERE device_id = 'dc-meter-002'"), n -> n >= 5)).isEqualTo(5);
    assertThat(io.iotmeter.support.TestPostgres.count(platform.postgres(),
        "SELECT count(DISTINCT seq) FROM intake_seen WHERE device_id = 'dc-meter-002' AND seq BETWEEN 0 AND 4")).isEqualTo(5);
    // Everything a broker acknowledged while the platform was down is in every store, once.
    AuditReport report = SettledStores.of(platform.config()).audit(ledger, new DatagramsLayout(), List.of("dc-meter-002"));
    assertThat(report.clean()).as(report.detail()).isTrue();
    assertThat(report.store(StoreAudit.ARCHIVE).stored()).as(report.detail()).isEqualTo(5);
    assertThat(report.store(StoreAudit.TIME_SERIES).stored()).as(report.detail()).isEqualTo(5);
  }

  @Test
  void aBrokerThatRestartsIsReconnected() {
    brokers.get(1).stop();
    awaitBridgeConnected(2);
    brokers.get(1).restart();
    awaitBridgeConnected(3);
    try (TestMeter meter = TestMeter.connect(devices, brokers.get(1).port(), "ac-meter-001", false)) {
      meter.send("iot/ac-meter-001/telemetry", Datagrams.telemetry("ac-meter-001", 0), 1);
    }
    Eventually.within(WAIT, () -> assertThat(accepted.seqs("ac-meter-001", Category.TELEMETRY)).containsExactly(0L));
  }

  @Test
  void theWillTheBrokerPublishesMarksTheMeterOffline() {
    try (RawMqttClient raw = RawMqttClient.connect(devices, brokers.get(2).port(), "dc-meter-001", false, 5,
        "iot/dc-meter-001/status", Datagrams.status("dc-meter-001", "offline", Instant.now()).encode())) {
      raw.publish("iot/dc-meter-001/status", Datagrams.status("dc-meter-001", "online", Instant.now()).encode(), 1, 1, false);
      raw.await(RawMqttClient.PUBACK, WAIT);
      Eventually.within(WAIT, () -> assertThat(platform.get("/api/devices/dc-meter-001/status").json()
          .getString("connection_status")).isEqualTo("online"));
    } // dropped without DISCONNECT: Mosquitto publishes the will
    Eventually.within(WAIT, () -> assertThat(platform.get("/api/devices/dc-meter-001/status").json()
        .getString("connection_status")).isEqualTo("offline"));
  }

  @Test
  void aCommandIsPublishedOnEveryBroker() {
    List<TestMeter> meter = meterOnAllBrokers("dc-meter-002");
    meter.forEach(link -> link.subscribe("iot/dc-meter-002/command", 2));
    var reply = platform.post("/api/devices/dc-meter-002/commands", new JsonObject().put("cmd", "request_status"));
    assertThat(reply.status()).as(reply.toString()).isEqualTo(201);
    for (TestMeter link : meter) {
      MqttPublishMessage command = link.receive(WAIT);
      assertThat(command.payload().toJsonObject().getString("cmd_id")).isEqualTo(reply.json().getString("cmd_id"));
    }
    meter.forEach(TestMeter::close);
  }
}
