package io.iotmeter.ops;

import io.iotmeter.support.Eventually;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/** The interceptor on a bare event bus: what it calls each kind of message, and that it never holds one back. */
@Timeout(30)
class BusTapInterceptorTest {

  private static final Duration WAIT = Duration.ofSeconds(5);
  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() {
    vertx.close().await();
  }

  private static TapRequest everything() {
    return new TapRequest(AddressPattern.parse(List.of("test.*")), 1_000, 1);
  }

  @Test
  void sendPublishRequestAndReplyAreToldApart() {
    BusTap tap = BusTap.acquire(vertx);
    List<TapEvent> events = new CopyOnWriteArrayList<>();
    Context context = vertx.getOrCreateContext();
    TapStream stream = tap.subscribe(everything(), 1, context, events::add).orElseThrow();
    vertx.eventBus().consumer("test.echo", message -> message.reply(new JsonObject().put("echo", message.body())));
    vertx.eventBus().consumer("test.sink", message -> { }).completion().await();

    vertx.eventBus().send("test.sink", "sent");
    vertx.eventBus().publish("test.sink", "published");
    vertx.eventBus().request("test.echo", "asked").await();

    Eventually.within(WAIT, () -> assertThat(events).hasSize(4));
    assertThat(events).extracting(e -> e.kind() + " " + e.address() + " " + e.body().json()).containsExactly(
        "SEND test.sink \"sent\"",
        "PUBLISH test.sink \"published\"",
        "REQUEST test.echo \"asked\"",
        "REPLY test.echo {\"echo\":\"asked\"}");
    assertThat(tap.subscribe(everything(), 1, context, e -> { })).as("one stream allowed").isEmpty();
    stream.close();
    assertThat(tap.openStreams()).isZero();
    tap.release();
  }

  /** A body the tap cannot render: its {@code toString} throws. */
  private record Hostile(String text) {
    @Override
    public String toString() {
      throw new IllegalStateException("no text for you");
    }
  }

  private static final class LocalOnly implements MessageCodec<Hostile, Hostile> {
    @Override
    public void encodeToWire(Buffer buffer, Hostile hostile) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Hostile decodeFromWire(int pos, Buffer buffer) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Hostile transform(Hostile hostile) {
      return hostile;
    }

    @Override
    public String name() {
      return "hostile";
    }

    @Override
    public byte systemCodecID() {
      return -1;
    }
  }

  @Test
  void aFailureInsideTheTapDoesNotStopTheMessage() {
    BusTap tap = BusTap.acquire(vertx);
    tap.subscribe(everything(), 1, vertx.getOrCreateContext(), e -> { }).orElseThrow();
    vertx.eventBus().registerDefaultCodec(Hostile.class, new LocalOnly());
    List<Hostile> received = new CopyOnWriteArrayList<>();
    vertx.eventBus().<Hostile>consumer("test.hostile", message -> received.add(message.body())).completion().await();

    vertx.eventBus().send("test.hostile", new Hostile("a"));

    Eventually.within(WAIT, () -> assertThat(received).extracting(Hostile::text).containsExactly("a"));
    tap.release();
  }

  @Test
  void theLastReleaseTakesTheTapOffTheBus() {
    BusTap first = BusTap.acquire(vertx);
    BusTap second = BusTap.acquire(vertx);
    assertThat(second).as("one tap per node").isSameAs(first);
    vertx.eventBus().send("test.counted", "1");
    first.release();
    vertx.eventBus().send("test.counted", "2");
    assertThat(uncatalogued(second)).as("still installed while the second holder keeps it").isEqualTo(2);
    second.release();
    vertx.eventBus().send("test.counted", "3");

    BusTap fresh = BusTap.acquire(vertx);
    assertThat(fresh).isNotSameAs(first);
    assertThat(uncatalogued(fresh)).isZero();
    assertThat(uncatalogued(first)).as("nothing counted once released").isEqualTo(2);
    fresh.release();
  }

  private static long uncatalogued(BusTap tap) {
    return tap.report().getJsonObject("uncatalogued").getLong("seen");
  }
}
