package io.iotmeter.mqtt;

import io.iotmeter.intake.InboundMessage;
import io.iotmeter.ops.Backoff;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.protocol.Category;
import io.iotmeter.protocol.DeviceTopic;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.mqtt.MqttClient;
import io.vertx.mqtt.MqttClientOptions;
import io.vertx.mqtt.messages.MqttPublishMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One connection of the bridge to an external broker: a persistent session subscribed to the
 * five device → platform filters, reconnecting with back-off (with jitter, so nodes do not
 * stampede a broker that comes back). A message is acknowledged to the broker only after the
 * intake made it durable, in arrival order; until then the broker keeps it in our session.
 */
final class BrokerLink {

  private static final Logger LOG = LoggerFactory.getLogger(BrokerLink.class);

  /** Where and how to connect. */
  record Settings(String host, int port, String clientId, int qos, String sharedGroup, int keepAliveSeconds,
                  Duration minBackoff, Duration maxBackoff, String username, String password) {
  }

  private final Vertx vertx;
  private final Settings settings;
  private final Handoff handoff;
  private final IngestMetrics metrics;
  private final String name;
  private MqttClient client;
  private OrderedAcks acks = new OrderedAcks();
  private final Backoff backoff;
  private boolean stopped;
  private volatile boolean connected;

  BrokerLink(Vertx vertx, Settings settings, Handoff handoff, IngestMetrics metrics) {
    this.vertx = vertx;
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
    client = MqttClient.create(vertx, options);
    acks = new OrderedAcks();
    client.publishHandler(this::onMessage);
    client.closeHandler(v -> onClosed());
    return client.connect(settings.port(), settings.host())
        .compose(connack -> client.subscribe(filters()))
        .onSuccess(v -> {
          connected = true;
          backoff.reset();
          metrics.connection("bridge-" + name, true);
          LOG.info("Bridge connected to broker {} as {} (QoS {} subscriptions{})", name, settings.clientId(), settings.qos(),
              settings.sharedGroup() == null ? "" : ", shared group " + settings.sharedGroup());
        })
        .onFailure(e -> {
          LOG.warn("Bridge cannot connect to broker {}: {}", name, e.getMessage());
          client.disconnect();
          scheduleReconnect();
        })
        .mapEmpty();
  }

  private Map<String, Integer> filters() {
    Map<String, Integer> filters = new LinkedHashMap<>();
    for (Category category : Category.values()) {
      String filter = category.filter();
      filters.put(settings.sharedGroup() == null ? filter : "$share/" + settings.sharedGroup() + "/" + filter, settings.qos());
    }
    return filters;
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
          // again when we reconnect.
          LOG.warn("Bridge {}: message on {} could not be handed on ({}); reconnecting", name, message.topicName(), e.getMessage());
          client.disconnect();
        });
  }

  private void onClosed() {
    if (connected) {
      LOG.warn("Bridge lost broker {}", name);
    }
    connected = false;
    metrics.connection("bridge-" + name, false);
    scheduleReconnect();
  }

  private void scheduleReconnect() {
    if (stopped) {
      return;
    }
    vertx.setTimer(backoff.next().toMillis(), id -> {
      if (!stopped && !connected) {
        connect();
      }
    });
  }
}
