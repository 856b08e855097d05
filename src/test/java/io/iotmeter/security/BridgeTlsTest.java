package io.iotmeter.security;

import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.TestCertificates;
import io.iotmeter.support.TestMeter;
import io.iotmeter.support.TestMosquitto;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.mqtt.MqttClientOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The bridge to a Mosquitto that speaks TLS only (certificates made in the test): with
 * mqtt_bridge.tls and the broker's CA it connects and ingests; without the CA it refuses the
 * broker's certificate and stays not ready.
 */
@Timeout(120)
class BridgeTlsTest {

  @Test
  void theBridgeTrustsTheConfiguredCaOnly() throws Exception {
    TestCertificates ca = new TestCertificates(Files.createTempDirectory("bridge-tls"), "broker-ca");
    TestCertificates.Issued cert = ca.server("mosquitto");
    Vertx devices = Vertx.vertx();
    try (TestMosquitto broker = TestMosquitto.startWithTls(cert.cert(), cert.key())) {
      JsonObject config = RunningPlatform.ingestConfig();
      config.getJsonObject("deploy").put("mqtt_server", 0).put("mqtt_bridge", 1);
      config.getJsonObject("mqtt_bridge").put("brokers", new JsonArray().add(broker.address())).put("client_id", "tls-bridge")
          .put("tls", true).put("ca_path", ca.caFile().toString()).put("min_backoff_ms", 100).put("max_backoff_ms", 500);
      try (RunningPlatform platform = RunningPlatform.start(config)) {
        Eventually.within(Duration.ofSeconds(20), () -> assertThat(platform.get("/readyz").status()).isEqualTo(200));
        MqttClientOptions meterTls = new MqttClientOptions().setClientId("dc-meter-001").setSsl(true)
            .setTrustOptions(new PemTrustOptions().addCertPath(ca.caFile().toString()));
        meterTls.setHostnameVerificationAlgorithm("HTTPS");
        try (TestMeter meter = TestMeter.connect(devices, broker.port(), meterTls)) {
          meter.send("iot/dc-meter-001/telemetry", Datagrams.telemetry("dc-meter-001", 0), 1);
        }
        Eventually.within(Duration.ofSeconds(20), () -> assertThat(platform.get("/api/devices/dc-meter-001/metrics"
            + "?start=2026-02-12T09:00:00Z&stop=2026-02-12T12:00:00Z&metric=voltage_dc").array()).hasSize(1));
      }
      // Without the broker's CA the JVM's trust store refuses its certificate: the bridge never connects.
      config.getJsonObject("mqtt_bridge").put("ca_path", "");
      try (RunningPlatform untrusting = RunningPlatform.start(config)) {
        Thread.sleep(3000);
        assertThat(untrusting.get("/readyz").status()).isEqualTo(503);
        assertThat(untrusting.get("/metrics").body()).contains("mqtt_collector_mqtt_connected 0.0");
      }
    } finally {
      devices.close().await();
    }
  }
}
