package io.iotmeter.security;

import io.iotmeter.support.RunningPlatform;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A fleet reconnecting at once after the platform restarts, with security on: every meter
 * presents its issued password to a node whose caches are empty, so each CONNECT is a registry
 * lookup and a SHA-256 — never a bcrypt. All of them must be connected within 30 s.
 *
 * <p>CI runs 1,000 meters ({@code -Dstorm.meters} sets the number); the fleet-scale run is
 * {@code mvn -B test -Dtest=ReconnectStormTest -Dstorm.meters=10000} (the README's Security
 * section quotes it). The meters are real MQTT clients in a JVM of their own on the same two cores
 * as the platform they load: the figure is an upper bound of what the platform alone needs.
 */
class ReconnectStormTest {

  private static final int METERS = Integer.getInteger("storm.meters", 1_000);
  private static final long BUDGET_MS = 30_000;

  @Test
  void aFleetReconnectingAtOnceAfterARestartIsConnectedWithin30Seconds() throws Exception {
    JsonObject config = RunningPlatform.securedConfig();
    // The real cost of a configured admin key: the storm must not depend on a cheap hash.
    config.getJsonObject("security").put("hash_cost", 10);
    String[] passwords = new String[METERS];
    Vertx clients = Vertx.vertx();
    try {
      try (RunningPlatform first = RunningPlatform.start(config)) {
        provision(clients, first, passwords);
        config = first.config();
      }
      // The restart: a new node on the same registry, with nothing cached.
      try (RunningPlatform platform = RunningPlatform.start(config)) {
        Storm storm = storm(platform.mqttPort(), passwords);
        System.out.printf("reconnect storm: %,d meters, security on: all connected in %,d ms "
                + "(CONNACK p50 %,d ms, p99 %,d ms, max %,d ms); refused or failed %d%n",
            METERS, storm.allMs(), storm.p50(), storm.p99(), storm.max(), storm.failed());
        assertThat(storm.failures()).as("meters refused or failed (the first 10 of %d)", storm.failed()).isEmpty();
        assertThat(storm.allMs()).as("all %d meters connected within %d ms", METERS, BUDGET_MS).isLessThan(BUDGET_MS);
      }
    } finally {
      clients.close().await();
    }
  }

  /** Registers the meters and issues their passwords through the REST API, 32 requests at a time. */
  private static void provision(Vertx clients, RunningPlatform platform, String[] passwords) {
    WebClient http = WebClient.create(clients, new WebClientOptions().setDefaultHost("127.0.0.1")
        .setDefaultPort(platform.httpPort()), new io.vertx.core.http.PoolOptions().setHttp1MaxSize(32));
    for (int from = 0; from < METERS; from += 32) {
      List<Future<Void>> batch = new ArrayList<>();
      for (int i = from; i < Math.min(METERS, from + 32); i++) {
        int meter = i;
        batch.add(http.post("/api/devices").bearerTokenAuthentication(RunningPlatform.ADMIN_KEY)
            .sendJsonObject(new JsonObject().put("device_id", id(meter)).put("device_name", "Storm meter " + meter))
            .compose(registered -> http.post("/api/devices/" + id(meter) + "/credentials")
                .bearerTokenAuthentication(RunningPlatform.ADMIN_KEY).send())
            .map(issued -> {
              assertThat(issued.statusCode()).as(issued.bodyAsString()).isEqualTo(201);
              passwords[meter] = issued.bodyAsJsonObject().getString("password");
              return null;
            }));
      }
      Future.all(batch).await();
    }
    http.close();
  }

  private record Storm(long allMs, long p50, long p99, long max, int failed, List<String> failures) {
  }

  /**
   * Every meter sends its CONNECT at the same moment, as a fleet does when its broker comes back —
   * from a JVM of their own ({@link ReconnectStormMeters}): 10,000 client sockets and the
   * platform's 10,000 would not fit one process's file limit.
   */
  private static Storm storm(int port, String[] passwords) throws Exception {
    Path credentials = Files.createTempFile("storm-credentials", ".txt");
    StringBuilder lines = new StringBuilder();
    for (int i = 0; i < METERS; i++) {
      lines.append(id(i)).append(' ').append(passwords[i]).append('\n');
    }
    Files.writeString(credentials, lines);
    Process meters = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), ReconnectStormMeters.class.getName(),
        Integer.toString(port), credentials.toString(), Long.toString(BUDGET_MS * 3))
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    try {
      String result = null;
      try (var out = new java.io.BufferedReader(new java.io.InputStreamReader(meters.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line = out.readLine(); line != null; line = out.readLine()) {
          if (line.startsWith("RESULT ")) {
            result = line.substring(7);
          }
        }
      }
      assertThat(meters.waitFor(BUDGET_MS * 4, TimeUnit.MILLISECONDS)).as("the meters' process ended").isTrue();
      assertThat(result).as("the meters' process reported").isNotNull();
      JsonObject json = new JsonObject(result);
      return new Storm(json.getLong("all_ms"), json.getLong("p50_ms"), json.getLong("p99_ms"), json.getLong("max_ms"),
          json.getInteger("failed"), json.getJsonArray("failures").stream().map(String::valueOf).toList());
    } finally {
      meters.destroyForcibly();
      Files.deleteIfExists(credentials);
    }
  }

  private static String id(int meter) {
    return String.format("storm-%05d", meter);
  }
}
