package io.iotmeter.ops;

import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The bus tap with security on: it never shows a secret (API keys, device passwords, issued
 * credentials, broker provisioning), a stream ends when the key that opened it is deleted, and
 * every look at /debug/* is audited.
 */
@Timeout(120)
class SecuredBusTapTest {

  private static final Duration WAIT = Duration.ofSeconds(10);

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClassWith(() -> {
    JsonObject config = RunningPlatform.securedConfig();
    config.getJsonObject("debug").put("bus_tap", true).put("max_streams", 3);
    return config;
  });

  private static int httpPort() {
    return platform.httpPort();
  }

  @Test
  void secretsOnTheBusAreMaskedInTheTap() {
    try (TapStreamClient identity = TapStreamClient.open(httpPort(), "address=iot.identity.*&rate=1000",
        RunningPlatform.ADMIN_KEY)) {
      assertThat(identity.status()).isEqualTo(200);
      Reply key = platform.as(RunningPlatform.ADMIN_KEY).post("/api/keys", new JsonObject().put("name", "tapped").put("role", "viewer"));
      String secretKey = key.json().getString("key");
      assertThat(platform.as(secretKey).get("/api/devices").status()).isEqualTo(200); // a verify request with the key
      Reply issued = platform.as(RunningPlatform.ADMIN_KEY).post("/api/devices/dc-meter-001/credentials", null);
      String password = issued.json().getString("password");

      List<JsonObject> events = Eventually.settled(WAIT, Duration.ofMillis(1500), identity::messages,
          list -> list.stream().filter(e -> e.getValue("body") instanceof JsonObject).count() >= 4);
      String shown = events.toString();
      assertThat(shown).doesNotContain(secretKey).doesNotContain(password).doesNotContain(RunningPlatform.ADMIN_KEY);
      assertThat(events).anyMatch(e -> e.getString("kind").equals("reply") && e.getJsonObject("body").getString("key", "").equals("***"));
      assertThat(events).anyMatch(e -> e.getJsonObject("body").getString("password", "").equals("***"));
    }
  }

  @Test
  void aStreamEndsWhenItsKeyIsDeletedAndEveryLookIsAudited() {
    Reply created = platform.as(RunningPlatform.ADMIN_KEY).post("/api/keys", new JsonObject().put("name", "tap-admin").put("role", "admin"));
    String key = created.json().getString("key");
    try (TapStreamClient stream = TapStreamClient.open(httpPort(), "address=iot.live.*", key)) {
      assertThat(stream.status()).isEqualTo(200);
      assertThat(platform.as(RunningPlatform.ADMIN_KEY).delete("/api/keys/" + created.json().getString("id")).status()).isEqualTo(200);
      Eventually.within(WAIT, () -> assertThat(stream.events("closed")).hasSize(1));
      assertThat(stream.events("closed").get(0).getString("reason")).contains("deleted");
    }
    assertThat(platform.as(RunningPlatform.ADMIN_KEY).get("/debug/addresses").status()).isEqualTo(200);
    try (TapStreamClient refused = TapStreamClient.open(httpPort(), "address=iot.live.*", "iot_0000000000000000_" + "A".repeat(43))) {
      assertThat(refused.status()).isEqualTo(401);
    }
    Eventually.within(WAIT, () -> {
      assertThat(TestPostgres.count(platform.postgres(), "SELECT count(*) FROM audit_log WHERE method = 'GET' "
          + "AND route = '/debug/bus' AND actor = 'tap-admin' AND status = 200")).isEqualTo(1);
      assertThat(TestPostgres.count(platform.postgres(), "SELECT count(*) FROM audit_log WHERE method = 'GET' "
          + "AND route = '/debug/bus' AND status = 401")).isEqualTo(1);
      assertThat(TestPostgres.count(platform.postgres(), "SELECT count(*) FROM audit_log WHERE method = 'GET' "
          + "AND route = '/debug/addresses' AND status = 200")).isEqualTo(1);
    });
  }
}
