package io.iotmeter.live;

import io.iotmeter.config.Settings;
import io.iotmeter.bus.BusAddress;
import io.iotmeter.bus.JsonViewCodec;
import io.iotmeter.bus.LocalCodec;
import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.protocol.Category;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Live telemetry and ingest rates for the bridges, from what this node's intake accepted: each
 * telemetry message goes out on {@code iot.live.telemetry.<device_id>} in its public shape
 * (device, seq, times and measurements, never the internal record), and every
 * {@code live.ingest_interval_ms} the node's count goes out on {@code iot.live.ingest}.
 * Deployed beside the intake on every ingest node (it reads the node-local
 * {@code iot.accepted.*}); nothing is published for a copy the intake dropped.
 */
public final class LiveFeedVerticle extends VerticleBase {

  private final List<MessageConsumer<Object>> consumers = new ArrayList<>();
  private final Set<String> devices = new HashSet<>();
  private long accepted;
  private long intervalStart;
  private long timer = -1;
  private String node;

  @Override
  public Future<?> start() {
    long interval = Settings.of(config(), "live").whole("ingest_interval_ms");
    node = io.iotmeter.ops.NodeName.of(vertx);
    LocalCodec.register(vertx, AcceptedMessage.class);
    JsonViewCodec.register(vertx, LiveTelemetry.class);
    for (Category category : Category.values()) {
      consumers.add(vertx.eventBus().localConsumer(BusAddress.ACCEPTED.address(category.categoryName()),
          m -> onAccepted(AcceptedMessage.of(m.body()))));
    }
    intervalStart = System.nanoTime();
    timer = vertx.setPeriodic(interval, id -> publishRate());
    return Future.all(consumers.stream().map(MessageConsumer::completion).toList());
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    return Future.all(consumers.stream().map(MessageConsumer::unregister).toList());
  }

  private void onAccepted(AcceptedMessage message) {
    accepted++;
    if (devices.size() < MAX_DEVICES_COUNTED) {
      devices.add(message.deviceId());
    }
    if (message.category() == Category.TELEMETRY) {
      // Its JSON is built only for a consumer (JsonViewCodec): most devices have no dashboard open.
      vertx.eventBus().publish(BusAddress.LIVE_TELEMETRY.address(message.deviceId()), new LiveTelemetry(message));
    }
  }

  /** Distinct devices counted per interval, at most (a bound on the set, not on the count of messages). */
  static final int MAX_DEVICES_COUNTED = 100_000;

  private void publishRate() {
    long now = System.nanoTime();
    double seconds = (now - intervalStart) / 1e9;
    vertx.eventBus().publish(BusAddress.LIVE_INGEST.address(), new JsonObject()
        .put("node", node)
        .put("at", Instant.now().toString())
        .put("interval_s", Math.round(seconds * 10) / 10.0)
        .put("accepted", accepted)
        .put("accepted_per_s", seconds <= 0 ? 0 : Math.round(accepted / seconds * 10) / 10.0)
        .put("devices", devices.size()));
    accepted = 0;
    devices.clear();
    intervalStart = now;
  }
}
