package io.iotmeter.security;

import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.TestMeter;
import io.iotmeter.support.TestPostgres;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.mqtt.MqttClientOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * No outage without a key: a stranger's flood of bad API keys (200 a second for 30 s, of every
 * shape) leaves a valid key's requests and a meter's reconnect answered within a second, because
 * no bad secret costs a hash; secrets stored before SHA-256 (bcrypt) still work, are checked once
 * and replaced, and public routes never hash. The real bcrypt cost (10) and no verified cache, so
 * every valid request and reconnect is checked anew while the flood runs.
 */
@Timeout(240)
class AuthFloodTest {

  private static final int FLOOD_PER_S = 200;
  private static final int FLOOD_SECONDS = Integer.getInteger("flood.seconds", 30);

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClassWith(() -> {
    JsonObject config = RunningPlatform.securedConfig();
    config.getJsonObject("security").put("hash_cost", 10).put("cache_s", 0);
    return config;
  });
  private static final Vertx clients = Vertx.vertx();

  @AfterAll
  static void close() {
    clients.close().await();
  }

  private static RunningPlatform.As admin() {
    return platform.as(RunningPlatform.ADMIN_KEY);
  }

  private static String issue(String deviceId) {
    return platform.issueDeviceCredentials(deviceId);
  }


  /** Bad keys of every shape: a guess, the bootstrap id with a random secret, an unknown id. */
  private static String badKey(long n) {
    return switch ((int) (n % 3)) {
      case 0 -> "guess-" + n + "-" + Secrets.newSecret();
      case 1 -> "iot_admin_" + Secrets.newSecret();
      default -> "iot_" + Secrets.newId() + "_" + Secrets.newSecret();
    };
  }

  @Test
  void aFloodOfBadKeysLeavesValidRequestsAndReconnectsAnsweredWithinASecond() throws Exception {
    String viewer = platform.newKey("flood-viewer", "viewer");
    String password = issue("flood-meter-1");
    MqttClientOptions meter = new MqttClientOptions().setClientId("flood-meter-1").setCleanSession(true)
        .setUsername("flood-meter-1").setPassword(password);
    HttpClient flood = clients.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1")
        .setDefaultPort(platform.httpPort()), new PoolOptions().setHttp1MaxSize(2000));
    AtomicLong sent = new AtomicLong();
    AtomicLong refused = new AtomicLong();
    AtomicLong other = new AtomicLong();
    long periodic = clients.setPeriodic(1000 / FLOOD_PER_S, id -> {
      long n = sent.getAndIncrement();
      flood.request(HttpMethod.GET, "/api/devices")
          .compose(request -> request.putHeader("Authorization", "Bearer " + badKey(n)).send())
          .onSuccess(response -> (response.statusCode() == 401 ? refused : other).incrementAndGet())
          .onFailure(e -> other.incrementAndGet());
    });
    List<String> slow = new ArrayList<>();
    int probes = 0;
    long end = System.nanoTime() + FLOOD_SECONDS * 1_000_000_000L;
    try {
      while (System.nanoTime() < end) {
        long started = System.nanoTime();
        Reply reply = platform.as(viewer).get("/api/devices");
        long requestMs = (System.nanoTime() - started) / 1_000_000;
        started = System.nanoTime();
        MqttConnectReturnCode connack = TestMeter.connackOf(clients, platform.mqttPort(), meter);
        long connectMs = (System.nanoTime() - started) / 1_000_000;
        probes++;
        if (reply.status() != 200 || requestMs > 1000) {
          slow.add("request " + reply.status() + " in " + requestMs + " ms");
        }
        if (connack != MqttConnectReturnCode.CONNECTION_ACCEPTED || connectMs > 1000) {
          slow.add("reconnect " + connack + " in " + connectMs + " ms");
        }
        Thread.sleep(Math.max(0, 1000 - (System.nanoTime() - started) / 1_000_000 - requestMs));
      }
    } finally {
      clients.cancelTimer(periodic);
    }
    assertThat(slow).as("valid requests and reconnects slower than 1 s, or refused, during the flood").isEmpty();
    assertThat(probes).isGreaterThanOrEqualTo(FLOOD_SECONDS / 2);
    // The flood happened: (nearly) all of it sent and answered 401 (guessers' answers come late, by design).
    long expected = (long) FLOOD_PER_S * FLOOD_SECONDS;
    io.iotmeter.support.Eventually.within(java.time.Duration.ofSeconds(30),
        () -> assertThat(refused.get() + other.get()).isEqualTo(sent.get()));
    assertThat(sent.get()).isGreaterThanOrEqualTo(expected * 9 / 10);
    assertThat(refused.get()).as("answered other than 401: " + other.get()).isEqualTo(sent.get());
    String metrics = platform.get("/metrics").body();
    assertThat(counter(metrics, "malformed")).isGreaterThanOrEqualTo(sent.get() / 3);
    assertThat(counter(metrics, "unknown")).isGreaterThanOrEqualTo(sent.get() / 3);
    assertThat(counter(metrics, "shed")).isZero();
    flood.close();
  }

  @Test
  void aSecretStoredAsBcryptStillWorksIsCheckedOnceAndPublicRoutesNeverHashIt() {
    // As a key and a device password were stored before SHA-256.
    String keyText = "iot_0123456789abcdef_" + Secrets.newSecret();
    TestPostgres.execute(platform.postgres(), "INSERT INTO api_keys (id, name, role, secret_hash) VALUES "
        + "('0123456789abcdef', 'legacy', 'viewer', '" + Secrets.slowHash(keyText, 10) + "')");
    issue("legacy-meter-1");
    String password = Secrets.newSecret();
    TestPostgres.execute(platform.postgres(), "UPDATE device_credentials SET secret_hash = '" + Secrets.slowHash(password, 10)
        + "' WHERE device_id = 'legacy-meter-1'");

    // A public route answers it as no key, without hashing it.
    Reply anonymous = platform.as(keyText).get("/api/whoami");
    assertThat(anonymous.status()).as(anonymous.toString()).isEqualTo(200);
    assertThat(anonymous.body()).doesNotContain("legacy");
    assertThat(storedHash("api_keys", "id", "0123456789abcdef")).startsWith("$2b$");

    Reply devices = platform.as(keyText).get("/api/devices");
    assertThat(devices.status()).as(devices.toString()).isEqualTo(200);
    io.iotmeter.support.Eventually.within(java.time.Duration.ofSeconds(10),
        () -> assertThat(storedHash("api_keys", "id", "0123456789abcdef")).isEqualTo(Secrets.fastHash(keyText)));
    assertThat(platform.as(keyText).get("/api/whoami").body()).contains("legacy");

    MqttClientOptions meter = new MqttClientOptions().setClientId("legacy-meter-1").setCleanSession(true)
        .setUsername("legacy-meter-1").setPassword(password);
    assertThat(TestMeter.connackOf(clients, platform.mqttPort(), meter)).isEqualTo(MqttConnectReturnCode.CONNECTION_ACCEPTED);
    io.iotmeter.support.Eventually.within(java.time.Duration.ofSeconds(10),
        () -> assertThat(storedHash("device_credentials", "device_id", "legacy-meter-1")).isEqualTo(Secrets.fastHash(password)));
    assertThat(TestMeter.connackOf(clients, platform.mqttPort(), meter.setPassword(Secrets.newSecret())))
        .isEqualTo(MqttConnectReturnCode.CONNECTION_REFUSED_BAD_USER_NAME_OR_PASSWORD);
    assertThat(TestMeter.connackOf(clients, platform.mqttPort(), meter.setPassword(password)))
        .isEqualTo(MqttConnectReturnCode.CONNECTION_ACCEPTED);
  }

  private static String storedHash(String table, String column, String id) {
    return TestPostgres.text(platform.postgres(), "SELECT secret_hash FROM " + table + " WHERE " + column + " = '" + id + "'");
  }

  private static double counter(String metrics, String reason) {
    Matcher m = Pattern.compile("^iot_identity_refused_total\\{reason=\"" + reason + "\"[^}]*} (\\S+)$", Pattern.MULTILINE)
        .matcher(metrics);
    assertThat(m.find()).as("iot_identity_refused_total{reason=" + reason + "} in /metrics").isTrue();
    return Double.parseDouble(m.group(1));
  }
}
