package io.iotmeter.mqtt;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.intake.InboundMessage;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Hands a received message to the intake over {@code iot.inbound} and waits until it is
 * durable (or known as a copy, or refused as malformed). Brief outages are retried; when the
 * intake stays unavailable the future fails and the message is not acknowledged, so the sender
 * keeps it. Shared by the device endpoint and the broker bridge.
 */
public final class Handoff {

  private static final List<Duration> RETRIES = List.of(Duration.ofMillis(200), Duration.ofSeconds(1), Duration.ofSeconds(3));

  private final Vertx vertx;
  private final DeliveryOptions options;

  public Handoff(Vertx vertx, Duration timeout) {
    this.vertx = vertx;
    this.options = new DeliveryOptions(io.iotmeter.bus.LocalCodec.OPTIONS).setSendTimeout(timeout.toMillis());
    io.iotmeter.bus.LocalCodec.register(vertx, InboundMessage.class);
  }

  /** Succeeds with the intake's answer ({@code outcome}: accepted, duplicate, rejected). */
  public Future<JsonObject> send(InboundMessage message) {
    return attempt(message, 0, () -> false);
  }

  /**
   * Like {@link #send}, but keeps trying (every {@link #PATIENCE}) for as long as {@code wanted}
   * says the sender is still there: a saturated or unreachable intake then holds the message
   * back — and the sender's socket, at its bound — instead of failing it and dropping the
   * connection. Fails only once nobody wants the answer any more.
   */
  public Future<JsonObject> sendWhile(InboundMessage message, BooleanSupplier wanted) {
    return attempt(message, 0, wanted);
  }

  static final Duration PATIENCE = Duration.ofSeconds(5);

  /**
   * Between half and one and a half times the delay: when an overloaded intake refuses many
   * messages at once, their retries spread out instead of arriving together again.
   */
  static long jittered(long millis) {
    return Math.max(1, millis / 2 + java.util.concurrent.ThreadLocalRandom.current().nextLong(millis + 1));
  }

  private Future<JsonObject> attempt(InboundMessage body, int retry, BooleanSupplier wanted) {
    return vertx.eventBus().<JsonObject>request(BusAddress.INBOUND.address(), body, options)
        .map(reply -> reply.body())
        .recover(e -> {
          boolean patient = retry >= RETRIES.size();
          if (patient && !wanted.getAsBoolean()) {
            return Future.failedFuture(e);
          }
          long delay = jittered((patient ? PATIENCE : RETRIES.get(retry)).toMillis());
          return Future.<Void>future(p -> vertx.setTimer(delay, id -> p.complete()))
              .compose(v -> attempt(body, Math.min(retry + 1, RETRIES.size()), wanted));
        });
  }
}
