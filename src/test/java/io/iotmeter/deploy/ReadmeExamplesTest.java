package io.iotmeter.deploy;

import io.iotmeter.support.RunningPlatform;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's first commands, run as written with bash, curl and Debian's mosquitto_pub against
 * a platform started secure, as {@code launcher/iot-meter run} starts it, with the simulated
 * meters: only the printed key and the ports are put in. A README whose examples answer 401 or
 * are refused at CONNECT fails here.
 */
class ReadmeExamplesTest {

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClassWith(() -> RunningPlatform.securedConfigWithMeters(1));

  @Test
  void theFirstExamplesWorkWithSecurityOn() throws Exception {
    String script = firstExamples(Files.readString(Path.of("README.md")));
    assertThat(script).as("the README's first examples carry the key").contains("KEY=iot_admin_...")
        .contains("Authorization: Bearer $KEY").contains("-u dc-meter-900 -P \"$PASSWORD\"");
    String runnable = script.replace("KEY=iot_admin_...", "KEY=" + RunningPlatform.ADMIN_KEY)
        .replace("localhost:8080", "127.0.0.1:" + platform.httpPort())
        .replace("-p 1883", "-p " + platform.mqttPort())
        // every command's output on a line of its own, so the checks below can tell them apart
        .replace("\ncurl ", "\necho; curl ");
    awaitSimulatedPower();
    // The reads after the publish run once it is stored (the sinks write within a moment, which
    // a person typing never notices): the publish is acknowledged when journalled, not when stored.
    int reads = runnable.lastIndexOf("\necho; curl", runnable.indexOf("dc-meter-900/metrics"));
    String output = run(runnable.substring(0, reads));
    awaitStored();
    output += run("KEY=" + RunningPlatform.ADMIN_KEY + runnable.substring(reads));
    assertThat(output).as(output).doesNotContain("\"status\" : 401").doesNotContain("\"status\":401")
        .doesNotContain("not authori").contains("power_active").contains("\"device_id\"");
    // what the meter published is stored: its metrics and its raw message are read back
    assertThat(platform.as(RunningPlatform.ADMIN_KEY).get("/api/devices/dc-meter-900").status()).isEqualTo(200);
    assertThat(output).as("the published measurement read back").contains("752.3");
    assertThat(output).as("the raw message read back").contains("voltage_dc");
  }

  private static String run(String script) throws Exception {
    Process bash = new ProcessBuilder("bash", "-euo", "pipefail", "-c", script).redirectErrorStream(true).start();
    assertThat(bash.waitFor(60, TimeUnit.SECONDS)).as("the examples finish").isTrue();
    String output = new String(bash.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(bash.exitValue()).as(output).isZero();
    return output;
  }

  private static void awaitStored() throws InterruptedException {
    Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
    while (Instant.now().isBefore(deadline)) {
      if (platform.as(RunningPlatform.ADMIN_KEY).get("/api/devices/dc-meter-900/metrics?start=2026-02-12T15:00:00Z&stop=2026-02-12T17:00:00Z")
          .body().contains("752.3")) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("the README's published measurement was not stored within 30 s");
  }

  private static void awaitSimulatedPower() throws InterruptedException {
    Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
    while (Instant.now().isBefore(deadline)) {
      RunningPlatform.Reply reply = platform.as(RunningPlatform.ADMIN_KEY).get("/api/devices/dc-meter-001/metrics?metric=power_active");
      if (reply.status() == 200 && !reply.array().isEmpty()) {
        return;
      }
      Thread.sleep(250);
    }
    throw new AssertionError("the simulated dc-meter-001 stored no power_active within 30 s");
  }

  /** The bash block that follows "The two commands" run block: the README's first examples. */
  static String firstExamples(String readme) {
    int section = readme.indexOf("## The two commands");
    int after = readme.indexOf("```bash", readme.indexOf("```", readme.indexOf("```bash", section) + 7) + 3);
    int start = readme.indexOf('\n', after) + 1;
    return readme.substring(start, readme.indexOf("```", start));
  }
}
