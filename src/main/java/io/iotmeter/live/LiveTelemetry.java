package io.iotmeter.live;

import io.iotmeter.bus.LocalBody;
import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.protocol.IsoInstant;
import io.iotmeter.protocol.Measurement;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * One accepted telemetry message as {@code iot.live.telemetry.<device_id>} publishes it. Sent
 * through {@link io.iotmeter.bus.JsonViewCodec}: its consumers get {@link #toJson}, the public
 * shape (device, seq, times and measurements, never the internal record), which is built only
 * when there is a consumer.
 */
public record LiveTelemetry(AcceptedMessage message) implements LocalBody {

  /** The public shape (catalogue: iot.live.telemetry.&lt;device_id&gt;). */
  @Override
  public JsonObject toJson() {
    List<Measurement> measurements = message.parse().measurements();
    JsonArray samples = new JsonArray(new ArrayList<>(measurements.size()));
    // A datagram's samples mostly share their time: each distinct one is formatted once.
    Instant lastTs = null;
    String lastText = null;
    for (Measurement m : measurements) {
      if (!m.ts().equals(lastTs)) {
        lastTs = m.ts();
        lastText = IsoInstant.format(lastTs);
      }
      samples.add(new JsonObject().put("type", m.type()).put("value", m.value()).put("unit", m.unit()).put("ts", lastText));
    }
    return new JsonObject()
        .put("device_id", message.deviceId())
        .put("seq", message.seq())
        .put("ts", message.deviceTs() == null ? null : IsoInstant.format(message.deviceTs()))
        .put("received_at", IsoInstant.format(message.receivedAt()))
        .put("measurements", samples);
  }
}
