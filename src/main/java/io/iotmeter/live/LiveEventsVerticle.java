package io.iotmeter.live;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.store.Database;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.pubsub.PgSubscriber;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Status changes, new alerts and command updates as they commit: LISTENs on PostgreSQL's
 * {@code iot_live} channel, which triggers on {@code devices}, {@code device_alerts} and
 * {@code device_commands} notify (migration V12, so every writer of those tables is covered),
 * and publishes each on its public address ({@code iot.live.status}, {@code iot.live.alerts},
 * {@code iot.live.commands}). One at a time per cluster — each would publish every event — so
 * every instance waits for the cluster-wide lock {@code iot.live_events} and only its holder
 * listens; when the holder's node leaves, the cluster frees the lock and another takes over.
 *
 * <p>While the LISTEN connection is down (it reconnects every second) events are not seen: the
 * live stream shows what happens, the REST API holds the record — a client that reconnects
 * reads the current state there.
 */
public final class LiveEventsVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(LiveEventsVerticle.class);
  static final String CHANNEL = "iot_live";

  private PgSubscriber subscriber;
  private io.iotmeter.ops.ClusterSingleton singleton;
  private boolean stopped;
  static final String LOCK = "iot.live_events";

  @Override
  public Future<?> start() {
    // Listens once this instance holds the lock.
    singleton = io.iotmeter.ops.ClusterSingleton.start(vertx, LOCK, this::listen);
    return Future.succeededFuture();
  }

  private void listen() {
    subscriber = PgSubscriber.subscriber(vertx, Database.connectOptions(config().getJsonObject("postgres")))
        .reconnectPolicy(retries -> 1_000L);
    subscriber.channel(CHANNEL).handler(this::onNotification);
    subscriber.closeHandler(v -> LOG.warn("Live events: the LISTEN connection to PostgreSQL is closed; reconnecting"));
    connect();
  }

  /** The reconnect policy covers a lost connection, not a first one: a database not up yet is asked again. */
  private void connect() {
    subscriber.connect().onFailure(e -> {
      if (!stopped) {
        LOG.warn("Live events: cannot LISTEN yet ({}); retrying in 1 s", e.getMessage());
        vertx.setTimer(1_000, id -> connect());
      }
    });
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    singleton.stopWaiting();
    Future<Void> closed = subscriber == null ? Future.succeededFuture() : subscriber.close();
    return closed.onComplete(v -> singleton.release());
  }

  private void onNotification(String payload) {
    JsonObject event;
    try {
      event = new JsonObject(payload);
    } catch (DecodeException e) {
      LOG.warn("Live events: unreadable notification ignored: {}", e.getMessage());
      return;
    }
    Object kind = event.remove("kind");
    BusAddress address = kind == null ? null : switch (kind.toString()) {
      case "status" -> BusAddress.LIVE_STATUS;
      case "alert" -> BusAddress.LIVE_ALERTS;
      case "command" -> BusAddress.LIVE_COMMANDS;
      default -> null;
    };
    if (address == null) {
      LOG.warn("Live events: notification of unknown kind {} ignored", kind);
      return;
    }
    vertx.eventBus().publish(address.address(), event);
  }
}
