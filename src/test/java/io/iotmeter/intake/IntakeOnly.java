package io.iotmeter.intake;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.bus.LocalCodec;
import io.iotmeter.protocol.InboundMessage;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.RunningPlatform;
import io.vertx.core.Future;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.function.Consumer;

/**
 * A platform of the intake and the API alone, fed the way the MQTT side feeds it: an
 * {@code iot.inbound} request per message, from meter dc-meter-001.
 */
final class IntakeOnly {

  private IntakeOnly() {
  }

  /** Starts it; {@code intake} adjusts the intake's settings first. */
  static RunningPlatform start(Consumer<JsonObject> intake) {
    JsonObject config = RunningPlatform.ingestConfig();
    config.put("deploy", new JsonObject().put("intake", 1).put("api", 1));
    intake.accept(config.getJsonObject("intake"));
    RunningPlatform platform = RunningPlatform.start(config);
    LocalCodec.register(platform.vertx(), InboundMessage.class);
    return platform;
  }

  /** Hands dc-meter-001's telemetry datagram {@code seq} to the intake; the future holds its answer. */
  static Future<JsonObject> hand(RunningPlatform platform, long seq) {
    byte[] payload = Datagrams.telemetry("dc-meter-001", seq).encode().getBytes(StandardCharsets.UTF_8);
    InboundMessage message = new InboundMessage("iot/dc-meter-001/telemetry", payload, 1, "endpoint", "dc-meter-001",
        Instant.now());
    return platform.vertx().eventBus().<JsonObject>request(BusAddress.INBOUND.address(), message,
        new DeliveryOptions(LocalCodec.OPTIONS).setSendTimeout(30_000)).map(reply -> reply.body());
  }
}
