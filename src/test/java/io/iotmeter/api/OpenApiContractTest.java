package io.iotmeter.api;

import io.iotmeter.security.AccessRules;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.TestMeter;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.openapi.contract.OpenAPIContract;
import io.vertx.openapi.contract.Operation;
import io.vertx.openapi.validation.ResponseValidator;
import io.vertx.openapi.validation.ValidatableResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The OpenAPI document against the running API: every route the API mounts has an operation
 * (and no operation names a route that does not exist), and the answers of real calls — to every
 * operation, successes and refusals — validate against it (vertx-openapi).
 */
@Timeout(120)
class OpenApiContractTest {

  private static RunningPlatform platform;
  private static OpenAPIContract contract;
  private static ResponseValidator validator;
  private static final Vertx devices = Vertx.vertx();
  private static final Set<String> validated = new TreeSet<>();

  @BeforeAll
  static void start() {
    JsonObject config = RunningPlatform.securedConfig();
    config.put("debug", new JsonObject().put("bus_tap", true));
    platform = RunningPlatform.start(config);
    contract = OpenAPIContract.from(platform.vertx(), "src/main/resources/openapi.yaml").await();
    validator = ResponseValidator.create(platform.vertx(), contract);
  }

  @AfterAll
  static void stop() {
    platform.close();
    devices.close().await();
  }

  private static String openApiPath(String route) {
    return route.replaceAll(":([a-z_]+)", "{$1}");
  }

  @Test
  void everyRouteHasAnOperationAndEveryOperationARoute() {
    Set<String> routes = AccessRules.HTTP.stream().map(r -> r.method() + " " + openApiPath(r.path())).collect(Collectors.toCollection(TreeSet::new));
    Set<String> operations = contract.operations().stream().map(o -> o.getHttpMethod() + " " + o.getOpenAPIPath())
        .collect(Collectors.toCollection(TreeSet::new));
    assertThat(operations).isEqualTo(routes);
  }

  /** Validates one real answer against the operation of its route. */
  private static void check(HttpMethod method, String route, Reply reply) {
    Operation operation = contract.findOperation(route.replaceAll(":([a-z_]+)", "x"), method);
    assertThat(operation).as(method + " " + route).isNotNull();
    Map<String, String> headers = new java.util.HashMap<>();
    if (reply.status() == 401) {
      headers.put("WWW-Authenticate", "Bearer");
    }
    ValidatableResponse response = ValidatableResponse.create(reply.status(), headers,
        reply.body() == null ? null : Buffer.buffer(reply.body()), reply.contentType() == null ? null : reply.contentType().split(";")[0]);
    try {
      validator.validate(response, operation.getOperationId()).await();
    } catch (Exception e) {
      throw new AssertionError(method + " " + route + " -> " + reply.status() + " " + reply.body() + ": " + e.getMessage(), e);
    }
    validated.add(operation.getOperationId() + " " + reply.status());
  }

  @Test
  void realAnswersOfEveryOperationMatchTheDocument() {
    var admin = platform.as(RunningPlatform.ADMIN_KEY);
    check(HttpMethod.GET, "/health", platform.get("/health"));
    check(HttpMethod.GET, "/healthz", platform.get("/healthz"));
    check(HttpMethod.GET, "/readyz", Eventually.value(Duration.ofSeconds(20), () -> admin.get("/readyz"), r -> r.status() == 200));
    check(HttpMethod.GET, "/openapi.json", platform.get("/openapi.json"));
    check(HttpMethod.GET, "/api/devices", platform.get("/api/devices"));
    check(HttpMethod.GET, "/api/whoami", admin.get("/api/whoami"));
    check(HttpMethod.GET, "/api/whoami", platform.get("/api/whoami"));
    check(HttpMethod.GET, "/api/alerts", admin.get("/api/alerts?acknowledged=false&limit=5"));
    check(HttpMethod.GET, "/api/alerts", admin.get("/api/alerts?limit=0"));
    check(HttpMethod.GET, "/api/devices", admin.get("/api/devices?limit=abc"));
    check(HttpMethod.GET, "/api/devices", admin.get("/api/devices"));
    check(HttpMethod.POST, "/api/devices", admin.post("/api/devices", new JsonObject().put("device_id", "oa-meter-1")
        .put("device_name", "Contract meter").put("metadata", new JsonObject().put("train_id", "9000"))));
    check(HttpMethod.POST, "/api/devices", admin.post("/api/devices", new JsonObject().put("device_id", "oa-meter-1").put("device_name", "x")));
    check(HttpMethod.POST, "/api/devices", admin.post("/api/devices", new JsonObject()));
    check(HttpMethod.GET, "/api/devices/:id", admin.get("/api/devices/oa-meter-1"));
    check(HttpMethod.GET, "/api/devices/:id", admin.get("/api/devices/nobody"));
    check(HttpMethod.PUT, "/api/devices/:id", admin.put("/api/devices/oa-meter-1", new JsonObject().put("location", "depot")));
    check(HttpMethod.POST, "/api/devices/:id/heartbeat", admin.post("/api/devices/oa-meter-1/heartbeat", null));
    check(HttpMethod.GET, "/api/devices/:id/status", admin.get("/api/devices/oa-meter-1/status"));
    check(HttpMethod.PUT, "/api/devices/:id/status", admin.put("/api/devices/oa-meter-1/status",
        new JsonObject().put("connection_status", "online")));
    String password = admin.post("/api/devices/dc-meter-001/credentials", null).json().getString("password");
    check(HttpMethod.POST, "/api/devices/:id/credentials", admin.post("/api/devices/oa-meter-1/credentials", null));
    try (TestMeter meter = TestMeter.connect(devices, platform.mqttPort(), new io.vertx.mqtt.MqttClientOptions()
        .setClientId("dc-meter-001").setUsername("dc-meter-001").setPassword(password))) {
      meter.send("iot/dc-meter-001/telemetry", Datagrams.telemetry("dc-meter-001", 0), 1);
    }
    String metrics = "/api/devices/dc-meter-001/metrics?start=2026-02-12T09:00:00Z&stop=2026-02-12T12:00:00Z";
    check(HttpMethod.GET, "/api/devices/:id/metrics", Eventually.value(Duration.ofSeconds(20), () -> admin.get(metrics),
        r -> r.array().size() >= 3));
    check(HttpMethod.GET, "/api/devices/:id/metrics", admin.get("/api/devices/oa-meter-1/metrics"));
    check(HttpMethod.GET, "/api/devices/:id/metrics", admin.get(metrics + "&limit=0"));
    check(HttpMethod.GET, "/api/devices/:id/raw-data", Eventually.value(Duration.ofSeconds(20),
        () -> admin.get("/api/devices/dc-meter-001/raw-data"), r -> !r.array().isEmpty()));
    // The datagram above, measured long ago, is compiled into an energy period once it has settled.
    String energy = "/api/devices/dc-meter-001/energy-periods?start=2026-02-12T09:00:00Z&stop=2026-02-12T12:00:00Z";
    Reply periods = Eventually.value(Duration.ofSeconds(40), () -> admin.get(energy), r -> r.array().size() == 1);
    check(HttpMethod.GET, "/api/devices/:id/energy-periods", periods);
    check(HttpMethod.GET, "/api/devices/:id/energy-periods", admin.get("/api/devices/dc-meter-001/energy-periods?start=tomorrow"));
    String periodStart = periods.array().getJsonObject(0).getString("period_start");
    check(HttpMethod.GET, "/api/devices/:id/energy-periods/:period_start/versions",
        admin.get("/api/devices/dc-meter-001/energy-periods/" + periodStart + "/versions"));
    check(HttpMethod.GET, "/api/devices/:id/energy-periods/:period_start/versions",
        admin.get("/api/devices/dc-meter-001/energy-periods/2020-01-01T00:00:00Z/versions"));
    check(HttpMethod.GET, "/api/energy/export", admin.get("/api/energy/export?date=2026-02-12"));
    check(HttpMethod.GET, "/api/energy/export", admin.get("/api/energy/export?since=-1"));
    check(HttpMethod.GET, "/api/energy/completeness", admin.get("/api/energy/completeness?date=2026-02-12"));
    check(HttpMethod.GET, "/api/energy/completeness", admin.get("/api/energy/completeness?date=12.02.2026"));
    check(HttpMethod.GET, "/api/trains/:train_id/energy", admin.get("/api/trains/ICE-1/energy?date=2026-02-12"));
    check(HttpMethod.GET, "/api/trains/:train_id/energy", admin.get("/api/trains/%20/energy"));
    check(HttpMethod.POST, "/api/devices/:id/alerts", admin.post("/api/devices/oa-meter-1/alerts", new JsonObject().put("message", "check")));
    Reply alerts = admin.get("/api/devices/oa-meter-1/alerts");
    check(HttpMethod.GET, "/api/devices/:id/alerts", alerts);
    check(HttpMethod.POST, "/api/alerts/:alert_id/acknowledge", admin.post("/api/alerts/" + alerts.array().getJsonObject(0).getInteger("id")
        + "/acknowledge", null));
    Reply sent = admin.post("/api/devices/oa-meter-1/commands", new JsonObject().put("cmd", "request_status"));
    check(HttpMethod.POST, "/api/devices/:id/commands", sent);
    check(HttpMethod.POST, "/api/devices/:id/commands", admin.post("/api/devices/oa-meter-1/commands", new JsonObject().put("cmd", "fly")));
    check(HttpMethod.GET, "/api/devices/:id/commands", admin.get("/api/devices/oa-meter-1/commands"));
    String cmdId = sent.json().getString("cmd_id");
    check(HttpMethod.GET, "/api/commands/:cmd_id", admin.get("/api/commands/" + cmdId));
    check(HttpMethod.PUT, "/api/commands/:cmd_id/ack", admin.put("/api/commands/" + cmdId + "/ack",
        new JsonObject().put("result", "accepted").put("detail", "ok")));
    check(HttpMethod.GET, "/api/stats", admin.get("/api/stats"));
    check(HttpMethod.GET, "/api/quarantine", admin.get("/api/quarantine"));
    check(HttpMethod.GET, "/api/quarantine/:qid", admin.get("/api/quarantine/999999"));
    check(HttpMethod.POST, "/api/quarantine/:qid/replay", admin.post("/api/quarantine/999999/replay", null));
    Reply key = admin.post("/api/keys", new JsonObject().put("name", "contract").put("role", "viewer"));
    check(HttpMethod.POST, "/api/keys", key);
    check(HttpMethod.GET, "/api/keys", admin.get("/api/keys"));
    check(HttpMethod.GET, "/api/devices", platform.as(key.json().getString("key")).get("/api/devices"));
    check(HttpMethod.POST, "/api/devices", platform.as(key.json().getString("key")).post("/api/devices", new JsonObject()));
    check(HttpMethod.DELETE, "/api/keys/:key_id", admin.delete("/api/keys/" + key.json().getString("id")));
    check(HttpMethod.DELETE, "/api/devices/:id/credentials", admin.delete("/api/devices/oa-meter-1/credentials"));
    check(HttpMethod.GET, "/api/audit", admin.get("/api/audit?limit=5"));
    check(HttpMethod.GET, "/debug/addresses", admin.get("/debug/addresses"));
    check(HttpMethod.DELETE, "/api/devices/:id", admin.delete("/api/devices/oa-meter-1"));
    Reply page = platform.get("/docs");
    assertThat(page.status()).isEqualTo(200);
    assertThat(page.body()).contains("/docs/assets/swagger-ui-bundle.js");
    assertThat(platform.get("/docs/assets/swagger-ui-bundle.js").status()).isEqualTo(200);
    // Every operation but the endless bus stream was answered at least once.
    Set<String> answered = validated.stream().map(v -> v.split(" ")[0]).collect(Collectors.toSet());
    List<String> missing = new ArrayList<>();
    contract.operations().forEach(o -> {
      if (!answered.contains(o.getOperationId()) && !Set.of("debugBus", "apiDocs").contains(o.getOperationId())) {
        missing.add(o.getOperationId());
      }
    });
    assertThat(missing).isEmpty();
  }
}
