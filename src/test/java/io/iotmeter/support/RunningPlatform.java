package io.iotmeter.support;

import io.iotmeter.Main;
import io.iotmeter.boot.Platform;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The whole platform started in-process, as {@code Main} starts it, against a fresh test
 * database and on a free HTTP port; plus a small blocking HTTP client for readable tests
 * (the test thread is not an event loop, so waiting is fine there).
 *
 * <p>Either started by hand ({@link #start()}, closed by the test) or registered as a JUnit
 * extension ({@link #perClass()}) that starts it before a class's tests and stops it after.
 */
public final class RunningPlatform implements AutoCloseable, BeforeAllCallback, AfterAllCallback {

  private Vertx vertx;
  private Platform platform;
  private WebClient http;
  private JsonObject startedConfig;

  private RunningPlatform() {
  }

  private java.util.function.Supplier<JsonObject> configSupplier = RunningPlatform::testConfig;

  /** A platform shared by the tests of one class: {@code @RegisterExtension static final RunningPlatform platform = perClass();}. */
  public static RunningPlatform perClass() {
    return new RunningPlatform();
  }

  /** Like {@link #perClass()}, with another configuration (e.g. {@link #ingestConfig()}). */
  public static RunningPlatform perClassWith(java.util.function.Supplier<JsonObject> config) {
    RunningPlatform platform = new RunningPlatform();
    platform.configSupplier = config;
    return platform;
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    launch(configSupplier.get());
  }

  @Override
  public void afterAll(ExtensionContext context) {
    close();
  }

  private RunningPlatform launch(JsonObject effective) {
    this.vertx = Main.createVertx(effective).await();
    this.platform = new Platform(vertx, effective);
    platform.start().await();
    WebClientOptions options = new WebClientOptions()
        .setDefaultHost("127.0.0.1").setDefaultPort(effective.getJsonObject("http").getInteger("port"));
    if (effective.getJsonObject("http").getJsonObject("tls", new JsonObject()).getBoolean("enabled", false)) {
      // HTTPS with a certificate the test made: the TLS tests check trust with clients of their own.
      options.setSsl(true).setTrustAll(true).setVerifyHost(false);
    }
    this.http = WebClient.create(vertx, options);
    this.startedConfig = platform.effectiveConfig();
    return this;
  }

  private static JsonObject defaults;

  /** The real defaults ({@code conf/default.yaml}, embedded profile), read once. */
  private static synchronized JsonObject defaults() {
    if (defaults == null) {
      defaults = Profiles.load("embedded");
    }
    return defaults.copy();
  }

  /**
   * The configuration of the API tests: the real defaults with the API only, on a fresh
   * database, free ports, and no other component expected by readiness.
   */
  public static JsonObject testConfig() {
    JsonObject config = withTestServers(defaults());
    config.put("deploy", new JsonObject().put("api", 1));
    config.getJsonObject("readiness").put("components", new JsonArray());
    return config;
  }

  /**
   * The whole default deployment (intake, sinks, lifecycle, MQTT endpoint, API) on test
   * servers — without the simulated meters, so that the tests' own meters are the only ones.
   */
  public static JsonObject ingestConfig() {
    JsonObject config = withTestServers(defaults());
    config.getJsonObject("deploy").put("simulator", 0);
    config.getJsonObject("intake").put("gap_alert_delay_ms", 0).put("gap_scan_interval_ms", 200);
    config.getJsonObject("liveness").put("check_interval_ms", 200);
    config.getJsonObject("commands").put("timeout_scan_ms", 200).put("redelivery_check_ms", 200);
    config.getJsonObject("sinks").forEach(sink -> ((JsonObject) sink.getValue())
        .put("recovery_interval_ms", 500).put("max_backoff_ms", 1000));
    return config;
  }

  /**
   * The embedded profile exactly as a user runs it — its own durable PostgreSQL, S3Proxy and
   * QuestDB under a fresh data directory — only on free ports (for benchmarks).
   */
  public static JsonObject embeddedProfileConfig() {
    JsonObject config = defaults();
    config.getJsonObject("deploy").put("simulator", 0);
    try {
      config.put("data_dir", Files.createTempDirectory("iot-bench-data").toString());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    config.getJsonObject("http").put("host", "127.0.0.1").put("port", FreePorts.next());
    config.getJsonObject("mqtt").put("host", "127.0.0.1").put("port", FreePorts.next());
    config.getJsonObject("bridge").getJsonObject("tcp").put("host", "127.0.0.1").put("port", FreePorts.next());
    return config;
  }

  private static JsonObject withTestServers(JsonObject config) {
    try {
      config.put("data_dir", Files.createTempDirectory("iot-test-data").toString());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    config.getJsonObject("http").put("host", "127.0.0.1").put("port", FreePorts.next());
    config.getJsonObject("mqtt").put("host", "127.0.0.1").put("port", FreePorts.next());
    config.getJsonObject("bridge").getJsonObject("tcp").put("host", "127.0.0.1").put("port", FreePorts.next());
    config.getJsonObject("postgres").mergeIn(TestPostgres.freshDatabase());
    config.getJsonObject("commands").put("publish_timeout_ms", 1000);
    // Archive objects of a tenth of a second, as the archive's batches were before it had a window:
    // the tests see their messages archived at once (the window's effect is the benchmark's).
    config.getJsonObject("sinks").getJsonObject("archive").put("window_s", 0.1);
    // The reference system's open behaviour, which the compatibility tests check; the security
    // tests turn it on (securedConfig).
    config.getJsonObject("security").put("enabled", false)
        // The test servers use the reference's credentials (S3Proxy's minioadmin123).
        .put("allow_default_secrets", true);
    return config;
  }

  /**
   * {@link #securedConfig()} with the three simulated meters (dc-meter-001, dc-meter-002,
   * ac-meter-001) sending a datagram every {@code sendIntervalS} seconds: live data for the
   * dashboard and bridge tests.
   */
  public static JsonObject securedConfigWithMeters(int sendIntervalS) {
    JsonObject config = securedConfig();
    config.getJsonObject("deploy").put("simulator", 1);
    config.getJsonObject("simulator").put("send_interval_s", sendIntervalS);
    return config;
  }

  /** The bootstrap admin key of {@link #securedConfig()}. */
  public static final String ADMIN_KEY = "test-admin-key-0123456789";

  /** {@link #ingestConfig()} with security on, a known admin key and a cheap hash cost (tests only). */
  public static JsonObject securedConfig() {
    JsonObject config = ingestConfig();
    config.getJsonObject("security").put("enabled", true).put("admin_key", ADMIN_KEY).put("hash_cost", 4);
    return config;
  }

  public int httpPort() {
    return startedConfig.getJsonObject("http").getInteger("port");
  }

  /** A new API key with {@code role}, made with the bootstrap admin key of {@link #securedConfig()}. */
  public String newKey(String name, String role) {
    return as(ADMIN_KEY).post("/api/keys", new JsonObject().put("name", name).put("role", role)).json().getString("key");
  }

  public int bridgePort() {
    return startedConfig.getJsonObject("bridge").getJsonObject("tcp").getInteger("port");
  }

  public int mqttPort() {
    return startedConfig.getJsonObject("mqtt").getInteger("port");
  }

  public static RunningPlatform start() {
    return start(testConfig());
  }

  public static RunningPlatform start(JsonObject config) {
    return new RunningPlatform().launch(config);
  }

  public Vertx vertx() {
    return vertx;
  }

  public JsonObject config() {
    return startedConfig;
  }

  public JsonObject postgres() {
    return startedConfig.getJsonObject("postgres");
  }

  public Reply get(String path) {
    return send(HttpMethod.GET, path, null);
  }

  public Reply delete(String path) {
    return send(HttpMethod.DELETE, path, null);
  }

  public Reply post(String path, Object body) {
    return send(HttpMethod.POST, path, body);
  }

  public Reply put(String path, Object body) {
    return send(HttpMethod.PUT, path, body);
  }

  /** Sends a request; a String body goes as is (for broken JSON), anything else as JSON. */
  public Reply send(HttpMethod method, String path, Object body) {
    return send(method, path, body, null);
  }

  /** The same requests with {@code Authorization: Bearer <key>} (null: none). */
  public final class As {
    private final String key;

    private As(String key) {
      this.key = key;
    }

    public Reply get(String path) {
      return RunningPlatform.this.send(HttpMethod.GET, path, null, key);
    }

    public Reply post(String path, Object body) {
      return RunningPlatform.this.send(HttpMethod.POST, path, body, key);
    }

    public Reply put(String path, Object body) {
      return RunningPlatform.this.send(HttpMethod.PUT, path, body, key);
    }

    public Reply delete(String path) {
      return RunningPlatform.this.send(HttpMethod.DELETE, path, null, key);
    }

    public Reply send(HttpMethod method, String path, Object body) {
      return RunningPlatform.this.send(method, path, body, key);
    }
  }

  public As as(String key) {
    return new As(key);
  }

  /**
   * The provisioning path, as the bootstrap admin ({@link #ADMIN_KEY}): registers the device
   * unless it is (the reference seeds three), issues its credentials and returns the password.
   */
  public String issueDeviceCredentials(String deviceId) {
    As admin = as(ADMIN_KEY);
    Reply registered = admin.post("/api/devices", new JsonObject().put("device_id", deviceId).put("device_name", deviceId));
    org.assertj.core.api.Assertions.assertThat(registered.status()).as(registered.toString()).isIn(201, 409);
    Reply issued = admin.post("/api/devices/" + deviceId + "/credentials", null);
    org.assertj.core.api.Assertions.assertThat(issued.status()).as(issued.toString()).isEqualTo(201);
    org.assertj.core.api.Assertions.assertThat(issued.json().getString("username")).isEqualTo(deviceId);
    return issued.json().getString("password");
  }

  public Reply send(HttpMethod method, String path, Object body, String key) {
    var request = http.request(method, path).putHeader("content-type", "application/json");
    if (key != null) {
      request.putHeader("Authorization", "Bearer " + key);
    }
    HttpResponse<Buffer> response = (body == null ? request.send()
        : request.sendBuffer(body instanceof String text ? Buffer.buffer(text)
            : body instanceof Buffer buffer ? buffer : Buffer.buffer(io.vertx.core.json.Json.encode(body)))).await();
    lastHeaders = response.headers();
    return new Reply(response.statusCode(), response.bodyAsString(), response.getHeader("content-type"));
  }

  /** A header of the last answer this platform's client received (tests run their requests one at a time). */
  public String lastHeader(String name) {
    return lastHeaders == null ? null : lastHeaders.get(name);
  }

  private volatile io.vertx.core.MultiMap lastHeaders;

  @Override
  public void close() {
    if (platform != null) {
      http.close();
      platform.stop().eventually(vertx::close).await();
      platform = null;
    }
  }

  /** An HTTP answer. */
  public record Reply(int status, String body, String contentType) {

    public JsonObject json() {
      return new JsonObject(body);
    }

    public JsonArray array() {
      return new JsonArray(body);
    }

    public String error() {
      return json().getString("error");
    }

    @Override
    public String toString() {
      return status + " " + body;
    }
  }
}
