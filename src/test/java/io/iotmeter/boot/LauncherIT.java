package io.iotmeter.boot;

import io.iotmeter.support.FreePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The packaged platform as a user runs it: {@code java -jar target/iot-meter.jar run}, the
 * default embedded profile, real signals. Runs after {@code package} (failsafe).
 */
@Timeout(300)
class LauncherIT {

  private static final Path JAR = Path.of("target/iot-meter.jar");
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private Process launch(Path dataDir, int httpPort, Path log, String... extra) throws IOException {
    List<String> command = new java.util.ArrayList<>(List.of("java", "-jar", JAR.toString(), "run", "--data-dir", dataDir.toString()));
    command.addAll(List.of(extra));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().put("IOT_HTTP_PORT", Integer.toString(httpPort));
    builder.environment().put("IOT_HTTP_HOST", "127.0.0.1");
    builder.environment().put("IOT_MQTT_PORT", Integer.toString(FreePorts.next()));
    builder.environment().put("IOT_BRIDGE_TCP_PORT", Integer.toString(FreePorts.next()));
    builder.environment().put("IOT_MQTT_HOST", "127.0.0.1");
    return builder.start();
  }

  /** The admin key the first secured start generated and printed (read from its console output). */
  private String key;

  private HttpResponse<String> call(String method, int port, String path, String body) throws Exception {
    HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
    if (key != null) {
      builder.header("Authorization", "Bearer " + key);
    }
    HttpRequest request = builder
        .timeout(Duration.ofSeconds(5))
        .header("content-type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .build();
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }

  private void awaitReady(Process process, int port, Path log) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline) {
      assertThat(process.isAlive()).as("platform exited early:\n" + Files.readString(log)).isTrue();
      try {
        if (call("GET", port, "/readyz", null).statusCode() == 200) {
          return;
        }
      } catch (IOException notYet) {
        // not listening yet
      }
      Thread.sleep(250);
    }
    throw new AssertionError("not ready within 120 s:\n" + Files.readString(log));
  }

  private static int stopWithSigterm(Process process) throws InterruptedException {
    long start = System.nanoTime();
    process.destroy(); // SIGTERM
    assertThat(process.waitFor(20, TimeUnit.SECONDS)).as("stopped within 20 s of SIGTERM").isTrue();
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
    return process.exitValue();
  }

  @Test
  void startsServesStopsCleanlyAndFindsItsDataAfterARestart(@TempDir Path dir) throws Exception {
    Path dataDir = dir.resolve("data");
    int port = FreePorts.next();
    Path firstLog = dir.resolve("first.log");
    Process first = launch(dataDir, port, firstLog);
    try {
      awaitReady(first, port, firstLog);
      // Secure by default: no key, no API; the key printed once on the console works.
      assertThat(call("GET", port, "/api/devices/dc-meter-001", null).statusCode()).isEqualTo(401);
      java.util.regex.Matcher printed = java.util.regex.Pattern.compile("iot_admin_[A-Za-z0-9_-]{43}").matcher(Files.readString(firstLog));
      assertThat(printed.find()).as("the generated admin key is printed").isTrue();
      key = printed.group();
      assertThat(call("GET", port, "/api/devices/dc-meter-001", null).statusCode()).isEqualTo(200);
      // ... and the simulated meters, which provisioned their own credentials, are online.
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      String status = "";
      while (System.nanoTime() < until && !status.contains("\"online\"")) {
        status = call("GET", port, "/api/devices/dc-meter-001/status", null).body();
        Thread.sleep(500);
      }
      assertThat(status).contains("\"connection_status\":\"online\"");
      assertThat(call("POST", port, "/api/devices", "{\"device_id\":\"persist-1\",\"device_name\":\"Survives restarts\"}").statusCode())
          .isEqualTo(201);
      assertThat(call("POST", port, "/api/devices/persist-1/alerts", "{\"message\":\"kept\"}").statusCode()).isEqualTo(201);
    } finally {
      stopWithSigterm(first);
    }
    String firstOutput = Files.readString(firstLog);
    assertThat(firstOutput).contains("effective configuration").contains("\"password\" : \"****\"").contains("IoT Meter stopped");
    assertThat(dataDir.resolve("postgres/postmaster.pid")).as("the embedded PostgreSQL stopped too").doesNotExist();

    Path secondLog = dir.resolve("second.log");
    Process second = launch(dataDir, port, secondLog);
    try {
      awaitReady(second, port, secondLog);
      HttpResponse<String> device = call("GET", port, "/api/devices/persist-1", null);
      assertThat(device.statusCode()).isEqualTo(200);
      assertThat(device.body()).contains("Survives restarts");
      assertThat(call("GET", port, "/api/devices/persist-1/alerts", null).body()).contains("kept");
    } finally {
      stopWithSigterm(second);
    }
    assertThat(Files.readString(secondLog)).doesNotContain("Applied migration").doesNotContain("iot_admin_");
  }

  @Test
  void aPortInUseIsAOneLineErrorNamingThePort(@TempDir Path dir) throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
      Path log = dir.resolve("busy.log");
      Process process = launch(dir.resolve("data"), taken.getLocalPort(), log);
      assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
      String output = Files.readString(log);
      assertThat(process.exitValue()).as(output).isEqualTo(1);
      assertThat(output).contains("HTTP port " + taken.getLocalPort() + " is already in use").contains("IOT_HTTP_PORT");
      assertThat(output).doesNotContain("\tat io.vertx");
      assertThat(dir.resolve("data/postgres/postmaster.pid")).as("the embedded PostgreSQL was stopped again").doesNotExist();
    }
  }

  @Test
  void badCommandLinesPrintUsage(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("usage.log");
    Process process = launch(dir.resolve("data"), FreePorts.next(), log, "--profile", "production");
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).isEqualTo(2);
    assertThat(Files.readString(log)).contains("Unknown profile 'production'").contains("Usage: iot-meter run");
  }

  @Test
  void theLauncherScriptRunsTheJar() throws Exception {
    Process process = new ProcessBuilder("launcher/iot-meter", "help").redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes());
    assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).as(output).isZero();
    assertThat(output).contains("Usage: iot-meter run");
  }
}
