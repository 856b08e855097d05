package io.iotmeter.ops;

import io.iotmeter.support.Eventually;
import io.iotmeter.support.FreePorts;
import io.iotmeter.support.RunningPlatform;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code iot-meter tap} against a running platform and against nothing. */
@Timeout(60)
class BusTapClientTest {

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClassWith(BusTapClientTest::apiWithTap);

  /** The API alone with the tap on: the test itself is the only sender on the bus. */
  static JsonObject apiWithTap() {
    JsonObject config = BusTapTest.apiOnly();
    config.getJsonObject("debug").put("bus_tap", true);
    return config;
  }

  static String url() {
    return "http://127.0.0.1:" + platform.config().getJsonObject("http").getInteger("port");
  }

  /** What a run printed, and how it ended. */
  record Output(int exitCode, List<String> out, String err) {
  }

  static Output run(java.util.function.BiFunction<PrintStream, PrintStream, Integer> command) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit = command.apply(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Output(exit, out.toString(StandardCharsets.UTF_8).lines().toList(), err.toString(StandardCharsets.UTF_8));
  }

  private static int openStreams() {
    return platform.get("/debug/addresses").json().getJsonObject("streams").getInteger("open");
  }

  @Test
  void printsEachMatchingMessageOnOneLine() throws Exception {
    CompletableFuture<Output> tap = CompletableFuture.supplyAsync(() -> run((out, err) ->
        BusTapClient.run(new String[] {"--url", url(), "--count", "2", "iot.accepted.*"}, out, err)));
    Eventually.within(Duration.ofSeconds(10), () -> assertThat(openStreams()).isEqualTo(1));

    platform.vertx().eventBus().publish("iot.accepted.telemetry", new JsonObject().put("device_id", "dc-meter-001").put("seq", 41));
    platform.vertx().eventBus().send("iot.command.send", new JsonObject().put("cmd", "reboot"));
    platform.vertx().eventBus().publish("iot.accepted.hello", new JsonObject().put("device_id", "dc-meter-001")
        .put("payload", "x".repeat(500)));

    Output output = tap.get(20, TimeUnit.SECONDS);
    assertThat(output.exitCode()).isZero();
    assertThat(output.out()).hasSize(2);
    assertThat(output.out().get(0)).matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3}  iot\\.accepted\\.telemetry  publish  "
        + "\\{\"device_id\":\"dc-meter-001\",\"seq\":41}");
    assertThat(output.out().get(1)).startsWith(output.out().get(1).substring(0, 12) + "  iot.accepted.hello      publish  {\"device_id\"")
        .as("a long body is abbreviated").endsWith("…")
        .hasSize(12 + 2 + 22 + 2 + 7 + 2 + BusTapClient.BODY_WIDTH);
    assertThat(output.err()).contains("Tapping iot.accepted.* at " + url());
    Eventually.within(Duration.ofSeconds(10), () -> assertThat(openStreams()).as("the client hung up").isZero());
  }

  @Test
  void aPlatformThatIsNotThereIsOneLineAndExitCodeOne() {
    int closedPort = FreePorts.next();
    Output output = run((out, err) -> BusTapClient.run(new String[] {"--url", "http://127.0.0.1:" + closedPort, "*"}, out, err));
    assertThat(output.exitCode()).isEqualTo(1);
    assertThat(output.out()).isEmpty();
    assertThat(output.err().strip()).isEqualTo("iot-meter tap: cannot reach the platform at http://127.0.0.1:" + closedPort
        + ": connection refused (is it running, and is the port right?)");
  }

  @Test
  void refusalsOfThePlatformAreShownAsTheyCome() {
    Output output = run((out, err) -> BusTapClient.run(new String[] {"--url", url(), "iot.accepted.<category"}, out, err));
    assertThat(output.exitCode()).isEqualTo(1);
    assertThat(output.err().strip()).startsWith("iot-meter tap: Query parameter 'address'").contains("unclosed placeholder");
  }

  @Test
  void badArgumentsAreExitCodeTwoWithTheUsage() {
    Output noAddress = run((out, err) -> BusTapClient.run(new String[] {"--url", url()}, out, err));
    assertThat(noAddress.exitCode()).isEqualTo(2);
    assertThat(noAddress.err()).startsWith("iot-meter tap: Name at least one ADDRESS").contains("Usage: iot-meter tap");
    Output badRate = run((out, err) -> BusTapClient.run(new String[] {"--rate", "0", "*"}, out, err));
    assertThat(badRate.exitCode()).isEqualTo(2);
    assertThat(badRate.err()).startsWith("iot-meter tap: Option --rate must be a whole number from 1 to 1000, not '0'");
    Output badUrl = run((out, err) -> BusTapClient.run(new String[] {"--url", "localhost:8080", "*"}, out, err));
    assertThat(badUrl.err()).startsWith("iot-meter tap: --url must be an http:// or https:// URL");
  }

  @Test
  void theSseParserJoinsDataLinesAndSkipsComments() {
    SseParser parser = new SseParser();
    assertThat(parser.accept(": keep-alive")).isEmpty();
    assertThat(parser.accept("")).as("a comment alone is no event").isEmpty();
    assertThat(parser.accept("event: skipped")).isEmpty();
    assertThat(parser.accept("data: {\"skipped\":3}")).isEmpty();
    assertThat(parser.accept("")).contains(new SseParser.SseEvent("skipped", "{\"skipped\":3}"));
    parser.accept("data:a");
    parser.accept("data: b");
    assertThat(parser.accept("")).as("unnamed events are messages").isEqualTo(Optional.of(new SseParser.SseEvent("message", "a\nb")));
  }
}
