package io.iotmeter.mqtt;

import io.iotmeter.protocol.InboundMessage;
import io.iotmeter.ops.Backoff;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.protocol.Category;
import io.iotmeter.protocol.DeviceTopic;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.mqtt.MqttClient;
import io.vertx.mqtt.MqttClientOptions;
import io.vertx.mqtt.messages.MqttPublishMessage;
import io.vertx.mqtt.messages.MqttSubAckMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One connection of the bridge to an external broker: a persistent session subscribed to the
 * five device → platform filters, reconnecting with back-off (with jitter, so nodes do not
 * stampede a broker that comes back). A message is acknowledged to the broker only after the
 * intake made it durable, in arrival order; until then the broker keeps it in our session.
 */
final class BrokerLink {

  private static final Logger LOG = LoggerFactory.getLogger(BrokerLink.class);

  /** Where and how to connect. */
  record Settings(String host, int port, String clientId, String sharedGroup, int keepAliveSeconds,
                  Duration minBackoff, Duration maxBackoff, String username, String password,
                  boolean dynamicSecurity, boolean tls, io.vertx.core.net.TrustOptions trust) {
  }

  /** Mosquitto's dynamic-security control topic; answers come on {@code <it>/response}. */
  static final String CONTROL_TOPIC = "$CONTROL/dynamic-security/v1";
  private static final String CONTROL_RESPONSE = CONTROL_TOPIC + "/response";
  private static final long CONTROL_TIMEOUT_S = 10;
  /** Control requests waiting for the broker's answer, by correlation id. */
  private final Map<String, Promise<io.vertx.core.json.JsonArray>> controls = new java.util.HashMap<>();

  /**
   * Our subscriptions' QoS. Always 1: the Vert.x client answers a QoS 2 message with PUBREC
   * before the application sees it, so a crash in between would lose it; at QoS 1 the PUBACK
   * waits until the message is durable, and the copies QoS 1 may bring are what the
   * de-duplication removes.
   */
  static final int QOS = 1;
  /** How long the broker may take to answer SUBSCRIBE before the connection is dropped and made again. */
  static final Duration SUBACK_TIMEOUT = Duration.ofSeconds(10);

  private final Vertx vertx;
  private final Settings settings;
  private final Handoff handoff;
  private final IngestMetrics metrics;
  private final String name;
  private final Duration subackTimeout;
  private MqttClient client;
  private OrderedAcks acks = new OrderedAcks();
  private final Backoff backoff;
  private boolean stopped;
  /** A reconnect is scheduled or under way: never two at once. */
  private boolean reconnecting;
  private volatile boolean connected;
  /** The filters the broker refused on the last connect (SUBACK failure or a lower QoS); empty when none. */
  private volatile List<String> refused = List.of();

  BrokerLink(Vertx vertx, Settings settings, Handoff handoff, IngestMetrics metrics) {
    this(vertx, settings, handoff, metrics, SUBACK_TIMEOUT);
  }

  /**
   * With another SUBACK timeout: only so that tests of a broker that never answers SUBSCRIBE
   * take milliseconds; production always uses {@link #SUBACK_TIMEOUT}.
   */
  BrokerLink(Vertx vertx, Settings settings, Handoff handoff, IngestMetrics metrics, Duration subackTimeout) {
    this.vertx = vertx;
    this.subackTimeout = subackTimeout;
    this.settings = settings;
    this.handoff = handoff;
    this.metrics = metrics;
    this.name = settings.host() + ":" + settings.port();
    this.backoff = new Backoff(settings.minBackoff(), settings.maxBackoff());
  }

  String name() {
    return name;
  }

  boolean connected() {
    return connected;
  }

  /** Connected and subscribed to every filter at the QoS asked for. */
  boolean subscribed() {
    return connected && refused.isEmpty();
  }

  List<String> refusedFilters() {
    return refused;
  }

  /** Starts connecting; the future completes after the first attempt, whatever its outcome. */
  Future<Void> start() {
    return connect().recover(e -> Future.succeededFuture());
  }

  Future<Void> stop() {
    stopped = true;
    connected = false;
    metrics.connection("bridge-" + name, false);
    return client == null || !client.isConnected() ? Future.succeededFuture() : client.disconnect();
  }

  /** Publishes a command on this broker; completes when the broker has it (PUBACK / PUBREC sent back). */
  Future<Void> publish(String topic, Buffer payload, int qos) {
    if (!connected) {
      return Future.failedFuture("not connected to " + name);
    }
    return client.publish(topic, payload, MqttQoS.valueOf(qos), false, false).mapEmpty();
  }

  private Future<Void> connect() {
    MqttClientOptions options = new MqttClientOptions()
        .setClientId(settings.clientId())
        .setCleanSession(false)
        .setKeepAliveInterval(settings.keepAliveSeconds())
        .setMaxInflightQueue(100);
    // Our own reconnect loop (with back-off and a fresh session check); no PUBACK before the hand-off.
    options.setReconnectAttempts(0);
    options.setAutoAck(false);
    if (settings.username() != null && !settings.username().isEmpty()) {
      options.setUsername(settings.username()).setPassword(settings.password());
    }
    if (settings.tls()) {
      options.setSsl(true).setHostnameVerificationAlgorithm("HTTPS");
      if (settings.trust() != null) {
        options.setTrustOptions(settings.trust());
      }
    }
    MqttClient attempt = MqttClient.create(vertx, options);
    client = attempt;
    acks = new OrderedAcks();
    attempt.publishHandler(this::onMessage);
    // Bound to this connection: the close of an older one must not touch a newer one.
    attempt.closeHandler(v -> onClosed(attempt));
    Map<String, Integer> filters = filters();
    // subscribe() completes when SUBSCRIBE is sent; the broker's verdict comes with SUBACK.
    Promise<MqttSubAckMessage> subscribed = Promise.promise();
    attempt.subscribeCompletionHandler(subscribed::tryComplete);
    return attempt.connect(settings.port(), settings.host())
        .compose(connack -> wanted(attempt).compose(v -> attempt.subscribe(filters)))
        .compose(packetId -> subscribed.future().timeout(subackTimeout.toMillis(), TimeUnit.MILLISECONDS))
        .compose(suback -> wanted(attempt).map(suback))
        .onSuccess(suback -> {
          List<String> names = new ArrayList<>(filters.keySet());
          List<String> refusedNow = new ArrayList<>();
          List<Integer> granted = suback.grantedQoSLevels();
          for (int i = 0; i < names.size(); i++) {
            // 0x80 is a refusal; a lower QoS than asked for could lose messages.
            if (i >= granted.size() || granted.get(i) == 0x80 || granted.get(i) < QOS) {
              refusedNow.add(names.get(i));
            }
          }
          refused = List.copyOf(refusedNow);
          connected = true;
          backoff.reset();
          metrics.connection("bridge-" + name, true);
          if (refusedNow.isEmpty()) {
            LOG.info("Bridge connected to broker {} as {} (QoS {} subscriptions{})", name, settings.clientId(), QOS,
                settings.sharedGroup() == null ? "" : ", shared group " + settings.sharedGroup());
          } else {
            refusedNow.forEach(f -> metrics.error("mqtt_subscription_refused"));
            LOG.error("Bridge connected to broker {} as {}, but the broker refused the subscriptions {} (granted {}): "
                + "check its ACL for this client; the platform reports itself not ready", name, settings.clientId(),
                refusedNow, granted);
          }
        })
        .onFailure(e -> {
          if (stopped || attempt != client) {
            // Stopped while connecting, or an attempt already replaced (its connection closed and
            // a newer one is under way, which reconnects by itself if it fails): whatever this one
            // still holds is closed, and the current connection is left alone.
            LOG.debug("Bridge to broker {}: an attempt no longer wanted ended ({})", name, e.getMessage());
            if (attempt.isConnected()) {
              attempt.disconnect();
            }
            return;
          }
          LOG.warn("Bridge cannot connect to broker {}: {}", name, e.getMessage());
          if (attempt.isConnected()) {
            attempt.disconnect(); // its close handler schedules the reconnect
          } else {
            scheduleReconnect();
          }
        })
        .mapEmpty();
  }

  /**
   * Fails once {@code attempt} is no longer the link's current connection attempt, or the link
   * was stopped: a connection that completes after stop() or after being replaced must not count
   * as connected (stop() cannot close a connection still being made; this closes it when made).
   */
  private Future<Void> wanted(MqttClient attempt) {
    return !stopped && attempt == client ? Future.succeededFuture()
        : Future.failedFuture(stopped ? "the link was stopped" : "replaced by a newer connection");
  }

  private Map<String, Integer> filters() {
    Map<String, Integer> filters = new LinkedHashMap<>();
    for (Category category : Category.values()) {
      String filter = category.filter();
      filters.put(settings.sharedGroup() == null ? filter : "$share/" + settings.sharedGroup() + "/" + filter, QOS);
    }
    if (settings.dynamicSecurity()) {
      filters.put(CONTROL_RESPONSE, QOS);
    }
    return filters;
  }

  /**
   * Sends dynamic-security commands to this broker and completes with its responses, in the
   * commands' order ({@code [{command, error?}]}).
   */
  Future<io.vertx.core.json.JsonArray> control(io.vertx.core.json.JsonArray commands) {
    if (!connected) {
      return Future.failedFuture("not connected to " + name);
    }
    String correlation = java.util.UUID.randomUUID().toString();
    io.vertx.core.json.JsonArray tagged = new io.vertx.core.json.JsonArray();
    for (int i = 0; i < commands.size(); i++) {
      tagged.add(commands.getJsonObject(i).copy().put("correlationData", correlation + ":" + i));
    }
    Promise<io.vertx.core.json.JsonArray> answered = Promise.promise();
    controls.put(correlation, answered);
    client.publish(CONTROL_TOPIC, new io.vertx.core.json.JsonObject().put("commands", tagged).toBuffer(), MqttQoS.AT_LEAST_ONCE,
        false, false).onFailure(answered::tryFail);
    return answered.future().timeout(CONTROL_TIMEOUT_S, TimeUnit.SECONDS).onComplete(done -> controls.remove(correlation));
  }

  private void onControlResponse(Buffer payload) {
    io.vertx.core.json.JsonArray responses;
    try {
      responses = new io.vertx.core.json.JsonObject(payload).getJsonArray("responses", new io.vertx.core.json.JsonArray());
    } catch (RuntimeException e) {
      LOG.warn("Broker {}: unreadable dynamic-security response: {}", name, e.getMessage());
      return;
    }
    if (responses.isEmpty()) {
      return;
    }
    String data = responses.getJsonObject(0).getString("correlationData", "");
    int colon = data.lastIndexOf(':');
    Promise<io.vertx.core.json.JsonArray> waiting = colon < 0 ? null : controls.get(data.substring(0, colon));
    if (waiting != null) {
      waiting.tryComplete(responses);
    }
  }

  private void onMessage(MqttPublishMessage message) {
    int qos = message.qosLevel().value();
    MqttClient receivedOn = client;
    // An acknowledgement for a connection that has gone is not sent: the broker delivers again.
    OrderedAcks.Slot slot = qos == 0 ? null : acks.reserve(() -> {
      if (receivedOn.isConnected()) {
        message.ack();
      }
    });
    if (settings.dynamicSecurity() && message.topicName().equals(CONTROL_RESPONSE)) {
      onControlResponse(message.payload());
      if (slot != null) {
        acks.ready(slot);
      }
      return;
    }
    if (DeviceTopic.parse(message.topicName()).isEmpty()) {
      metrics.error("invalid_topic");
      if (slot != null) {
        acks.ready(slot);
      }
      return;
    }
    OrderedAcks currentAcks = acks;
    handoff.send(new InboundMessage(message.topicName(), message.payload().getBytes(), qos, "broker:" + name,
            settings.clientId(), Instant.now()))
        .onSuccess(reply -> {
          if (slot != null) {
            currentAcks.ready(slot);
          }
        })
        .onFailure(e -> {
          // Not acknowledged: the broker still holds it for our persistent session and sends it
          // again when we reconnect. Only the connection it came on is dropped, never a newer one.
          if (receivedOn == client && receivedOn.isConnected()) {
            LOG.warn("Bridge {}: message on {} could not be handed on ({}); reconnecting", name, message.topicName(), e.getMessage());
            receivedOn.disconnect();
          }
        });
  }

  private void onClosed(MqttClient closed) {
    if (closed != client) {
      return; // an older connection; the current one is not affected
    }
    if (connected) {
      LOG.warn("Bridge lost broker {}", name);
    }
    connected = false;
    metrics.connection("bridge-" + name, false);
    scheduleReconnect();
  }

  private void scheduleReconnect() {
    if (stopped || reconnecting) {
      return;
    }
    reconnecting = true;
    vertx.setTimer(backoff.next().toMillis(), id -> {
      reconnecting = false;
      if (!stopped && !connected) {
        connect();
      }
    });
  }
}
