package io.iotmeter.api;

import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bad and hostile input: every request here must get a 4xx with a JSON error, never a 500,
 * and must leave the registry as it was.
 */
@Timeout(60)
class HostileInputApiTest {

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClass();

  private static void assertRefused(Reply reply, int status, String mentions) {
    assertThat(reply.status()).as(reply.toString()).isEqualTo(status);
    assertThat(reply.contentType()).startsWith("application/json");
    assertThat(reply.error()).as(reply.toString()).isNotBlank();
    if (mentions != null) {
      assertThat(reply.error()).contains(mentions);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"{", "{\"device_id\": }", "not json at all", "[1,2", "{\"a\":1}}", "\"just a string\"", "[]", "42", "null"})
  void malformedOrNonObjectBodies(String body) {
    assertRefused(platform.post("/api/devices", body), 400, null);
    assertRefused(platform.put("/api/devices/dc-meter-001", body), 400, null);
    assertRefused(platform.post("/api/devices/dc-meter-001/commands", body), 400, null);
    assertRefused(platform.put("/api/devices/dc-meter-001/status", body), 400, null);
  }

  @Test
  void wrongJsonTypesNameTheField() {
    assertRefused(platform.post("/api/devices", new JsonObject().put("device_id", 12).put("device_name", "x")), 400, "device_id");
    assertRefused(platform.post("/api/devices", new JsonObject().put("device_id", "ok-1").put("device_name", new JsonArray())), 400, "device_name");
    assertRefused(platform.post("/api/devices", new JsonObject().put("device_id", "ok-1").put("device_name", "x").put("metadata", new JsonArray())), 400, "metadata");
    assertRefused(platform.post("/api/devices", new JsonObject().put("device_id", "ok-1").put("device_name", "x").put("status", true)), 400, "status");
    assertRefused(platform.post("/api/devices", new JsonObject().put("device_id", "ok-1").put("device_name", "x").put("location", 3.5)), 400, "location");
    assertRefused(platform.put("/api/devices/dc-meter-001/status", new JsonObject().put("connection_status", 1)), 400, "connection_status");
    assertRefused(platform.put("/api/devices/dc-meter-001/status", new JsonObject().put("connection_status", "online").put("fw_version", 2)), 400, "fw_version");
    assertRefused(platform.post("/api/devices/dc-meter-001/alerts", new JsonObject().put("alert_type", false)), 400, "alert_type");
    assertThat(platform.get("/api/devices/ok-1").status()).isEqualTo(404);
  }

  @ParameterizedTest
  @ValueSource(strings = {"has/slash", "has space", "plus+sign", "hash#tag", "-leading-dash", "ünïcode", "'; DROP TABLE devices; --"})
  void deviceIdsThatCannotBeTopicsAreRefused(String id) {
    assertRefused(platform.post("/api/devices", new JsonObject().put("device_id", id).put("device_name", "x")), 400, "device_id");
  }

  @Test
  void overlongFieldsAreRefused() {
    assertRefused(platform.post("/api/devices", new JsonObject().put("device_id", "a".repeat(101)).put("device_name", "x")), 400, "device_id");
    assertRefused(platform.post("/api/devices", new JsonObject().put("device_id", "long-1").put("device_name", "n".repeat(256))), 400, "device_name");
  }

  @Test
  void nulCharactersAreRefusedNotPassedToPostgres() {
    assertRefused(platform.post("/api/devices", new JsonObject().put("device_id", "nul-1").put("device_name", "a\u0000b")), 400, "device_name");
    assertRefused(platform.post("/api/devices", new JsonObject().put("device_id", "nul-2").put("device_name", "x")
        .put("metadata", new JsonObject().put("deep", new JsonArray().add("x\u0000")))), 400, "metadata");
    assertRefused(platform.post("/api/devices", new JsonObject().put("device_id", "nul-3").put("device_name", "x")
        .put("metadata", new JsonObject().put("k\u0000", 1))), 400, "metadata");
    assertRefused(platform.post("/api/devices/dc-meter-001/commands", new JsonObject().put("cmd", "update_config")
        .put("params", new JsonObject().put("x\u0000", 1))), 400, "params");
    assertRefused(platform.get("/api/devices?type=a%00b"), 400, "type");
  }

  @Test
  void hostileStringsInPathsAreUnknownIds() {
    for (String path : new String[] {"/api/devices/%00", "/api/devices/%27%20OR%201%3D1--", "/api/devices/..%2F..%2Fetc",
        "/api/devices/" + "x".repeat(3000), "/api/devices/%E2%80%AE", "/api/devices/a%0Ab/status"}) {
      Reply reply = platform.get(path);
      String shown = path.length() > 60 ? path.substring(0, 60) + "..." : path;
      assertThat(reply.status()).as(shown).isIn(400, 404);
      assertThat(reply.json().getString("error")).as(shown).isNotBlank();
    }
    assertThat(platform.get("/api/devices/" + "x".repeat(5000)).status()).as("request line over 4 KiB").isEqualTo(414);
    assertRefused(platform.post("/api/devices/%00/heartbeat", null), 404, null);
    assertRefused(platform.post("/api/devices/%00/commands", new JsonObject().put("cmd", "reboot")), 404, null);
  }

  @Test
  void sqlInjectionInFiltersIsJustText() {
    Reply reply = platform.get("/api/devices?type=" + java.net.URLEncoder.encode("x' OR '1'='1", java.nio.charset.StandardCharsets.UTF_8));
    assertThat(reply.status()).isEqualTo(200);
    assertThat(reply.array()).isEmpty();
    assertThat(platform.get("/api/devices").array().size()).isGreaterThanOrEqualTo(3);
  }

  @Test
  void oversizedBodyIs413() {
    String huge = new JsonObject().put("device_id", "big-1").put("device_name", "x")
        .put("metadata", new JsonObject().put("blob", "z".repeat(70_000))).encode();
    Reply reply = platform.post("/api/devices", huge);
    assertRefused(reply, 413, "limit");
    assertThat(platform.get("/api/devices/big-1").status()).isEqualTo(404);
  }

  @Test
  void unknownRoutesAndMethodsAreJson() {
    assertRefused(platform.get("/api/nothing-here"), 404, null);
    assertRefused(platform.send(HttpMethod.PATCH, "/api/devices/dc-meter-001", "{}"), 405, null);
    assertRefused(platform.delete("/api/stats"), 405, null);
  }

  @Test
  void repeatedQueryParametersAreRefused() {
    assertRefused(platform.get("/api/devices?status=active&status=inactive"), 400, "status");
  }

  @Test
  void hugeNumbersAndDeepJsonDoNotBreakAnything() {
    Reply hugeNumber = platform.post("/api/devices/dc-meter-001/commands", new JsonObject().put("cmd", "update_config")
        .put("params", new JsonObject().put("send_interval_s", new java.math.BigInteger("99999999999999999999999999"))));
    assertRefused(hugeNumber, 400, "send_interval_s");
    Reply fraction = platform.post("/api/devices/dc-meter-001/commands", new JsonObject().put("cmd", "update_config")
        .put("params", new JsonObject().put("send_interval_s", 2.5)));
    assertRefused(fraction, 400, "send_interval_s");
    String deep = "{\"device_id\":\"deep-1\",\"device_name\":\"d\",\"metadata\":" + "{\"a\":".repeat(500) + "1" + "}".repeat(500) + "}";
    Reply deepReply = platform.post("/api/devices", deep);
    assertThat(deepReply.status()).as(deepReply.toString()).isIn(201, 400);
  }

  /**
   * A method is any token a client cares to send: as a metric label it would leave a counter and
   * a timer behind per made-up method. Only known methods become label values (ours and
   * Vert.x's own HTTP metrics); the rest is "other".
   */
  @Test
  void madeUpMethodsLeaveNoSeriesBehind() throws Exception {
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    for (String method : new String[] {"BREWCOFFEE", "XYZZY"}) {
      java.net.http.HttpResponse<String> reply = http.send(java.net.http.HttpRequest.newBuilder(
              java.net.URI.create("http://127.0.0.1:" + platform.httpPort() + "/api/devices"))
          .method(method, java.net.http.HttpRequest.BodyPublishers.noBody()).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(reply.statusCode()).isBetween(400, 499);
    }
    io.iotmeter.support.Eventually.within(java.time.Duration.ofSeconds(10), () -> {
      String metrics = platform.get("/metrics").body();
      assertThat(metrics).doesNotContain("BREWCOFFEE").doesNotContain("XYZZY");
      assertThat(metrics).containsPattern("http_requests_total\\{[^}]*method=\"other\"");
      assertThat(metrics).containsPattern("vertx_http_server_requests_total\\{[^}]*method=\"other\"");
    });
  }
}
