package io.iotmeter.ops;

import io.iotmeter.bus.BusAddress;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/** Per-address counting: families, the listing cap, rates over the window. */
class AddressCountersTest {

  private static final long SECOND = 1_000_000_000L;

  private static JsonObject entry(AddressCounters counters, BusAddress address) {
    return counters.toJson().getJsonArray("addresses").stream().map(JsonObject.class::cast)
        .filter(e -> e.getString("address").equals(address.address())).findFirst().orElseThrow();
  }

  @Test
  void concreteAddressesCountUnderTheirCatalogueEntry() {
    assertThat(AddressCounters.entryOf("iot.inbound")).isEqualTo(BusAddress.INBOUND);
    assertThat(AddressCounters.entryOf("iot.inbound.x")).isNull();
    assertThat(AddressCounters.entryOf("iot.accepted.telemetry")).isEqualTo(BusAddress.ACCEPTED);
    assertThat(AddressCounters.entryOf("iot.accepted.")).as("a family needs a member name").isNull();
    assertThat(AddressCounters.entryOf("iot.mqtt.client.dc-meter-001#7")).isEqualTo(BusAddress.MQTT_CLIENT);
    assertThat(AddressCounters.entryOf("iot.health.intake")).isEqualTo(BusAddress.HEALTH);

    AddressCounters counters = new AddressCounters(0);
    counters.record("iot.accepted.telemetry");
    counters.record("iot.accepted.telemetry");
    counters.record("iot.accepted.hello");
    counters.record("my.own.address");
    counters.recordReply();

    JsonObject accepted = entry(counters, BusAddress.ACCEPTED);
    assertThat(accepted.getLong("seen")).isEqualTo(3);
    assertThat(accepted.getJsonArray("addresses").encode())
        .isEqualTo("[{\"address\":\"iot.accepted.hello\",\"seen\":1,\"rate_per_s\":0.0},"
            + "{\"address\":\"iot.accepted.telemetry\",\"seen\":2,\"rate_per_s\":0.0}]");
    assertThat(entry(counters, BusAddress.INBOUND).getLong("seen")).isZero();
    assertThat(counters.toJson().getJsonObject("uncatalogued").getLong("seen")).isEqualTo(1);
    assertThat(counters.toJson().getJsonObject("replies").getLong("seen")).isEqualTo(1);
  }

  @Test
  void addressesBeyondTheCapCountWithoutBeingListed() {
    AddressCounters counters = new AddressCounters(0);
    IntStream.range(0, AddressCounters.MAX_LISTED + 50).forEach(i -> counters.record("iot.mqtt.client.meter-" + i + "#1"));
    counters.record("iot.mqtt.client.meter-0#1");

    JsonObject clients = entry(counters, BusAddress.MQTT_CLIENT);
    assertThat(clients.getLong("seen")).isEqualTo(AddressCounters.MAX_LISTED + 51);
    assertThat(clients.getJsonArray("addresses")).hasSize(AddressCounters.MAX_LISTED);
    assertThat(clients.getLong("other_addresses_seen")).isEqualTo(50);
  }

  @Test
  void theRateCoversTheLastTenSeconds() {
    AddressCounters counters = new AddressCounters(0);
    IntStream.range(0, 20).forEach(i -> counters.record("iot.inbound"));
    counters.sample(SECOND);
    assertThat(entry(counters, BusAddress.INBOUND).getDouble("rate_per_s")).as("20 in the first second").isEqualTo(20.0);

    for (int second = 2; second <= 10; second++) {
      counters.sample(second * SECOND);
    }
    assertThat(entry(counters, BusAddress.INBOUND).getDouble("rate_per_s")).as("20 in the last ten seconds").isEqualTo(2.0);
    counters.sample(11 * SECOND);
    assertThat(entry(counters, BusAddress.INBOUND).getDouble("rate_per_s")).as("none in the last ten seconds").isZero();
    assertThat(entry(counters, BusAddress.INBOUND).getLong("seen")).isEqualTo(20);
  }
}
