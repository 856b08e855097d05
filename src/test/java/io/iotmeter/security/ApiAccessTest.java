package io.iotmeter.security;

import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The REST API with security on: every role against every route (the table is
 * {@link AccessRules}; a route mounted without a rule stops the API from starting), API keys
 * created, listed without secrets and deleted with immediate effect, and JSON bodies only.
 */
@Timeout(120)
class ApiAccessTest {

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClassWith(() -> {
    JsonObject config = RunningPlatform.securedConfig();
    config.put("debug", new JsonObject().put("bus_tap", true));
    // A component that runs nowhere: /readyz fails, and says why only to a caller with a key.
    config.getJsonObject("readiness").getJsonArray("components").add("ghost");
    config.getJsonObject("http").put("cors", new JsonObject().put("allowed_origins", new io.vertx.core.json.JsonArray()
        .add("https://ops.example.com")));
    return config;
  });

  private static final Map<Role, String> KEYS = new EnumMap<>(Role.class);

  @BeforeAll
  static void keys() {
    KEYS.put(Role.ADMIN, RunningPlatform.ADMIN_KEY);
    for (Role role : List.of(Role.VIEWER, Role.OPERATOR)) {
      Reply created = platform.as(RunningPlatform.ADMIN_KEY).post("/api/keys",
          new JsonObject().put("name", role.wireName() + "-test").put("role", role.wireName()));
      assertThat(created.status()).as(created.toString()).isEqualTo(201);
      KEYS.put(role, created.json().getString("key"));
    }
  }

  private static String concrete(String template) {
    // Ids that exist nowhere: every call is answered by its handler (404, 400) without changing anything.
    return template.replace(":id", "acl-no-such-device").replace(":cmd_id", "00000000-0000-0000-0000-000000000000")
        .replace(":alert_id", "999999").replace(":qid", "999999").replace(":key_id", "nosuchkey")
        .replace(":period_start", "2026-02-12T10:00:00Z").replace(":train_id", "acl-no-such-train");
  }

  @Test
  void everyRoleAgainstEveryRoute() {
    List<String> wrong = new ArrayList<>();
    for (AccessRules.Rule rule : AccessRules.HTTP) {
      String path = concrete(rule.path());
      Object body = rule.method() == HttpMethod.POST || rule.method() == HttpMethod.PUT ? new JsonObject() : null;
      boolean stream = rule.path().equals("/debug/bus"); // an admitted call opens an endless stream
      Reply anonymous = platform.send(rule.method(), path, body);
      if (rule.access() == Access.PUBLIC) {
        check(wrong, rule, "no key", anonymous.status() != 401 && anonymous.status() != 403, anonymous);
      } else {
        check(wrong, rule, "no key", anonymous.status() == 401 && anonymous.json().containsKey("error")
            && "Bearer realm=\"iot-meter\"".equals(platform.lastHeader("WWW-Authenticate")), anonymous);
      }
      for (Role role : Role.values()) {
        boolean allowed = rule.access().allows(role);
        if (allowed && stream) {
          continue;
        }
        Reply reply = platform.as(KEYS.get(role)).send(rule.method(), path, body);
        if (allowed) {
          // Answered by the route's own handler: neither refused nor unknown to the router.
          check(wrong, rule, role.wireName(), reply.status() != 401 && reply.status() != 403 && reply.status() != 405
              && !reply.body().equals("{\"error\":\"Not found\"}"), reply);
        } else {
          check(wrong, rule, role.wireName(), reply.status() == 403 && reply.json().getString("error").contains("needs the "
              + rule.access().least().wireName() + " role"), reply);
        }
      }
    }
    assertThat(wrong).isEmpty();
  }

  private static void check(List<String> wrong, AccessRules.Rule rule, String who, boolean ok, Reply reply) {
    if (!ok) {
      wrong.add(rule.method() + " " + rule.path() + " as " + who + " -> " + reply.status() + " " + reply.body());
    }
  }

  @Test
  void aKeyIsShownOnceListedWithoutItsSecretAndStopsWorkingWhenDeleted() {
    var admin = platform.as(RunningPlatform.ADMIN_KEY);
    Reply created = admin.post("/api/keys", new JsonObject().put("name", "dashboard").put("role", "viewer"));
    assertThat(created.status()).isEqualTo(201);
    JsonObject key = created.json();
    assertThat(key.fieldNames()).containsExactlyInAnyOrder("id", "name", "role", "key", "created_at");
    assertThat(key.getString("key")).startsWith("iot_" + key.getString("id") + "_");
    assertThat(platform.as(key.getString("key")).get("/api/devices").status()).isEqualTo(200);

    Reply listed = admin.get("/api/keys");
    assertThat(listed.status()).isEqualTo(200);
    assertThat(listed.body()).doesNotContain(key.getString("key")).doesNotContain("secret").doesNotContain("hash");
    assertThat(listed.array().stream().map(o -> ((JsonObject) o).getString("name"))).contains("dashboard", "bootstrap admin");
    assertThat(TestPostgresCount.keysStoredInClear(platform, key.getString("key"))).isZero();

    assertThat(admin.delete("/api/keys/" + key.getString("id")).status()).isEqualTo(200);
    Reply after = platform.as(key.getString("key")).get("/api/devices");
    assertThat(after.status()).as("the cached key is forgotten at once").isEqualTo(401);
    assertThat(admin.delete("/api/keys/" + key.getString("id")).status()).isEqualTo(404);
  }

  @Test
  void missingUnknownAndMalformedKeysAre401AndBadRolesAre400() {
    Reply none = platform.get("/api/devices");
    assertThat(none.status()).isEqualTo(401);
    assertThat(none.json().getString("error")).contains("Authorization: Bearer");
    assertThat(platform.as("iot_0123456789abcdef_guess").get("/api/devices").status()).isEqualTo(401);
    assertThat(platform.as("not-a-key").get("/api/devices").status()).isEqualTo(401);
    Reply badRole = platform.as(RunningPlatform.ADMIN_KEY).post("/api/keys", new JsonObject().put("name", "x").put("role", "root"));
    assertThat(badRole.status()).isEqualTo(400);
    assertThat(badRole.json().getString("error")).contains("viewer, operator, admin");
  }

  @Test
  void aBodyThatIsNotJsonIs415() {
    WebClient client = WebClient.create(platform.vertx());
    try {
      var response = client.post(platform.config().getJsonObject("http").getInteger("port"), "127.0.0.1", "/api/keys")
          .putHeader("Authorization", "Bearer " + RunningPlatform.ADMIN_KEY).putHeader("Content-Type", "text/plain")
          .sendBuffer(Buffer.buffer("{\"name\":\"x\",\"role\":\"viewer\"}")).await();
      assertThat(response.statusCode()).isEqualTo(415);
      assertThat(response.bodyAsJsonObject().getString("error")).contains("application/json");
    } finally {
      client.close();
    }
  }

  @Test
  void probesAndMetricsStayOpenAndReadinessExplainsOnlyToACaller() {
    assertThat(platform.get("/healthz").status()).isEqualTo(200);
    assertThat(platform.get("/metrics").status()).isEqualTo(200);
    assertThat(platform.get("/metrics").body()).doesNotContain(RunningPlatform.ADMIN_KEY);
    Reply open = platform.get("/readyz");
    assertThat(open.status()).isEqualTo(503);
    assertThat(open.json().getJsonArray("failed").getList()).containsExactly("ghost");
    assertThat(open.body()).doesNotContain("reason").doesNotContain("not running");
    Reply explained = platform.as(KEYS.get(Role.VIEWER)).get("/readyz");
    assertThat(explained.status()).isEqualTo(503);
    assertThat(explained.body()).contains("\"reason\":\"ghost is not running\"");
  }

  @Test
  void stateChangingCallsAreAuditedAndCommandsNameTheirIssuer() {
    var operator = platform.as(KEYS.get(Role.OPERATOR));
    assertThat(operator.post("/api/devices/dc-meter-001/heartbeat", null).status()).isEqualTo(200);
    assertThat(platform.as(KEYS.get(Role.VIEWER)).post("/api/devices/dc-meter-001/heartbeat", null).status()).isEqualTo(403);
    Reply command = operator.post("/api/devices/dc-meter-001/commands", new JsonObject().put("cmd", "request_status"));
    assertThat(command.status()).isIn(201, 202);
    Reply stored = operator.get("/api/commands/" + command.json().getString("cmd_id"));
    assertThat(stored.json().getString("issued_by")).isEqualTo("operator-test");

    Reply audit = Eventually.value(Duration.ofSeconds(10), () -> platform.as(RunningPlatform.ADMIN_KEY).get("/api/audit?limit=50"),
        r -> r.array().stream().anyMatch(o -> ((JsonObject) o).getString("route").equals("/api/devices/:id/commands")));
    List<JsonObject> records = audit.array().stream().map(o -> (JsonObject) o).toList();
    JsonObject heartbeat = records.stream().filter(r -> r.getString("route").equals("/api/devices/:id/heartbeat")
        && r.getInteger("status") == 200).findFirst().orElseThrow();
    assertThat(heartbeat.getString("actor")).isEqualTo("operator-test");
    assertThat(heartbeat.getString("key_id")).isNotBlank();
    assertThat(heartbeat.getString("method")).isEqualTo("POST");
    assertThat(heartbeat.getString("path")).isEqualTo("/api/devices/dc-meter-001/heartbeat");
    assertThat(heartbeat.getString("remote")).isEqualTo("127.0.0.1");
    assertThat(heartbeat.getString("at")).isNotBlank();
    assertThat(records).anyMatch(r -> r.getString("actor").equals("viewer-test") && r.getInteger("status") == 403);
    assertThat(records.stream().map(r -> r.getLong("id")).toList()).isSortedAccordingTo(java.util.Comparator.reverseOrder());
    // Reads are not audited, but for the bus tap's (/debug/*: it shows live traffic).
    assertThat(records).noneMatch(r -> r.getString("method").equals("GET") && !r.getString("route").startsWith("/debug/"));
  }

  @Test
  void commandsThatPointMetersElsewhereAreRefused() {
    var operator = platform.as(KEYS.get(Role.OPERATOR));
    Reply rogueBroker = operator.post("/api/devices/dc-meter-001/commands", new JsonObject().put("cmd", "update_config")
        .put("params", new JsonObject().put("brokers", new io.vertx.core.json.JsonArray()
            .add(new JsonObject().put("host", "evil.example.com").put("port", 1883)))));
    assertThat(rogueBroker.status()).isEqualTo(400);
    assertThat(rogueBroker.json().getString("error")).contains("evil.example.com:1883 is not an allowed broker");
    Reply ownBroker = operator.post("/api/devices/dc-meter-001/commands", new JsonObject().put("cmd", "update_config")
        .put("params", new JsonObject().put("brokers", new io.vertx.core.json.JsonArray()
            .add(new JsonObject().put("host", "127.0.0.1").put("port", platform.mqttPort())))));
    assertThat(ownBroker.status()).as(ownBroker.toString()).isIn(201, 202);
    JsonObject ota = new JsonObject().put("fw_version", "2.0.0").put("fw_sha256", "a".repeat(64)).put("fw_size_bytes", 1000);
    Reply rogueFirmware = operator.post("/api/devices/dc-meter-001/commands", new JsonObject().put("cmd", "start_ota")
        .put("params", ota.copy().put("fw_url", "https://evil.example.com/fw.bin")));
    assertThat(rogueFirmware.status()).isEqualTo(400);
    assertThat(rogueFirmware.json().getString("error")).contains("evil.example.com is not an allowed firmware host");
    Reply listedFirmware = operator.post("/api/devices/dc-meter-001/commands", new JsonObject().put("cmd", "start_ota")
        .put("params", ota.copy().put("fw_url", "https://ota.example.com/fw-2.0.0.bin")));
    assertThat(listedFirmware.status()).as(listedFirmware.toString()).isIn(201, 202);
  }

  @Test
  void repeatedWrongKeysFromOneAddressAreAnsweredLater() {
    for (int i = 0; i < FailedLogins.FREE; i++) {
      assertThat(platform.as("iot_0000000000000000_wrong" + i).get("/api/stats").status()).isEqualTo(401);
    }
    long started = System.nanoTime();
    assertThat(platform.as("iot_0000000000000000_wrong").get("/api/stats").status()).isEqualTo(401);
    assertThat(platform.as("iot_0000000000000000_wrong").get("/api/stats").status()).isEqualTo(401);
    assertThat(Duration.ofNanos(System.nanoTime() - started)).as("250 ms, then 500 ms").isGreaterThanOrEqualTo(Duration.ofMillis(700));
    // A good key clears the address.
    assertThat(platform.as(RunningPlatform.ADMIN_KEY).get("/api/stats").status()).isEqualTo(200);
    long again = System.nanoTime();
    assertThat(platform.as("iot_0000000000000000_wrong").get("/api/stats").status()).isEqualTo(401);
    assertThat(Duration.ofNanos(System.nanoTime() - again)).isLessThan(Duration.ofMillis(250));
  }

  @Test
  void onlyListedWebOriginsMayCallFromABrowser() {
    WebClient client = WebClient.create(platform.vertx());
    int port = platform.config().getJsonObject("http").getInteger("port");
    try {
      var allowed = client.request(HttpMethod.OPTIONS, port, "127.0.0.1", "/api/devices").putHeader("Origin", "https://ops.example.com")
          .putHeader("Access-Control-Request-Method", "GET").putHeader("Access-Control-Request-Headers", "authorization").send().await();
      assertThat(allowed.getHeader("Access-Control-Allow-Origin")).isEqualTo("https://ops.example.com");
      var other = client.request(HttpMethod.OPTIONS, port, "127.0.0.1", "/api/devices").putHeader("Origin", "https://evil.example.com")
          .putHeader("Access-Control-Request-Method", "GET").send().await();
      assertThat(other.getHeader("Access-Control-Allow-Origin")).isNull();
    } finally {
      client.close();
    }
  }
}
