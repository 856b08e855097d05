package io.iotmeter.lifecycle;

import io.iotmeter.config.Settings;
import io.iotmeter.bus.BusAddress;
import io.iotmeter.ops.Periodic;
import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.protocol.Category;
import io.iotmeter.store.Database;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * The device lifecycle: liveness (silent devices go offline, once per outage), command
 * time-outs, and delivery of commands that waited for their device.
 */
public final class LifecycleVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(LifecycleVerticle.class);

  private Pool pool;
  private final List<Long> timers = new ArrayList<>();
  private final List<MessageConsumer<?>> consumers = new ArrayList<>();

  @Override
  public Future<?> start() {
    Settings liveness = Settings.of(config(), "liveness");
    Settings commands = Settings.of(config(), "commands");
    pool = Database.pool(vertx, config().getJsonObject("postgres"), "lifecycle-" + System.identityHashCode(this));
    LivenessCheck check = new LivenessCheck(pool, liveness.integer("default_send_interval_s"),
        liveness.integer("default_hello_interval_s"));
    CommandTimeouts timeouts = new CommandTimeouts(pool, commands.whole("ack_timeout_s"));
    CommandRedelivery redelivery = new CommandRedelivery(vertx, pool,
        commands.millis("redelivery_check_ms"));

    // Each scan runs once at a time: a slow database skips ticks instead of piling up scans.
    timers.add(Periodic.every(vertx, liveness.whole("check_interval_ms"), "Liveness check", LOG,
        () -> check.run().onSuccess(n -> {
          if (n > 0) {
            LOG.info("{} device(s) went silent and are now offline", n);
          }
        })));
    io.micrometer.core.instrument.Counter timedOut = io.micrometer.core.instrument.Counter
        .builder("device_manager.commands.timed.out").description("Commands that got no acknowledgement within commands.ack_timeout_s")
        .register(io.iotmeter.ops.PlatformMetrics.registry(config()));
    timers.add(Periodic.every(vertx, commands.whole("timeout_scan_ms"), "Command time-out scan", LOG,
        () -> timeouts.run().onSuccess(timedOut::increment)));
    consumers.add(vertx.eventBus().<JsonObject>consumer(BusAddress.COMMAND_DELIVERED.address(), message ->
        redelivery.delivered(message.body().getString("cmd_id"), message.body().getString("device_id"))));
    for (Category category : Category.values()) {
      consumers.add(vertx.eventBus().<Object>localConsumer(BusAddress.ACCEPTED.address(category.categoryName()), message -> {
        AcceptedMessage accepted = AcceptedMessage.of(message.body());
        boolean online = category == Category.STATUS && "online".equals(accepted.parse().payload().getString("status"));
        if (category != Category.STATUS || online) {
          redelivery.deviceActive(accepted.deviceId(), online);
        }
      }));
    }
    return Future.all(consumers.stream().map(MessageConsumer::completion).toList());
  }

  @Override
  public Future<?> stop() {
    timers.forEach(vertx::cancelTimer);
    return Future.all(consumers.stream().map(MessageConsumer::unregister).toList()).eventually(() -> pool.close());
  }
}
