package io.iotmeter.bus;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** A body sent through JsonViewCodec costs its JSON only when someone receives it. */
class JsonViewCodecTest {

  /** Counts how often its JSON shape was built. */
  record Counted(String name, AtomicInteger built) implements LocalBody {
    @Override
    public JsonObject toJson() {
      built.incrementAndGet();
      return new JsonObject().put("name", name).put("n", 42);
    }
  }

  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() {
    vertx.close().await();
  }

  @Test
  void aPublicationNobodyReceivesBuildsNoJson() throws Exception {
    JsonViewCodec.register(vertx, Counted.class);
    AtomicInteger built = new AtomicInteger();
    for (int i = 0; i < 100; i++) {
      vertx.eventBus().publish("iot.live.telemetry.nobody", new Counted("x", built));
    }
    // Deliveries are asynchronous: give them the time to happen, were there any.
    CompletableFuture<Void> later = new CompletableFuture<>();
    vertx.setTimer(200, id -> later.complete(null));
    later.get(5, TimeUnit.SECONDS);
    assertThat(built).hasValue(0);
  }

  @Test
  void eachConsumerReceivesTheJsonShape() throws Exception {
    JsonViewCodec.register(vertx, Counted.class);
    JsonViewCodec.register(vertx, Counted.class); // a second verticle of the node: no error
    CompletableFuture<Object> first = new CompletableFuture<>();
    CompletableFuture<Object> second = new CompletableFuture<>();
    vertx.eventBus().consumer("iot.live.telemetry.one", m -> first.complete(m.body())).completion().await();
    vertx.eventBus().consumer("iot.live.telemetry.one", m -> second.complete(m.body())).completion().await();
    AtomicInteger built = new AtomicInteger();
    vertx.eventBus().publish("iot.live.telemetry.one", new Counted("meter", built));
    JsonObject expected = new JsonObject().put("name", "meter").put("n", 42);
    assertThat(first.get(5, TimeUnit.SECONDS)).isEqualTo(expected);
    assertThat(second.get(5, TimeUnit.SECONDS)).isEqualTo(expected).isNotSameAs(first.get());
    assertThat(built).as("one JSON per consumer").hasValue(2);
  }

  @Test
  void onTheWireItIsTheJsonObjectItself() {
    AtomicInteger built = new AtomicInteger();
    JsonViewCodec<Counted> codec = new JsonViewCodec<>(Counted.class);
    Buffer wire = Buffer.buffer().appendString("header");
    codec.encodeToWire(wire, new Counted("über", built));
    // What Vert.x's own JsonObject codec writes: the length, then the encoded object.
    Buffer expected = Buffer.buffer().appendString("header");
    Buffer json = new JsonObject().put("name", "über").put("n", 42).toBuffer();
    expected.appendInt(json.length()).appendBuffer(json);
    assertThat(wire).isEqualTo(expected);
    assertThat(codec.decodeFromWire(6, wire)).isEqualTo(new JsonObject().put("name", "über").put("n", 42));
    assertThat(codec.name()).isEqualTo("json-view-" + Counted.class.getName());
  }
}
