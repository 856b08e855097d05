package io.iotmeter.bridge;

import io.iotmeter.support.RunningPlatform;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The example clients in {@code examples/} — Python (standard library) and Node.js — against a
 * running secured platform with its simulated meters: each prints live power per meter, an
 * operator's sends a {@code request_status} command, a viewer's is refused. CI installs
 * python3 and nodejs ({@code .ci/run}); a missing interpreter fails the test, it is not skipped.
 */
@Timeout(180)
class ExampleClientsTest {

  private static RunningPlatform platform;
  private static String viewer;
  private static String operator;

  @BeforeAll
  static void start() {
    // Datagrams every second, so that a reading comes soon.
    platform = RunningPlatform.start(RunningPlatform.securedConfigWithMeters(1));
    viewer = platform.newKey("example-viewer", "viewer");
    operator = platform.newKey("example-operator", "operator");
  }

  @AfterAll
  static void stop() {
    platform.close();
  }

  private record Run(int exit, String out, String err) {
  }

  private static Run run(String... command) throws IOException, InterruptedException {
    List<String> line = new ArrayList<>(List.of(command));
    line.addAll(List.of("--port", Integer.toString(platform.bridgePort())));
    Process process = new ProcessBuilder(line).directory(Path.of(".").toFile()).start();
    if (!process.waitFor(90, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError(String.join(" ", command) + " did not finish within 90 s");
    }
    return new Run(process.exitValue(), new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
        new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
  }

  private static void printsPowerOfEachMeter(Run run) {
    assertThat(run.exit()).as(run.err()).isZero();
    List<String> lines = run.out().lines().toList();
    assertThat(lines).as(run.out()).hasSizeGreaterThanOrEqualTo(6);
    assertThat(lines).anyMatch(l -> l.matches("dc-meter-001 \\d+\\.\\d kW at .+ \\(seq \\d+\\)"));
    assertThat(lines).anyMatch(l -> l.startsWith("ac-meter-001 "));
  }

  @Test
  void thePythonClientPrintsLivePowerAndAnOperatorSendsACommand() throws Exception {
    Run watch = run("python3", "examples/python/live_power.py", "--key", viewer, "--count", "6");
    printsPowerOfEachMeter(watch);
    Run command = run("python3", "examples/python/live_power.py", "--key", operator, "--devices", "dc-meter-001",
        "--command", "dc-meter-001", "--count", "1");
    assertThat(command.exit()).as(command.err()).isZero();
    assertThat(command.out()).containsPattern("command request_status to dc-meter-001: pending \\(cmd_id [0-9a-f-]{36}\\)");
    Run refused = run("python3", "examples/python/live_power.py", "--key", viewer, "--command", "dc-meter-001");
    assertThat(refused.exit()).isEqualTo(1);
    assertThat(refused.err()).contains("command refused").contains("needs the operator role");
  }

  @Test
  void theNodeClientPrintsLivePowerAndAnOperatorSendsACommand() throws Exception {
    Run watch = run("node", "examples/node/live_power.js", "--key", viewer, "--count", "6");
    printsPowerOfEachMeter(watch);
    Run command = run("node", "examples/node/live_power.js", "--key", operator, "--devices", "dc-meter-001",
        "--command", "dc-meter-001", "--count", "1");
    assertThat(command.exit()).as(command.err()).isZero();
    assertThat(command.out()).containsPattern("command request_status to dc-meter-001: pending \\(cmd_id [0-9a-f-]{36}\\)");
    Run refused = run("node", "examples/node/live_power.js", "--key", "wrong-key");
    assertThat(refused.exit()).isEqualTo(1);
    assertThat(refused.err()).contains("unknown API key");
  }
}
