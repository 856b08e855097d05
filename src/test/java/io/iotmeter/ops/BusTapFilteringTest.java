package io.iotmeter.ops;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What a tap stream lets through and how it renders it: patterns, the rate limit, bodies. */
class BusTapFilteringTest {

  private static AddressPattern pattern(String... globs) {
    return AddressPattern.parse(List.of(globs));
  }

  @Test
  void aStarMatchesAnyCharactersDotsIncluded() {
    assertThat(pattern("iot.accepted.*").matches("iot.accepted.telemetry")).isTrue();
    assertThat(pattern("iot.accepted.*").matches("iot.accepted")).isFalse();
    assertThat(pattern("iot.accepted.*").matches("iot.inbound")).isFalse();
    assertThat(pattern("iot.*").matches("iot.mqtt.client.dc-meter-001#3")).isTrue();
    assertThat(pattern("*").matches("anything.at.all")).isTrue();
    assertThat(pattern("*.telemetry").matches("iot.accepted.telemetry")).isTrue();
    assertThat(pattern("iot.*.client.*#*").matches("iot.mqtt.client.a.b#12")).isTrue();
    assertThat(pattern("iot.*.client.*#*").matches("iot.mqtt.client.ab")).isFalse();
    assertThat(pattern("a*a").matches("a")).as("the pieces may not overlap").isFalse();
    assertThat(pattern("a*a").matches("aa")).isTrue();
  }

  @Test
  void withoutAStarTheAddressMustBeExactAndAnyGlobMayMatch() {
    AddressPattern two = pattern("iot.inbound", "iot.command.send");
    assertThat(two.matches("iot.inbound")).isTrue();
    assertThat(two.matches("iot.command.send")).isTrue();
    assertThat(two.matches("iot.inbound.x")).isFalse();
    assertThat(two.matches("iot.inboun")).isFalse();
  }

  @Test
  void catalogueNamesWorkAsPatterns() {
    assertThat(pattern("iot.accepted.<category>").matches("iot.accepted.hello")).isTrue();
    assertThat(pattern("iot.mqtt.client.<client_id>#<connection>").matches("iot.mqtt.client.m-1#4")).isTrue();
    assertThat(pattern("iot.accepted.<category>").matches("iot.inbound")).isFalse();
  }

  @Test
  void unusablePatternsAreRefusedWithAReason() {
    assertThatThrownBy(() -> pattern()).hasMessageContaining("is required");
    assertThatThrownBy(() -> pattern("")).hasMessageContaining("empty");
    assertThatThrownBy(() -> pattern("iot. inbound")).hasMessageContaining("whitespace");
    assertThatThrownBy(() -> pattern("iot.\u0001")).hasMessageContaining("control");
    assertThatThrownBy(() -> pattern("iot.accepted.<category")).hasMessageContaining("unclosed placeholder");
    assertThatThrownBy(() -> pattern("x".repeat(201))).hasMessageContaining("at most 200");
    assertThatThrownBy(() -> AddressPattern.parse(java.util.Collections.nCopies(21, "x"))).hasMessageContaining("at most 20 times");
  }

  @Test
  void theBucketLetsOneSecondsWorthThroughThenTheRate() {
    long start = 1_000_000_000L;
    TokenBucket bucket = new TokenBucket(5, start);
    long passed = java.util.stream.IntStream.range(0, 20).filter(i -> bucket.tryTake(start)).count();
    assertThat(passed).as("a burst: one second's worth").isEqualTo(5);
    assertThat(bucket.tryTake(start + 100_000_000L)).as("0.1 s later: no token yet").isFalse();
    assertThat(bucket.tryTake(start + 200_000_000L)).as("0.2 s later: one token").isTrue();
    assertThat(bucket.tryTake(start + 200_000_000L)).isFalse();
    long later = start + 10_000_000_000L;
    assertThat(java.util.stream.IntStream.range(0, 20).filter(i -> bucket.tryTake(later)).count())
        .as("an idle bucket fills up to one second's worth, no more").isEqualTo(5);
  }

  @Test
  void bodiesBecomeJsonText() {
    assertThat(BodyText.of(new JsonObject().put("a", 1)).json()).isEqualTo("{\"a\":1}");
    assertThat(BodyText.of(new JsonObject().put("payload", Buffer.buffer(new byte[] {1, 2, (byte) 0xff}))).json())
        .as("binary fields are base64 (URL-safe), as in the JSON codec").isEqualTo("{\"payload\":\"AQL_\"}");
    assertThat(BodyText.of(new JsonArray().add("x")).json()).isEqualTo("[\"x\"]");
    assertThat(BodyText.of("say \"hi\"").json()).isEqualTo("\"say \\\"hi\\\"\"");
    assertThat(BodyText.of(Buffer.buffer("plain text")).json()).isEqualTo("\"plain text\"");
    assertThat(BodyText.of(Buffer.buffer(new byte[] {(byte) 0xc3, 0x28})).json()).isEqualTo("{\"base64\":\"wyg\"}");
    assertThat(BodyText.of(42L).json()).isEqualTo("42");
    assertThat(BodyText.of(Double.NaN).json()).isEqualTo("\"NaN\"");
    assertThat(BodyText.of(null).json()).isEqualTo("null");
    assertThat(new JsonObject(BodyText.of(new ReplyException(ReplyFailure.RECIPIENT_FAILURE, 503, "intake stopping")).json()))
        .isEqualTo(new JsonObject().put("failure", new JsonObject().put("type", "recipient_failure").put("code", 503)
            .put("message", "intake stopping")));
  }

  @Test
  void aLargeObjectKeepsItsShapeWithItsLongFieldsCut() {
    JsonObject inbound = new JsonObject().put("topic", "iot/dc-meter-001/telemetry").put("qos", 1)
        .put("payload", new byte[20_000]).put("note", "y".repeat(300));
    BodyText text = BodyText.of(inbound);
    assertThat(text.truncated()).isTrue();
    assertThat(text.length()).isEqualTo(inbound.encode().length());
    JsonObject shortened = new JsonObject(text.json());
    assertThat(shortened.getString("topic")).isEqualTo("iot/dc-meter-001/telemetry");
    assertThat(shortened.getInteger("qos")).isEqualTo(1);
    assertThat(shortened.getString("payload")).isEqualTo("A".repeat(BodyText.MAX_FIELD_CHARS) + "…");
    assertThat(shortened.getString("note")).isEqualTo("y".repeat(BodyText.MAX_FIELD_CHARS) + "…");
  }

  @Test
  void whatStaysTooLongIsCutAsTextWithAMarkerAndItsLength() {
    JsonObject large = new JsonObject().put("measurements", new JsonArray(java.util.Collections.nCopies(500, "sample")));
    BodyText text = BodyText.of(large);
    assertThat(text.truncated()).isTrue();
    assertThat(text.length()).isEqualTo(large.encode().length());
    String cut = new JsonArray("[" + text.json() + "]").getString(0);
    assertThat(cut).startsWith("{\"measurements\":[\"sample\"").endsWith("…").hasSize(BodyText.MAX_CHARS + 1);

    JsonObject event = new JsonObject(new TapEvent(Instant.parse("2026-02-12T10:00:00.123Z"), "iot.accepted.telemetry",
        MessageKind.PUBLISH, text).toJson());
    assertThat(event.getBoolean("truncated")).isTrue();
    assertThat(event.getInteger("body_length")).isEqualTo(large.encode().length());
    assertThat(event.getString("time")).isEqualTo("2026-02-12T10:00:00.123Z");
    assertThat(event.getString("kind")).isEqualTo("publish");
  }
}
