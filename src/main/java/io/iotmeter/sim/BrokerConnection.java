package io.iotmeter.sim;

import io.iotmeter.ops.Backoff;
import io.iotmeter.protocol.Category;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * A meter's connection to one broker, as the protocol's "Session" prescribes: client id = device
 * id, persistent session, keep-alive 15 s, a will of {@code status: offline} (QoS 1, retained),
 * {@code status: online} right after connecting, and a QoS 2 subscription to the meter's
 * command topic. A broker that goes away is reconnected with back-off.
 *
 * <p>Messages go through an outbox, so nothing is lost while the broker is away: they wait
 * (up to {@code capacity}, then the oldest are dropped as a full device buffer drops them) and at
 * most {@link #WINDOW} are unacknowledged on the wire. Messages the broker had not acknowledged
 * when the connection broke are sent again on the next one; the platform keeps one copy.
 *
 * <p>Used only on the meter's context.
 */
final class BrokerConnection {

  private static final Logger LOG = LoggerFactory.getLogger(BrokerConnection.class);

  /** Unacknowledged messages at once: a small window, as a constrained device keeps. */
  static final int WINDOW = 10;
  static final int KEEP_ALIVE_S = 15;
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);

  private final Vertx vertx;
  private final BrokerAddress address;
  private final String deviceId;
  private final int capacity;
  private final Backoff backoff;
  private final Consumer<Buffer> commands;
  /** 4: MQTT 3.1.1, 5: MQTT 5 ({@code simulator.mqtt_version}). */
  private final int mqttVersion;
  private final String statusTopic;

  private final ArrayDeque<Outgoing> queue = new ArrayDeque<>();
  /** Handed to the client, not yet acknowledged, by the order they were handed over. */
  private final TreeMap<Long, Outgoing> unconfirmed = new TreeMap<>();
  private final Map<Integer, Long> orderByPacketId = new HashMap<>();
  /** Acknowledgements that overtook the write's own completion. */
  private final Set<Integer> confirmedEarly = new HashSet<>();
  private final List<Promise<Void>> drainWaiters = new ArrayList<>();
  private long nextOrder;
  private long dropped;

  private MeterMqtt client;
  private volatile boolean connected;
  private boolean open;
  private long reconnectTimer = -1;

  private final java.util.function.Supplier<MeterCredentials> credentials;

  BrokerConnection(Vertx vertx, BrokerAddress address, String deviceId, int capacity, Backoff backoff,
                   Consumer<Buffer> commands, java.util.function.Supplier<MeterCredentials> credentials, int mqttVersion) {
    this.mqttVersion = mqttVersion;
    this.credentials = credentials;
    this.vertx = vertx;
    this.address = address;
    this.deviceId = deviceId;
    this.capacity = capacity;
    this.backoff = backoff;
    this.commands = commands;
    this.statusTopic = MeterMessages.topic(deviceId, Category.STATUS);
  }

  BrokerAddress address() {
    return address;
  }

  boolean connected() {
    return connected;
  }

  /** Messages not yet acknowledged by this broker, waiting or on the wire. */
  int backlog() {
    return queue.size() + unconfirmed.size();
  }

  int capacity() {
    return capacity;
  }

  /** Messages dropped because the outbox was full. */
  long dropped() {
    return dropped;
  }

  /** Connects, and keeps reconnecting until {@link #close}; completes after the first attempt, whatever its outcome. */
  Future<Void> open() {
    open = true;
    return connect();
  }

  void send(Outgoing message) {
    queue.addLast(message);
    while (queue.size() > capacity) {
      queue.pollFirst();
      dropped++;
    }
    drain();
  }

  /**
   * Leaves the broker cleanly: what is queued is sent (for at most {@code timeout}), then
   * {@code status: offline}, then DISCONNECT — so the broker does not fire the will. The outbox
   * keeps what could not be sent for a later {@link #open}.
   */
  Future<Void> close(Duration timeout) {
    open = false;
    if (reconnectTimer != -1) {
      vertx.cancelTimer(reconnectTimer);
      reconnectTimer = -1;
    }
    MeterMqtt c = client;
    if (c == null) {
      return Future.succeededFuture();
    }
    if (!connected) {
      return c.disconnect().recover(e -> Future.succeededFuture());
    }
    send(status("offline"));
    return drained(timeout).compose(v -> c.disconnect()).recover(e -> Future.succeededFuture());
  }

  /** Completes when nothing is left to send, or after {@code timeout}. */
  Future<Void> drained(Duration timeout) {
    if (queue.isEmpty() && unconfirmed.isEmpty()) {
      return Future.succeededFuture();
    }
    Promise<Void> promise = Promise.promise();
    drainWaiters.add(promise);
    long timer = vertx.setTimer(timeout.toMillis(), id -> promise.tryComplete());
    return promise.future().onComplete(done -> vertx.cancelTimer(timer));
  }

  private Future<Void> connect() {
    reconnectTimer = -1;
    MeterCredentials credential = credentials.get();
    // A broker that swallows packets must not hold up a boot for the operating system's minute.
    MeterMqtt.Login login = new MeterMqtt.Login(deviceId, KEEP_ALIVE_S, statusTopic,
        MeterMessages.status(deviceId, "offline", Instant.now()).toBuffer(),
        credential == null ? null : credential.username(), credential == null ? null : credential.password(),
        (int) CONNECT_TIMEOUT.toMillis());
    // A new client per connection: Vert.x keeps a client's in-flight count across connections.
    MeterMqtt c = mqttVersion >= 5 ? new Mqtt5MeterClient(vertx, login) : new VertxMeterMqtt(vertx, login, WINDOW);
    client = c;
    confirmedEarly.clear();
    c.publishHandler(message -> {
      if (c == client) {
        commands.accept(message);
      }
    });
    c.publishCompletionHandler(packetId -> {
      if (c == client) {
        confirmed(packetId);
      }
    });
    c.exceptionHandler(e -> LOG.debug("Meter {} on broker {}: {}", deviceId, address, e.getMessage()));
    c.closeHandler(() -> onClosed(c));
    return c.connect(address.port(), address.host())
        .<Void>map(connack -> {
          if (c != client || !open) {
            c.disconnect();
            return null;
          }
          connected = true;
          backoff.reset();
          LOG.debug("Meter {} connected to broker {}", deviceId, address);
          // Subscribing before announcing itself: whoever sees the meter online can command it.
          c.subscribe(MeterMessages.commandTopic(deviceId), 2).onFailure(e -> {
            LOG.warn("Meter {} cannot subscribe on broker {}: {}; reconnecting", deviceId, address, e.getMessage());
            c.disconnect();
          });
          queue.addFirst(status("online"));
          drain();
          return null;
        })
        .recover(e -> {
          LOG.debug("Meter {} cannot connect to broker {}: {}", deviceId, address, e.getMessage());
          if (c == client) {
            scheduleReconnect();
          }
          return Future.succeededFuture();
        });
  }

  private Outgoing status(String status) {
    return new Outgoing(statusTopic, MeterMessages.status(deviceId, status, Instant.now()).toBuffer(), 1, true, true);
  }

  private void drain() {
    MeterMqtt c = client;
    while (connected && c.isConnected() && unconfirmed.size() < Math.min(WINDOW, c.receiveMaximum()) && !queue.isEmpty()) {
      Outgoing message = queue.pollFirst();
      long order = nextOrder++;
      if (message.qos() > 0) {
        unconfirmed.put(order, message);
      }
      c.publish(message.topic(), message.payload(), message.qos(), message.retain())
          .onSuccess(packetId -> {
            if (c != client || message.qos() == 0) {
              return;
            }
            if (confirmedEarly.remove(packetId)) {
              unconfirmed.remove(order);
              drain();
            } else {
              orderByPacketId.put(packetId, order);
            }
          })
          .onFailure(e -> {
            if (c == client && connected) {
              // Start afresh: the reconnect sends it again with everything else unacknowledged.
              LOG.debug("Meter {} could not publish on broker {}: {}; reconnecting", deviceId, address, e.getMessage());
              c.disconnect();
            }
          });
    }
    if (queue.isEmpty() && unconfirmed.isEmpty() && !drainWaiters.isEmpty()) {
      List<Promise<Void>> waiters = new ArrayList<>(drainWaiters);
      drainWaiters.clear();
      waiters.forEach(Promise::tryComplete);
    }
  }

  private void confirmed(int packetId) {
    Long order = orderByPacketId.remove(packetId);
    if (order == null) {
      confirmedEarly.add(packetId);
      return;
    }
    unconfirmed.remove(order);
    drain();
  }

  private void onClosed(MeterMqtt c) {
    if (c != client) {
      return;
    }
    if (connected) {
      LOG.debug("Meter {} lost broker {}", deviceId, address);
    }
    connected = false;
    // A status belongs to the connection it announced; the next connection announces itself anew.
    List<Outgoing> replay = unconfirmed.values().stream().filter(m -> !m.perConnection()).toList();
    unconfirmed.clear();
    orderByPacketId.clear();
    confirmedEarly.clear();
    queue.removeIf(Outgoing::perConnection);
    for (int i = replay.size() - 1; i >= 0; i--) {
      queue.addFirst(replay.get(i));
    }
    scheduleReconnect();
  }

  private void scheduleReconnect() {
    if (!open || reconnectTimer != -1) {
      return;
    }
    reconnectTimer = vertx.setTimer(backoff.next().toMillis(), id -> {
      reconnectTimer = -1;
      if (open && !connected) {
        connect();
      }
    });
  }
}
