package io.iotmeter.ops;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.ops.BusTapClientTest.Output;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.FreePorts;
import io.iotmeter.support.RunningPlatform;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.Arrays;

import static io.iotmeter.ops.BusTapClientTest.run;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code iot-meter addresses} with live counters, and the catalogue alone when there are none. */
@Timeout(60)
class AddressListingTest {

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClassWith(BusTapClientTest::apiWithTap);

  private static String url() {
    return "http://127.0.0.1:" + platform.config().getJsonObject("http").getInteger("port");
  }

  /** The table row of {@code address}, split on runs of spaces. */
  private static String[] row(Output output, String address) {
    return output.out().stream().filter(line -> line.startsWith(address + " ") || line.startsWith("  " + address + " "))
        .findFirst().map(line -> line.strip().split(" +")).orElseThrow(() -> new AssertionError("no row for " + address + " in\n"
            + String.join("\n", output.out())));
  }

  @Test
  void listsEveryEntryWithItsShapeAndLiveCounters() {
    for (int i = 0; i < 3; i++) {
      platform.vertx().eventBus().publish("iot.accepted.telemetry", new JsonObject().put("seq", i));
    }
    platform.vertx().eventBus().publish("iot.accepted.hello", new JsonObject());
    platform.vertx().eventBus().send("debug.test.address", "x");

    Output output = Eventually.value(Duration.ofSeconds(5), () -> run((out, err) -> AddressListing.run(new String[] {"--url", url()}, out, err)),
        o -> Double.parseDouble(row(o, "iot.accepted.<category>")[4]) > 0);
    assertThat(output.exitCode()).isZero();
    assertThat(output.err()).isEmpty();
    assertThat(output.out().get(0)).startsWith("Event-bus addresses at " + url());
    assertThat(row(output, "iot.accepted.<category>")).startsWith("iot.accepted.<category>", "publish", "local", "4");
    assertThat(row(output, "iot.accepted.telemetry")).startsWith("iot.accepted.telemetry", "3");
    assertThat(row(output, "iot.accepted.hello")).startsWith("iot.accepted.hello", "1");
    assertThat(row(output, "iot.inbound")).containsExactly("iot.inbound", "request", "local", "0", "0.0");
    assertThat(row(output, "debug.test.address")).startsWith("debug.test.address", "1");
    assertThat(Double.parseDouble(row(output, "iot.accepted.<category>")[4])).as("recent rate").isPositive();
    for (BusAddress entry : BusAddress.values()) {
      assertThat(output.out()).anyMatch(line -> line.startsWith(entry.address() + " "));
    }
    assertThat(String.join("\n", output.out())).contains("shape: a journal.AcceptedMessage object (LocalCodec) with the parsed message; as JSON")
        .contains("Bus tap streams open: 0 of 10");
  }

  @Test
  void verboseAddsProducersConsumersAndNotes() {
    Output output = run((out, err) -> AddressListing.run(new String[] {"--url", url(), "--verbose"}, out, err));
    String text = String.join("\n", output.out());
    assertThat(text).contains("    from:  api (POST /api/devices/{id}/commands), lifecycle (redelivery)")
        .contains("    to:    intake").contains("    notes: Reply {outcome: accepted | duplicate | rejected, error_type?}");
    assertThat(output.out()).allMatch(line -> line.length() <= 100 || !line.startsWith("    "));
  }

  @Test
  void withoutAPlatformItPrintsTheCatalogueAndSaysWhyTheCountersAreMissing() {
    int closedPort = FreePorts.next();
    Output output = run((out, err) -> AddressListing.run(new String[] {"--url", "http://127.0.0.1:" + closedPort}, out, err));
    assertThat(output.exitCode()).as("the live part failed").isEqualTo(1);
    assertThat(output.err().strip()).isEqualTo("iot-meter addresses: live counters unavailable: cannot reach the platform at "
        + "http://127.0.0.1:" + closedPort + ": connection refused (is it running, and is the port right?)");
    assertThat(output.out().get(0)).isEqualTo("Event-bus addresses (the catalogue of this build; live counters unavailable)");
    assertThat(row(output, "iot.inbound")).containsExactly("iot.inbound", "request", "local", "-", "-");
    assertThat(Arrays.stream(BusAddress.values()).map(BusAddress::address))
        .allMatch(address -> output.out().stream().anyMatch(line -> line.startsWith(address + " ")));
  }

  @Test
  void offlineListsTheCatalogueWithoutAsking() {
    Output output = run((out, err) -> AddressListing.run(new String[] {"--offline"}, out, err));
    assertThat(output.exitCode()).isZero();
    assertThat(row(output, "iot.command.send")).containsExactly("iot.command.send", "request", "cluster", "-", "-");
  }
}
