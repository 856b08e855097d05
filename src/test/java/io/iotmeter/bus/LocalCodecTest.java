package io.iotmeter.bus;

import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.protocol.InboundMessage;
import io.iotmeter.protocol.Category;
import io.iotmeter.protocol.DeviceMessage;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Node-local bodies reach every consumer as the very object sent: no JSON tree, no copy. */
class LocalCodecTest {

  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() {
    vertx.close().await();
  }

  private static final String PAYLOAD = "{\"v\":2,\"seq\":1,\"ts\":\"2026-02-12T10:00:00Z\",\"measurements\":"
      + "[{\"ts\":\"2026-02-12T10:00:00Z\",\"type\":\"voltage_dc\",\"val\":750,\"unit\":\"V\"}]}";

  @Test
  void anAcceptedMessageReachesEveryConsumerAsTheSameObject() throws Exception {
    LocalCodec.register(vertx, AcceptedMessage.class);
    LocalCodec.register(vertx, AcceptedMessage.class); // a second verticle instance: no error
    DeviceMessage parsed = DeviceMessage.parse("iot/dc-meter-001/telemetry", PAYLOAD.getBytes(StandardCharsets.UTF_8));
    AcceptedMessage sent = new AcceptedMessage(7, "dc-meter-001", Category.TELEMETRY, 0, 1L, parsed.ts(), Instant.now(),
        "iot/dc-meter-001/telemetry", "endpoint", PAYLOAD, parsed);
    List<CompletableFuture<Object>> received = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      CompletableFuture<Object> body = new CompletableFuture<>();
      received.add(body);
      vertx.eventBus().localConsumer("iot.accepted.telemetry", m -> body.complete(m.body())).completion().await();
    }
    vertx.eventBus().publish("iot.accepted.telemetry", sent, LocalCodec.OPTIONS);
    for (CompletableFuture<Object> body : received) {
      assertThat(body.get(5, TimeUnit.SECONDS)).isSameAs(sent);
    }
    // The sinks read the intake's parse, not a second one.
    assertThat(sent.parse()).isSameAs(parsed);
    assertThat(sent.parse().measurements()).hasSize(1);
  }

  @Test
  void aMessageFromTheJournalIsParsedWhenASinkNeedsIt() {
    AcceptedMessage fromJournal = new AcceptedMessage(7, "dc-meter-001", Category.TELEMETRY, 0, 1L,
        Instant.parse("2026-02-12T10:00:00Z"), Instant.now(), "iot/dc-meter-001/telemetry", "endpoint", PAYLOAD);
    assertThat(fromJournal.parsed()).isNull();
    assertThat(fromJournal.parse().measurements().get(0).value()).isEqualTo(750.0);
    // Senders that only have JSON still work: consumers take both shapes.
    assertThat(AcceptedMessage.of(fromJournal.toJson()).payload()).isEqualTo(PAYLOAD);
    assertThat(AcceptedMessage.of(fromJournal)).isSameAs(fromJournal);
  }

  @Test
  void anInboundMessageTravelsAsItselfAndItsJsonShapeStillWorks() throws Exception {
    LocalCodec.register(vertx, InboundMessage.class);
    CompletableFuture<Object> received = new CompletableFuture<>();
    vertx.eventBus().localConsumer("iot.inbound", m -> {
      received.complete(m.body());
      m.reply(new JsonObject().put("outcome", "accepted"));
    }).completion().await();
    InboundMessage sent = new InboundMessage("iot/dc-meter-001/telemetry", PAYLOAD.getBytes(StandardCharsets.UTF_8), 2,
        "endpoint", "dc-meter-001", Instant.parse("2026-02-12T10:00:00.123Z"));
    vertx.eventBus().request("iot.inbound", sent, LocalCodec.OPTIONS).await();
    assertThat(received.get(5, TimeUnit.SECONDS)).isSameAs(sent);
    InboundMessage fromJson = InboundMessage.of(sent.toJson());
    assertThat(fromJson.payload()).isEqualTo(sent.payload());
    assertThat(fromJson.receivedAt()).isEqualTo(sent.receivedAt());
  }

  @Test
  void aLocalBodyRefusesToBeEncodedForTheWire() {
    InboundMessage message = new InboundMessage("iot/x/telemetry", new byte[0], 1, "endpoint", "x", Instant.now());
    LocalCodec<InboundMessage> codec = new LocalCodec<>(InboundMessage.class);
    assertThatThrownBy(() -> codec.encodeToWire(Buffer.buffer(), message))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("node-local");
    assertThat(codec.transform(message)).isSameAs(message);
  }
}
