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

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Delivers the commands their device has not acknowledged receiving — not handed to MQTT when
 * they were created (the API answered 202), or queued in a session that a platform restart
 * lost: when their device shows up again, they go out in the order they were created.
 * Devices are looked at no more than once per {@code minInterval}, so a chatty device does not
 * cost a query per message; and the devices heard from are looked at together, up to
 * {@link #MAX_DEVICES_PER_LOOK} in one query every {@link #GATHER_MS} at most, so ten thousand
 * meters coming back at once cost ten queries, not ten thousand (which filled the pool's wait
 * queue in the 10,000-meter benchmark), and their commands go out {@link #PARALLEL_DEVICES}
 * devices at a time. One look runs at a time, so no device is ever looked at
 * twice at once (which would deliver the same command twice); a device heard from during a
 * look is looked at again after it.
 */
final class CommandRedelivery {

  private static final Logger LOG = LoggerFactory.getLogger(CommandRedelivery.class);

  private final Vertx vertx;
  private final Pool pool;
  private final Duration minInterval;
  /** Devices at most in one look (one query). */
  static final int MAX_DEVICES_PER_LOOK = 1000;
  /** How long the devices heard from gather before a look. */
  static final long GATHER_MS = 100;
  /** Devices whose commands go out at the same time, at most. */
  static final int PARALLEL_DEVICES = 8;

  private final Map<String, Instant> lastLook = new HashMap<>();
  /** Devices to look at, in the order they were heard from. */
  private final Set<String> due = new LinkedHashSet<>();
  private boolean looking;
  private long gatherTimer = -1;

  /** What the rate limit reads the time from. */
  private final Clock clock;
  /** {@link #GATHER_MS}, but for tests. */
  private final long gatherMs;

  CommandRedelivery(Vertx vertx, Pool pool, Duration minInterval) {
    this(vertx, pool, minInterval, Clock.systemUTC(), GATHER_MS);
  }

  /**
   * With the clock the rate limit reads and the time the devices heard from gather: tests step
   * the clock past {@code commands.redelivery_check_ms} (30 s) and gather for a millisecond
   * instead of waiting either out.
   */
  CommandRedelivery(Vertx vertx, Pool pool, Duration minInterval, Clock clock, long gatherMs) {
    this.vertx = vertx;
    this.pool = pool;
    this.minInterval = minInterval;
    this.clock = clock;
    this.gatherMs = gatherMs;
  }

  /** The device was heard from; {@code reconnected} (an online status) skips the rate limit. */
  void deviceActive(String deviceId, boolean reconnected) {
    Instant now = clock.instant();
    Instant last = lastLook.get(deviceId);
    if (!reconnected && last != null && last.plus(minInterval).isAfter(now)) {
      return;
    }
    lastLook.put(deviceId, now);
    if (lastLook.size() > 100_000) {
      lastLook.clear(); // bounded memory; forgetting only costs an extra query
    }
    due.add(deviceId);
    scheduleLook();
  }

  /**
   * No device due, no look gathering or under way: until a device is heard from again, no look
   * (and no send) can happen. For tests, on the event loop, to count looks and sends exactly
   * instead of waiting a while to see none.
   */
  boolean idle() {
    return !looking && gatherTimer < 0 && due.isEmpty();
  }

  private void scheduleLook() {
    if (looking || gatherTimer >= 0 || due.isEmpty()) {
      return;
    }
    gatherTimer = vertx.setTimer(gatherMs, id -> {
      gatherTimer = -1;
      List<String> devices = new ArrayList<>(Math.min(due.size(), MAX_DEVICES_PER_LOOK));
      for (java.util.Iterator<String> it = due.iterator(); it.hasNext() && devices.size() < MAX_DEVICES_PER_LOOK; ) {
        devices.add(it.next());
        it.remove();
      }
      looking = true;
      redeliver(devices).onComplete(done -> {
        looking = false;
        scheduleLook();
      });
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
    io.iotmeter.registry.RegistryWrites.commandDelivered(pool, id, deviceId)
        .onFailure(e -> LOG.warn("Recording the delivery of command {} failed (it may be sent again): {}", cmdId, e.getMessage()));
  }

  /**
   * Sends the device's pending commands that it has not acknowledged receiving, in order,
   * stopping at the first that cannot be sent. A session that still holds one gets no second
   * copy; a device that got one twice (a restart between its PUBCOMP and our record of it)
   * carries it out once, as it does for commands arriving through several brokers.
   */
  Future<Void> redeliver(String deviceId) {
    return redeliver(List.of(deviceId));
  }

  /** {@link #redeliver(String)} for several devices with one query; each device's commands in order, the devices side by side. */
  Future<Void> redeliver(List<String> deviceIds) {
    return pool.preparedQuery("SELECT cmd_id, device_id, cmd, params, created_at FROM device_commands "
            + "WHERE device_id = ANY($1) AND status = 'pending' AND delivered_at IS NULL ORDER BY device_id, created_at")
        .execute(Tuple.of(deviceIds.toArray(String[]::new)))
        .onFailure(e -> LOG.warn("Looking for the waiting commands of {} device(s) failed (tried again when they are next "
            + "heard from): {}", deviceIds.size(), e.getMessage()))
        .compose(rows -> {
          Map<String, List<Row>> byDevice = new LinkedHashMap<>();
          rows.forEach(row -> byDevice.computeIfAbsent(row.getString("device_id"), d -> new ArrayList<>()).add(row));
          List<String> devices = new ArrayList<>(byDevice.keySet());
          // A few devices side by side, not all: every delivery ends in an UPDATE on the lifecycle's
          // pool, and a thousand at once would fill its wait queue again.
          java.util.concurrent.atomic.AtomicReference<Throwable> failed = new java.util.concurrent.atomic.AtomicReference<>();
          List<Future<Void>> lanes = new ArrayList<>();
          for (int lane = 0; lane < Math.min(PARALLEL_DEVICES, devices.size()); lane++) {
            Future<Void> chain = Future.succeededFuture();
            for (int i = lane; i < devices.size(); i += PARALLEL_DEVICES) {
              String deviceId = devices.get(i);
              chain = chain.compose(v -> inOrder(deviceId, byDevice.get(deviceId)).recover(e -> {
                failed.compareAndSet(null, e);
                return Future.succeededFuture();
              }));
            }
            lanes.add(chain);
          }
          return Future.all(lanes).compose(v -> failed.get() == null ? Future.<Void>succeededFuture()
              : Future.<Void>failedFuture(failed.get()));
        });
  }

  /** One device's commands, in the order they were created, stopping at the first that cannot be sent. */
  private Future<Void> inOrder(String deviceId, List<Row> commands) {
    Future<Void> chain = Future.succeededFuture();
    for (Row row : commands) {
      chain = chain.compose(v -> deliver(row));
    }
    return chain.onFailure(e -> LOG.warn("Redelivering the waiting commands of {} stopped (tried again when it is next "
        + "heard from): {}", deviceId, e.getMessage()));
  }

  private Future<Void> deliver(Row row) {
    CommandEnvelope envelope = new CommandEnvelope(row.getUUID("cmd_id"), row.getString("device_id"),
        row.getOffsetDateTime("created_at").toInstant(),
        WireEnum.parse(CommandName.class, row.getString("cmd")).orElseThrow(), row.getJsonObject("params"));
    return vertx.eventBus().<JsonObject>request(BusAddress.COMMAND_SEND.address(), envelope.toBusMessage(),
            new DeliveryOptions().setSendTimeout(5_000))
        .compose(reply -> io.iotmeter.registry.RegistryWrites.commandPublished(pool, envelope.cmdId()))
        .onSuccess(v -> LOG.info("Delivered command {} ({}) to {} after it came back", envelope.cmdId(),
            WireEnum.wire(envelope.cmd()), envelope.deviceId()))
        .mapEmpty();
  }
}
