package io.iotmeter.security;

import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.FreePorts;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.TestCertificates;
import io.iotmeter.support.TestMeter;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.mqtt.MqttClient;
import io.vertx.mqtt.MqttClientOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * TLS with certificates made in the test: MQTT over TLS only (the plain port off), mutual TLS
 * where a client certificate signed by the configured CA whose CN is a registered device id
 * replaces the password, and HTTPS for the API.
 */
@Timeout(120)
class TlsTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static TestCertificates platformCa;
  private static TestCertificates rogueCa;
  private static RunningPlatform platform;
  private static int tlsPort;
  private static final Vertx devices = Vertx.vertx();

  @BeforeAll
  static void start() throws Exception {
    Path dir = Files.createTempDirectory("tls-test");
    platformCa = new TestCertificates(dir, "platform");
    rogueCa = new TestCertificates(dir, "rogue");
    TestCertificates.Issued server = platformCa.server("iot-meter");
    JsonObject config = RunningPlatform.securedConfig();
    tlsPort = FreePorts.next();
    config.getJsonObject("mqtt").put("plain_enabled", false).put("tls", new JsonObject().put("enabled", true).put("port", tlsPort)
        .put("cert_path", server.cert().toString()).put("key_path", server.key().toString())
        .put("client_ca_path", platformCa.caFile().toString()));
    config.getJsonObject("http").put("tls", new JsonObject().put("enabled", true)
        .put("cert_path", server.cert().toString()).put("key_path", server.key().toString()));
    platform = RunningPlatform.start(config);
  }

  @AfterAll
  static void stop() {
    platform.close();
    devices.close().await();
  }

  private static MqttClientOptions tls() {
    MqttClientOptions options = new MqttClientOptions().setSsl(true)
        .setTrustOptions(new PemTrustOptions().addCertPath(platformCa.caFile().toString()));
    options.setHostnameVerificationAlgorithm("HTTPS");
    return options;
  }

  private static MqttConnectReturnCode connect(MqttClientOptions options) {
    return TestMeter.connackOf(devices, tlsPort, options);
  }


  private static WebClient https() {
    return WebClient.create(devices, new WebClientOptions().setSsl(true).setVerifyHost(true)
        .setTrustOptions(new PemTrustOptions().addCertPath(platformCa.caFile().toString())));
  }

  private static String issue(String deviceId) {
    WebClient client = https();
    try {
      var reply = client.post(platform.httpPort(), "127.0.0.1", "/api/devices/" + deviceId + "/credentials")
          .putHeader("Authorization", "Bearer " + RunningPlatform.ADMIN_KEY).send().await();
      assertThat(reply.statusCode()).isEqualTo(201);
      return reply.bodyAsJsonObject().getString("password");
    } finally {
      client.close();
    }
  }

  @Test
  void aDeviceWithItsPasswordConnectsOverTlsAndThePlainPortIsOff() {
    String password = issue("dc-meter-001");
    try (TestMeter meter = TestMeter.connect(devices, tlsPort,
        tls().setClientId("dc-meter-001").setUsername("dc-meter-001").setPassword(password))) {
      meter.send("iot/dc-meter-001/telemetry", Datagrams.telemetry("dc-meter-001", 0), 1);
    }
    MqttClient plain = MqttClient.create(devices, new MqttClientOptions().setClientId("dc-meter-001"));
    int plainPort = platform.config().getJsonObject("mqtt").getInteger("port");
    assertThat(plain.connect(plainPort, "127.0.0.1").toCompletionStage().toCompletableFuture().handle((ok, e) -> e != null).join())
        .as("nothing listens on the plain port").isTrue();
  }

  @Test
  void aClientCertificateOfTheCaNamesTheDeviceWithoutAPassword() {
    TestCertificates.Issued meterCert = platformCa.client("dc-meter-002");
    MqttClientOptions withCert = tls().setClientId("dc-meter-002")
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(meterCert.cert().toString()).setKeyPath(meterCert.key().toString()));
    try (TestMeter meter = TestMeter.connect(devices, tlsPort, withCert)) {
      meter.send("iot/dc-meter-002/telemetry", Datagrams.telemetry("dc-meter-002", 0), 1);
      Eventually.within(WAIT, () -> assertThat(platform.as(RunningPlatform.ADMIN_KEY).get("/api/devices/dc-meter-002/metrics"
          + "?start=2026-02-12T09:00:00Z&stop=2026-02-12T12:00:00Z&metric=voltage_dc").array()).hasSize(1));
    }
    TestCertificates.Issued unknown = platformCa.client("nobody-001");
    assertThat(connect(tls().setClientId("nobody-001").setKeyCertOptions(new PemKeyCertOptions()
        .setCertPath(unknown.cert().toString()).setKeyPath(unknown.key().toString()))))
        .as("a certificate of an unregistered device").isEqualTo(MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED);
    TestCertificates.Issued rogue = rogueCa.client("dc-meter-002");
    MqttConnectReturnCode rogueAnswer = connect(tls().setClientId("dc-meter-002").setKeyCertOptions(new PemKeyCertOptions()
        .setCertPath(rogue.cert().toString()).setKeyPath(rogue.key().toString())));
    // Requested, not required, so the handshake may go on without it: then it names nobody.
    assertThat(rogueAnswer).as("a certificate another CA signed names no device")
        .isIn(null, MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED);
    assertThat(connect(tls().setClientId("dc-meter-002").setUsername("ac-meter-001").setPassword("x").setKeyCertOptions(new PemKeyCertOptions()
        .setCertPath(meterCert.cert().toString()).setKeyPath(meterCert.key().toString()))))
        .as("a user name that is not the certificate's CN").isEqualTo(MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED);
  }

  @Test
  void theApiAnswersOverHttpsOnly() {
    WebClient client = https();
    try {
      assertThat(client.get(platform.httpPort(), "127.0.0.1", "/healthz").send().await().statusCode()).isEqualTo(200);
    } finally {
      client.close();
    }
    WebClient plain = WebClient.create(devices);
    try {
      boolean failed = plain.get(platform.httpPort(), "127.0.0.1", "/healthz").send().toCompletionStage().toCompletableFuture()
          .handle((r, e) -> e != null || r.statusCode() >= 400).join();
      assertThat(failed).as("plain HTTP is not served").isTrue();
    } finally {
      plain.close();
    }
  }
}
