package io.iotmeter.lifecycle;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.protocol.CommandEnvelope;
import io.iotmeter.protocol.CommandName;
import io.iotmeter.protocol.WireEnum;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Delivers the commands their device has not acknowledged receiving — not handed to MQTT when
 * they were created (the API answered 202), or queued in a session that a platform restart
 * lost: when their device shows up again, they go out in the order they were created.
 * Devices are looked at no more than once per {@code minInterval}, so a chatty device does not
 * cost a query per message.
 */
final class CommandRedelivery {

  private static final Logger LOG = LoggerFactory.getLogger(CommandRedelivery.class);

  private final Vertx vertx;
  private final Pool pool;
  private final Duration minInterval;
  private final Map<String, Instant> lastLook = new HashMap<>();
  private final Set<String> inFlight = new HashSet<>();
  private final Set<String> again = new HashSet<>();

  CommandRedelivery(Vertx vertx, Pool pool, Duration minInterval) {
    this.vertx = vertx;
    this.pool = pool;
    this.minInterval = minInterval;
  }

  /** The device was heard from; {@code reconnected} (an online status) skips the rate limit. */
  void deviceActive(String deviceId, boolean reconnected) {
    Instant now = Instant.now();
    Instant last = lastLook.get(deviceId);
    if (!reconnected && last != null && last.plus(minInterval).isAfter(now)) {
      return;
    }
    lastLook.put(deviceId, now);
    if (lastLook.size() > 100_000) {
      lastLook.clear(); // bounded memory; forgetting only costs an extra query
    }
    if (!inFlight.add(deviceId)) {
      // A look at this device is under way: one more after it, never two at once (which
      // would deliver the same command twice).
      again.add(deviceId);
      return;
    }
    redeliver(deviceId).onComplete(done -> {
      inFlight.remove(deviceId);
      if (again.remove(deviceId)) {
        deviceActive(deviceId, true);
      }
    });
  }

  /**
   * The device acknowledged the command's MQTT delivery: it is not sent again. (Until then a
   * command queued in a session may be lost with the process, so it goes out again.)
   */
  void delivered(String cmdId, String deviceId) {
    UUID id;
    try {
      id = UUID.fromString(cmdId);
    } catch (IllegalArgumentException | NullPointerException e) {
      return;
    }
    pool.preparedQuery("UPDATE device_commands SET delivered_at = now() WHERE cmd_id = $1 AND device_id = $2 AND delivered_at IS NULL")
        .execute(Tuple.of(id, deviceId))
        .onFailure(e -> LOG.warn("Recording the delivery of command {} failed (it may be sent again): {}", cmdId, e.getMessage()));
  }

  /**
   * Sends the device's pending commands that it has not acknowledged receiving, in order,
   * stopping at the first that cannot be sent. A session that still holds one gets no second
   * copy; a device that got one twice (a restart between its PUBCOMP and our record of it)
   * carries it out once, as it does for commands arriving through several brokers.
   */
  Future<Void> redeliver(String deviceId) {
    return pool.preparedQuery("SELECT cmd_id, device_id, cmd, params, created_at FROM device_commands "
            + "WHERE device_id = $1 AND status = 'pending' AND delivered_at IS NULL ORDER BY created_at")
        .execute(Tuple.of(deviceId))
        .compose(rows -> {
          Future<Void> chain = Future.succeededFuture();
          for (Row row : rows) {
            chain = chain.compose(v -> deliver(row));
          }
          return chain;
        })
        .onFailure(e -> LOG.warn("Redelivering the waiting commands of {} stopped (tried again when it is next heard from): {}",
            deviceId, e.getMessage()));
  }

  private Future<Void> deliver(Row row) {
    CommandEnvelope envelope = new CommandEnvelope(row.getUUID("cmd_id"), row.getString("device_id"),
        row.getOffsetDateTime("created_at").toInstant(),
        WireEnum.parse(CommandName.class, row.getString("cmd")).orElseThrow(), row.getJsonObject("params"));
    return vertx.eventBus().<JsonObject>request(BusAddress.COMMAND_SEND.address(), envelope.toBusMessage(),
            new DeliveryOptions().setSendTimeout(5_000))
        .compose(reply -> pool.preparedQuery("UPDATE device_commands SET published_at = now() WHERE cmd_id = $1")
            .execute(Tuple.of(envelope.cmdId())))
        .onSuccess(v -> LOG.info("Delivered command {} ({}) to {} after it came back", envelope.cmdId(),
            WireEnum.wire(envelope.cmd()), envelope.deviceId()))
        .mapEmpty();
  }
}
