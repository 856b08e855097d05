package io.iotmeter.ops;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.TestMeter;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The bus tap on a whole platform: meters publish over MQTT, the test watches
 * {@code /debug/bus} and {@code /debug/addresses}.
 */
@Timeout(60)
class BusTapTest {

  private static final Duration WAIT = Duration.ofSeconds(10);
  /**
   * How long what a stream showed must stay the same before the test counts it exactly: longer
   * than the stream's tick (1 s), at which skipped messages are reported, so an event or a count
   * still on its way would show.
   */
  private static final Duration SETTLE = Duration.ofMillis(1500);

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClassWith(() -> withTap(RunningPlatform.ingestConfig()));

  static JsonObject withTap(JsonObject config) {
    config.getJsonObject("debug").put("bus_tap", true).put("max_streams", 3);
    return config;
  }

  /** The API alone, without the embedded stores: tests that never ask them need not wait seconds for them. */
  static JsonObject apiOnly() {
    JsonObject config = RunningPlatform.testConfig();
    config.getJsonObject("s3").put("embedded", false);
    config.getJsonObject("timeseries").put("embedded", false);
    return config;
  }

  private static int httpPort() {
    return platform.config().getJsonObject("http").getInteger("port");
  }

  private static void sendTelemetry(String deviceId, long... seqs) {
    try (TestMeter meter = TestMeter.connect(platform.vertx(), platform.mqttPort(), deviceId, true)) {
      for (long seq : seqs) {
        meter.send("iot/" + deviceId + "/telemetry", Datagrams.telemetry(deviceId, seq), 1);
      }
    }
  }

  private static int openStreams() {
    return platform.get("/debug/addresses").json().getJsonObject("streams").getInteger("open");
  }

  @Test
  void acceptedTelemetryArrivesWithItsAddressKindAndBody() {
    try (TapStreamClient accepted = TapStreamClient.open(httpPort(), "address=iot.accepted.*");
         TapStreamClient commands = TapStreamClient.open(httpPort(), "address=iot.command.*")) {
      assertThat(accepted.status()).isEqualTo(200);
      sendTelemetry("dc-meter-tap-1", 7);

      List<JsonObject> seen = Eventually.settled(WAIT, SETTLE, () -> accepted.messagesOf("dc-meter-tap-1"), list -> !list.isEmpty());
      assertThat(seen).hasSize(1);
      JsonObject event = seen.get(0);
      assertThat(event.getString("address")).isEqualTo("iot.accepted.telemetry");
      assertThat(event.getString("kind")).isEqualTo("publish");
      assertThat(Instant.parse(event.getString("time"))).isBetween(Instant.now().minusSeconds(30), Instant.now());
      JsonObject body = event.getJsonObject("body");
      assertThat(body.getString("category")).isEqualTo("telemetry");
      assertThat(body.getLong("seq")).isEqualTo(7L);
      assertThat(body.getString("topic")).isEqualTo("iot/dc-meter-tap-1/telemetry");
      assertThat(body.getString("payload")).as("the datagram as the meter sent it")
          .isEqualTo(Datagrams.telemetry("dc-meter-tap-1", 7).encode());
      assertThat(commands.messages()).as("a pattern that matches nothing shows nothing").isEmpty();
    }
  }

  @Test
  void aRequestAndItsReplyAreShownUnderTheRequestsAddress() {
    try (TapStreamClient inbound = TapStreamClient.open(httpPort(), "address=iot.inbound")) {
      sendTelemetry("dc-meter-tap-2", 1);

      List<JsonObject> events = Eventually.settled(WAIT, SETTLE, () -> inbound.messages().stream()
          .filter(e -> e.getString("kind").equals("reply") || topicOf(e).equals("iot/dc-meter-tap-2/telemetry")).toList(),
          list -> list.size() >= 2);
      assertThat(events).extracting(e -> e.getString("address")).containsOnly("iot.inbound");
      assertThat(events).extracting(e -> e.getString("kind")).containsExactly("request", "reply");
      JsonObject request = events.get(0).getJsonObject("body");
      assertThat(new String(Base64.getUrlDecoder().decode(request.getString("payload"))))
          .as("MQTT payloads are base64 (URL-safe) in the bus message").isEqualTo(Datagrams.telemetry("dc-meter-tap-2", 1).encode());
      assertThat(request.getString("client_id")).isEqualTo("dc-meter-tap-2");
      assertThat(events.get(1).getJsonObject("body").getString("outcome")).isEqualTo("accepted");
    }
  }

  private static String topicOf(JsonObject event) {
    return event.getValue("body") instanceof JsonObject body ? body.getString("topic", "") : "";
  }

  @Test
  void theRateLimitSkipsMessagesAndSaysHowMany() {
    try (TapStreamClient limited = TapStreamClient.open(httpPort(), "address=iot.accepted.*&rate=1")) {
      sendTelemetry("dc-meter-tap-3", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10);

      assertThat(Eventually.settled(WAIT, SETTLE, () -> limited.messagesOf("dc-meter-tap-3").size() + limited.skipped(), n -> n >= 10))
          .as("every message is either shown or counted as skipped").isEqualTo(10);
      assertThat(limited.skipped()).isPositive();
      assertThat(limited.messagesOf("dc-meter-tap-3").get(0).getJsonObject("body").getLong("seq"))
          .as("the first message of a burst passes").isEqualTo(1L);
    }
  }

  @Test
  void samplingShowsEveryNthMessage() {
    try (TapStreamClient sampled = TapStreamClient.open(httpPort(), "address=iot.accepted.telemetry&sample=3")) {
      sendTelemetry("dc-meter-tap-4", 1, 2, 3, 4, 5, 6, 7);

      List<JsonObject> seen = Eventually.settled(WAIT, SETTLE, () -> sampled.messagesOf("dc-meter-tap-4"), list -> list.size() >= 2);
      assertThat(seen).extracting(e -> e.getJsonObject("body").getLong("seq")).containsExactly(3L, 6L);
      assertThat(sampled.skipped()).as("sampling is asked for, not skipping").isZero();
    }
  }

  @Test
  void addressesShowTheCatalogueWithLiveCounters() {
    Map<String, Long> before = counters();
    sendTelemetry("dc-meter-tap-5", 1, 2, 3);

    Eventually.within(WAIT, () -> {
      Map<String, Long> after = counters();
      assertThat(after.get("iot.inbound") - before.get("iot.inbound")).isEqualTo(3);
      assertThat(after.get("iot.accepted.<category>") - before.get("iot.accepted.<category>")).isEqualTo(3);
      assertThat(after.get("iot.accepted.telemetry") - before.getOrDefault("iot.accepted.telemetry", 0L)).isEqualTo(3);
    });
    JsonObject accepted = entry(platform.get("/debug/addresses").json(), "iot.accepted.<category>");
    assertThat(accepted.getString("delivery")).isEqualTo("publish");
    assertThat(accepted.getString("scope")).isEqualTo("local");
    assertThat(accepted.getBoolean("family")).isTrue();
    assertThat(accepted.getString("shape")).isEqualTo(BusAddress.ACCEPTED.shape());
    assertThat(accepted.getString("consumers")).isEqualTo(BusAddress.ACCEPTED.consumers());
    Eventually.within(WAIT, () -> assertThat(entry(platform.get("/debug/addresses").json(), "iot.inbound").getDouble("rate_per_s"))
        .as("the recent rate follows within a second").isPositive());
    JsonObject listing = platform.get("/debug/addresses").json();
    assertThat(listing.getJsonArray("addresses")).hasSize(BusAddress.values().length);
    assertThat(listing.getJsonObject("replies").getLong("seen")).as("the intake answered every request").isGreaterThanOrEqualTo(3);
  }

  /** Seen counts by catalogue entry and by concrete address. */
  private static Map<String, Long> counters() {
    Map<String, Long> counts = new java.util.HashMap<>();
    for (Object value : platform.get("/debug/addresses").json().getJsonArray("addresses")) {
      JsonObject entry = (JsonObject) value;
      counts.put(entry.getString("address"), entry.getLong("seen"));
      entry.getJsonArray("addresses").forEach(a -> counts.put(((JsonObject) a).getString("address"), ((JsonObject) a).getLong("seen")));
    }
    return counts;
  }

  private static JsonObject entry(JsonObject listing, String address) {
    return listing.getJsonArray("addresses").stream().map(JsonObject.class::cast)
        .filter(e -> e.getString("address").equals(address)).findFirst().orElseThrow();
  }

  @Test
  void badParametersAreRefusedNamingTheParameter() {
    Map<String, String> refusals = Map.of(
        "", "'address' is required",
        "address=iot.%20inbound", "'address'",
        "address=iot.accepted.%3Ccategory", "'address'",
        "address=*&rate=0", "'rate'",
        "address=*&rate=fast", "'rate'",
        "address=*&rate=1001", "'rate'",
        "address=*&rate=1&rate=2", "'rate' given more than once",
        "address=*&sample=0", "'sample'",
        "adress=*", "'adress'");
    refusals.forEach((query, named) -> {
      Reply reply = platform.get("/debug/bus?" + query);
      assertThat(reply.status()).as(query).isEqualTo(400);
      assertThat(reply.contentType()).as(query).startsWith("application/json");
      assertThat(reply.error()).as(query).contains(named);
    });
    assertThat(openStreams()).isZero();
  }

  @Test
  void streamsAreCappedAndClosingOneFreesItsPlace() {
    List<TapStreamClient> streams = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        streams.add(TapStreamClient.open(httpPort(), "address=*"));
      }
      assertThat(streams).extracting(TapStreamClient::status).containsOnly(200);
      assertThat(openStreams()).isEqualTo(3);
      try (TapStreamClient refused = TapStreamClient.open(httpPort(), "address=*")) {
        assertThat(refused.status()).isEqualTo(429);
        assertThat(refused.error().getString("error")).contains("debug.max_streams = 3");
      }

      streams.remove(0).close();
      Eventually.within(WAIT, () -> assertThat(openStreams()).as("a disconnected client's subscription is removed").isEqualTo(2));
      streams.add(TapStreamClient.open(httpPort(), "address=*"));
      assertThat(streams.get(2).status()).isEqualTo(200);
    } finally {
      streams.forEach(TapStreamClient::close);
    }
    Eventually.within(WAIT, () -> assertThat(openStreams()).isZero());
  }

  @Test
  void withTheTapOffBothRoutesAreUnknownAndTheCommandsSaySo() {
    try (RunningPlatform plain = RunningPlatform.start(apiOnly())) {
      for (String path : List.of("/debug/bus?address=*", "/debug/addresses")) {
        Reply reply = plain.get(path);
        assertThat(reply.status()).as(path).isEqualTo(404);
        assertThat(reply.json()).as(path).isEqualTo(plain.get("/debug/nothing-here").json());
      }
      String url = "http://127.0.0.1:" + plain.config().getJsonObject("http").getInteger("port");
      BusTapClientTest.Output tap = BusTapClientTest.run((out, err) -> BusTapClient.run(new String[] {"--url", url, "*"}, out, err));
      assertThat(tap.exitCode()).isEqualTo(1);
      assertThat(tap.err().strip()).isEqualTo("iot-meter tap: the bus tap is off at " + url
          + " (set debug.bus_tap: true, or IOT_DEBUG_BUS_TAP=true, and restart the platform)");
      BusTapClientTest.Output listing = BusTapClientTest.run((out, err) -> AddressListing.run(new String[] {"--url", url}, out, err));
      assertThat(listing.exitCode()).isEqualTo(1);
      assertThat(listing.err()).startsWith("iot-meter addresses: live counters unavailable: the bus tap is off at " + url);
      assertThat(listing.out()).anyMatch(line -> line.startsWith("iot.inbound ") && line.endsWith(" -         -"));
    }
  }
}
