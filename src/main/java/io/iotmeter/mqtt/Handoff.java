package io.iotmeter.mqtt;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.intake.InboundMessage;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.List;

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
    this.options = new DeliveryOptions().setSendTimeout(timeout.toMillis());
  }

  /** Succeeds with the intake's answer ({@code outcome}: accepted, duplicate, rejected). */
  public Future<JsonObject> send(InboundMessage message) {
    return attempt(message.toJson(), 0);
  }

  private Future<JsonObject> attempt(JsonObject body, int retry) {
    return vertx.eventBus().<JsonObject>request(BusAddress.INBOUND.address(), body, options)
        .map(reply -> reply.body())
        .recover(e -> {
          if (retry >= RETRIES.size()) {
            return Future.failedFuture(e);
          }
          return Future.<Void>future(p -> vertx.setTimer(RETRIES.get(retry).toMillis(), id -> p.complete()))
              .compose(v -> attempt(body, retry + 1));
        });
  }
}
