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

  /** A platform shared by the tests of one class: {@code @RegisterExtension static final RunningPlatform platform = perClass();}. */
  public static RunningPlatform perClass() {
    return new RunningPlatform();
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    launch(testConfig());
  }

  @Override
  public void afterAll(ExtensionContext context) {
    close();
  }

  private RunningPlatform launch(JsonObject effective) {
    this.vertx = Main.createVertx(effective);
    this.platform = new Platform(vertx, effective);
    platform.start().await();
    this.http = WebClient.create(vertx, new WebClientOptions()
        .setDefaultHost("127.0.0.1").setDefaultPort(effective.getJsonObject("http").getInteger("port")));
    this.startedConfig = effective;
    return this;
  }

  /** The default configuration of the tests: the API only, on a fresh database. */
  public static JsonObject testConfig() {
    try {
      return new JsonObject()
          .put("data_dir", Files.createTempDirectory("iot-test-data").toString())
          .put("deploy", new JsonObject().put("api", 1))
          .put("http", new JsonObject().put("host", "127.0.0.1").put("port", FreePorts.next()).put("body_limit_bytes", 65536))
          .put("postgres", TestPostgres.freshDatabase())
          .put("commands", new JsonObject().put("publish_timeout_ms", 1000));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
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
    var request = http.request(method, path).putHeader("content-type", "application/json");
    HttpResponse<Buffer> response = (body == null ? request.send()
        : request.sendBuffer(body instanceof String text ? Buffer.buffer(text)
            : body instanceof Buffer buffer ? buffer : Buffer.buffer(io.vertx.core.json.Json.encode(body)))).await();
    return new Reply(response.statusCode(), response.bodyAsString(), response.getHeader("content-type"));
  }

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
