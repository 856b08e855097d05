package io.iotmeter.mqtt;

import io.iotmeter.protocol.InboundMessage;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.ops.LogText;
import io.iotmeter.protocol.DeviceTopic;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetSocket;
import io.vertx.mqtt.MqttEndpoint;
import io.vertx.mqtt.MqttTopicSubscription;
import io.vertx.mqtt.messages.MqttPublishMessage;
import io.vertx.mqtt.messages.MqttSubscribeMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * One client's connection to the device endpoint, handled on its own event loop.
 *
 * <p>Incoming QoS 1/2 messages are acknowledged only after the intake made them durable
 * (PUBACK, or PUBREC for QoS 2), in arrival order; a QoS 2 PUBLISH repeated before its PUBREL
 * is answered again but not processed twice. Publications for the client arrive on a bus
 * address of this connection, so any server instance can route to it. When the connection
 * ends without DISCONNECT (including a keep-alive timeout), the client's will is published.
 */
final class DeviceConnection {

  private static final Logger LOG = LoggerFactory.getLogger(DeviceConnection.class);

  private final Vertx vertx;
  private final MqttEndpoint endpoint;
  private final BrokerState broker;
  private final Handoff handoff;
  private final IngestMetrics metrics;
  private final MqttLimits limits;
  private final int window;
  /** The TCP socket, to pause reading and to see the write queue; null if out of reach. */
  private final NetSocket socket;
  /** Messages (and their payload bytes) received from this client that are not durable yet. */
  private int pendingCount;
  private long pendingBytes;
  private boolean paused;
  /** When the client last sent anything (System.nanoTime), for clients without keep-alive. */
  private long lastHeard = System.nanoTime();
  private long idleTimer = -1;
  private final String clientId;
  /** The client id as logs show it: escaped, since a client chooses it. */
  private final String logId;
  private final String connection;
  private final OrderedAcks acks = new OrderedAcks();
  private final io.vertx.core.Handler<io.vertx.core.eventbus.Message<JsonObject>> sessionCommands;
  private MessageConsumer<JsonObject> inbox;
  private MessageConsumer<JsonObject> sessionAddress;
  private boolean disconnectReceived;
  private boolean silentClose;
  private final DeviceAuthenticator authenticator;
  /** The device this client authenticated as; null with security off. */
  private String identity;
  /** Publications refused by the ACL; past {@link #MAX_DENIED} the client is disconnected. */
  private int denied;
  static final int MAX_DENIED = 10;

  DeviceConnection(Vertx vertx, MqttEndpoint endpoint, BrokerState broker, Handoff handoff, IngestMetrics metrics, int window,
                   io.vertx.core.Handler<io.vertx.core.eventbus.Message<JsonObject>> sessionCommands,
                   DeviceAuthenticator authenticator) {
    this.sessionCommands = sessionCommands;
    this.authenticator = authenticator;
    this.vertx = vertx;
    this.endpoint = endpoint;
    this.broker = broker;
    this.handoff = handoff;
    this.metrics = metrics;
    this.limits = broker.limits();
    this.window = window;
    this.socket = EndpointSocket.of(endpoint);
    this.clientId = endpoint.clientIdentifier();
    this.logId = LogText.escaped(clientId);
    this.connection = MqttServerVerticle.clientAddress(clientId, UUID.randomUUID().toString());
  }

  void accept() {
    // Netty's decoder applies the server's client id limit to MQTT 3.1 only: the limit is kept here for every version.
    if (clientId == null || clientId.isEmpty() || clientId.length() > MqttServerVerticle.MAX_CLIENT_ID_LENGTH) {
      metrics.error("mqtt_refused_client_id");
      endpoint.reject(MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED);
      return;
    }
    authenticator.authenticate(endpoint).onComplete(authenticated -> {
      if (authenticated.succeeded()) {
        identity = authenticated.result();
        if (!DeviceAuthenticator.mayUseClientId(identity, clientId)) {
          // Another device's client id, or one of nobody's: its sessions are not this device's to take or fill.
          metrics.error("mqtt_refused_client_id");
          LOG.info("MQTT client {} refused: device {} may use the client ids {} and {}-<suffix> only",
              logId, identity, identity, identity);
          reject(endpoint.protocolVersion() >= 5 ? MqttConnectReturnCode.CONNECTION_REFUSED_CLIENT_IDENTIFIER_NOT_VALID
              : MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED);
          return;
        }
        admit();
        return;
      }
      Throwable e = authenticated.cause();
      MqttConnectReturnCode code = e instanceof DeviceAuthenticator.Refused refused
          ? refused.code(endpoint.protocolVersion()) : MqttConnectReturnCode.CONNECTION_REFUSED_SERVER_UNAVAILABLE;
      LOG.info("MQTT client {} from {} refused: {}", logId, endpoint.remoteAddress(),
          LogText.escaped(e.getMessage()));
      reject(code);
    });
  }

  private void reject(MqttConnectReturnCode code) {
    try {
      endpoint.reject(code);
    } catch (IllegalStateException gone) {
      // the client closed the connection while it was being checked
    }
  }

  private void admit() {
    endpoint.publishAutoAck(false);
    endpoint.subscriptionAutoAck(false);
    endpoint.publishHandler(this::onPublish);
    endpoint.publishReleaseHandler(id -> {
      heard();
      broker.releaseReceived(clientId, id);
      endpoint.publishComplete(id);
    });
    endpoint.publishAcknowledgeHandler(id -> {
      heard();
      commandDelivered(broker.delivered(clientId, id));
      sendQueued();
    });
    endpoint.publishReceivedHandler(id -> {
      heard();
      broker.received(clientId, id);
      endpoint.publishRelease(id);
    });
    endpoint.publishCompletionHandler(id -> {
      heard();
      commandDelivered(broker.delivered(clientId, id));
      sendQueued();
    });
    endpoint.subscribeHandler(this::onSubscribe);
    endpoint.pingHandler(v -> heard());
    endpoint.unsubscribeHandler(unsubscribe -> {
      heard();
      broker.unsubscribe(clientId, unsubscribe.topics());
      endpoint.unsubscribeAcknowledge(unsubscribe.messageId());
    });
    endpoint.disconnectHandler(v -> disconnectReceived = true);
    endpoint.exceptionHandler(e -> {
      metrics.error("mqtt_protocol");
      LOG.debug("MQTT client {}: {}", logId, e.getMessage());
    });
    endpoint.closeHandler(v -> onClose());

    inbox = vertx.eventBus().localConsumer(connection, message -> {
      onInbox(message.body());
      message.reply(null); // for senders that must know it arrived (commands)
    });
    // Cluster-wide while connected: commands taken by another node find their way here.
    sessionAddress = vertx.eventBus().consumer(io.iotmeter.bus.BusAddress.MQTT_SESSION.address(clientId), sessionCommands);
    BrokerState.Connected connected = broker.connect(clientId, endpoint.isCleanSession(), connection, identity);
    if (connected.refused()) {
      inbox.unregister();
      sessionAddress.unregister();
      silentClose = true;
      if (connected.foreign()) {
        LOG.info("MQTT client id {} belongs to another device; {} refused", logId, identity);
      }
      boolean v5 = endpoint.protocolVersion() >= 5;
      endpoint.reject(switch (connected.refusal()) {
        case CLIENT_ID_TAKEN -> new DeviceAuthenticator.Refused(false, "client id taken").code(endpoint.protocolVersion());
        case DEVICE_SESSIONS_FULL -> v5 ? MqttConnectReturnCode.CONNECTION_REFUSED_QUOTA_EXCEEDED
            : MqttConnectReturnCode.CONNECTION_REFUSED_SERVER_UNAVAILABLE;
        default -> MqttConnectReturnCode.CONNECTION_REFUSED_SERVER_UNAVAILABLE;
      });
      return;
    }
    if (connected.previousConnection() != null) {
      // The same client connected again while its old connection still stood (spec 3.1.4).
      vertx.eventBus().send(connected.previousConnection(), new JsonObject().put("takeover", true));
    }
    endpoint.accept(connected.sessionPresent());
    authenticator.connected(identity, endpoint);
    watchIdle();
    broker.released(clientId).forEach(endpoint::publishRelease);
    sendQueued();
  }

  /**
   * Keep-alive (1.5 × the client's interval, vertx-mqtt) drops a silent client that asked for
   * it; a client that asked for none (keep-alive 0) is dropped once it sent nothing, not even
   * a PINGREQ, for {@code mqtt.idle_timeout_s} — so no silent or half-open socket is kept forever.
   */
  private void watchIdle() {
    if (endpoint.keepAliveTimeSeconds() > 0 || limits.idleTimeoutSeconds() <= 0) {
      return;
    }
    long limitNanos = limits.idleTimeoutSeconds() * 1_000_000_000L;
    idleTimer = vertx.setPeriodic(Math.max(250, limits.idleTimeoutSeconds() * 250L), id -> {
      if (System.nanoTime() - lastHeard > limitNanos && endpoint.isConnected()) {
        metrics.error("mqtt_idle_closed");
        LOG.debug("MQTT client {} sent nothing for {} s without keep-alive; closing", logId, limits.idleTimeoutSeconds());
        endpoint.close();
      }
    });
  }

  /**
   * The client acknowledged (PUBACK / PUBCOMP) one of our messages: if it was its command, the
   * command is delivered — only now, not when it was queued in memory (which a restart loses).
   */
  private void commandDelivered(Publication publication) {
    if (publication == null || !publication.topic().equals("iot/" + clientId + "/command")) {
      return;
    }
    CommandRouting.commandId(publication).ifPresent(cmdId -> vertx.eventBus().send(
        io.iotmeter.bus.BusAddress.COMMAND_DELIVERED.address(), new JsonObject().put("cmd_id", cmdId).put("device_id", clientId)));
  }

  private void heard() {
    lastHeard = System.nanoTime();
  }

  private void onInbox(JsonObject message) {
    if (message.getBoolean("takeover", false)) {
      silentClose = true;
      endpoint.close();
      return;
    }
    send(Publication.fromJson(message));
  }

  /** Sends a publication now, or leaves it queued when the client's in-flight window is full. */
  private void send(Publication publication) {
    if (!endpoint.isConnected()) {
      // Routed here while the connection was closing: a persistent session keeps it for the
      // client's return, as if it had been offline already.
      String newer = publication.qos() > 0 ? broker.keepForLater(clientId, connection, publication) : null;
      if (newer != null) {
        vertx.eventBus().send(newer, publication.toJson());
      }
      return;
    }
    if (publication.qos() == 0) {
      // At most once: a client that does not read its socket loses QoS 0 messages, it cannot
      // make the write queue (and the heap) grow.
      if (socket != null && socket.writeQueueFull()) {
        metrics.error("mqtt_qos0_dropped");
        return;
      }
      endpoint.publish(publication.topic(), publication.buffer(), MqttQoS.AT_MOST_ONCE, false, publication.retain());
      return;
    }
    BrokerState.Sending sending = broker.startSending(clientId, connection, publication, window);
    if (sending.sendNow()) {
      endpoint.publish(publication.topic(), publication.buffer(), MqttQoS.valueOf(publication.qos()), false,
          publication.retain(), sending.packetId());
    } else if (sending.newerConnection() != null) {
      vertx.eventBus().send(sending.newerConnection(), publication.toJson());
    }
  }

  private void sendQueued() {
    if (!endpoint.isConnected()) {
      return;
    }
    broker.takeQueued(clientId, connection, window).forEach((packetId, publication) -> endpoint.publish(publication.topic(),
        publication.buffer(), MqttQoS.valueOf(publication.qos()), false, publication.retain(), packetId));
  }

  private void onSubscribe(MqttSubscribeMessage subscribe) {
    heard();
    Map<String, Integer> filters = new LinkedHashMap<>();
    for (MqttTopicSubscription subscription : subscribe.topicSubscriptions()) {
      filters.put(subscription.topicName(), subscription.qualityOfService().value());
    }
    Map<String, Integer> allowed = new LinkedHashMap<>();
    filters.forEach((filter, qos) -> {
      if (authenticator.maySubscribe(identity, filter)) {
        allowed.put(filter, qos);
      }
    });
    List<Integer> grantedAllowed = broker.subscribe(clientId, allowed);
    // One answer per filter asked for, in order: 0x80 for the filters the device may not have.
    List<Integer> granted = new java.util.ArrayList<>(filters.size());
    int next = 0;
    for (String filter : filters.keySet()) {
      granted.add(allowed.containsKey(filter) ? grantedAllowed.get(next++) : 0x80);
    }
    if (allowed.size() < filters.size()) {
      metrics.error("mqtt_acl_denied");
      LOG.info("MQTT client {} ({}) may not subscribe to {}", logId, identity,
          LogText.escaped(filters.keySet().stream().filter(f -> !allowed.containsKey(f)).toList().toString()));
    }
    if (granted.contains(0x80)) {
      metrics.error("mqtt_refused_subscription");
    }
    endpoint.subscribeAcknowledge(subscribe.messageId(), granted.stream().map(MqttQoS::valueOf).toList());
    int i = 0;
    for (Map.Entry<String, Integer> filter : filters.entrySet()) {
      if (granted.get(i++) != 0x80) {
        broker.retainedFor(filter.getKey(), filter.getValue()).forEach(this::send);
      }
    }
  }

  private void onPublish(MqttPublishMessage message) {
    heard();
    int qos = message.qosLevel().value();
    int packetId = message.messageId();
    if (qos == 2 && message.isDup() && broker.isAwaitingRelease(clientId, packetId)) {
      endpoint.publishReceived(packetId); // a resent PUBLISH: answered again, not processed again
      return;
    }
    // Without DUP the same packet id is a new message: a client that lost its session state
    // (the Vert.x client keeps none across connections) starts numbering afresh.
    byte[] payload = message.payload().getBytes();
    Publication publication = new Publication(message.topicName(), payload, qos, message.isRetain());
    OrderedAcks.Slot slot = qos == 0 ? null : acks.reserve(() -> acknowledge(qos, packetId));
    if (!TopicFilter.isValidTopic(message.topicName())) {
      metrics.error("mqtt_refused_topic");
      LOG.debug("MQTT client {} published outside iot/: {}", logId, LogText.escaped(message.topicName()));
      done(slot);
      return;
    }
    if (!authenticator.mayPublish(identity, message.topicName())) {
      // Dropped (acknowledged, so the client does not send it forever), counted and logged; a
      // client that keeps trying is disconnected.
      metrics.error("mqtt_acl_denied");
      LOG.warn("MQTT client {} ({}) may not publish on {}; dropped", logId, identity, LogText.escaped(message.topicName()));
      done(slot);
      if (++denied > MAX_DENIED) {
        silentClose = true;
        endpoint.close();
      }
      return;
    }
    // Held until durable: a saturated intake holds it back (and pauses this socket at its bound)
    // for as long as the client stays connected.
    Future<?> handedOff = DeviceTopic.parse(message.topicName()).isPresent()
        ? handoff.sendWhile(new InboundMessage(message.topicName(), payload, qos, "endpoint", clientId, Instant.now()),
            endpoint::isConnected)
        : Future.succeededFuture();
    holding(payload.length);
    handedOff.onComplete(v -> released(payload.length));
    handedOff.onSuccess(v -> {
      if (publication.retain()) {
        broker.retain(clientId, publication);
      }
      broker.route(publication).deliveries().forEach(this::deliver);
      done(slot);
    }).onFailure(e -> {
      // Not acknowledged: the client keeps the message and sends it again after reconnecting.
      if (endpoint.isConnected()) {
        LOG.warn("MQTT client {}: message on {} could not be handed on ({}); closing the connection",
            logId, LogText.escaped(message.topicName()), e.getMessage());
        silentClose = true;
        endpoint.close();
      }
    });
  }

  /**
   * One more message received and not durable yet. Past the client's bound (count or bytes), or
   * when the node holds more than its bound and this client more than its share, the socket is
   * paused: the client that sends most waits, TCP pushes back on it, everybody else goes on.
   */
  private void holding(long bytes) {
    pendingCount++;
    pendingBytes += bytes;
    broker.addPending(bytes);
    if (paused) {
      return;
    }
    boolean overOwn = pendingCount > limits.maxPendingHandoffs() || pendingBytes > limits.maxPendingHandoffBytes();
    boolean overShare = broker.pendingBytes() > limits.maxTotalPendingBytes() && pendingBytes > broker.fairPendingShare();
    if (overOwn || overShare) {
      if (socket == null) {
        // No way to pause: disconnect without acknowledging (the client sends again later).
        metrics.error("mqtt_backpressure_disconnect");
        silentClose = true;
        endpoint.close();
        return;
      }
      paused = true;
      socket.pause();
      metrics.mqttPaused();
      LOG.debug("MQTT client {}: {} messages ({} bytes) not yet durable; reading paused", logId, pendingCount, pendingBytes);
    }
  }

  private void released(long bytes) {
    pendingCount--;
    pendingBytes -= bytes;
    broker.addPending(-bytes);
    resumeIfBelow();
  }

  /** Reading resumes once the client is at half its bounds (and the node within its own, unless the client holds nothing). */
  private void resumeIfBelow() {
    if (!paused || !endpoint.isConnected()) {
      return;
    }
    boolean ownLow = pendingCount <= limits.maxPendingHandoffs() / 2 && pendingBytes <= limits.maxPendingHandoffBytes() / 2;
    boolean nodeLow = pendingBytes == 0 || broker.pendingBytes() <= limits.maxTotalPendingBytes() / 2;
    if (ownLow && nodeLow) {
      paused = false;
      socket.resume();
    } else if (ownLow && pendingCount == 0) {
      // Holding nothing, the client waits for the others to drain: look again shortly.
      vertx.setTimer(100, id -> resumeIfBelow());
    }
  }

  private void done(OrderedAcks.Slot slot) {
    if (slot != null) {
      acks.ready(slot);
    }
  }

  private void acknowledge(int qos, int packetId) {
    if (!endpoint.isConnected()) {
      return;
    }
    if (qos == 1) {
      endpoint.publishAcknowledge(packetId);
    } else {
      broker.awaitRelease(clientId, packetId);
      endpoint.publishReceived(packetId);
    }
  }

  private void deliver(BrokerState.Delivery delivery) {
    if (delivery.connection().equals(connection)) {
      send(delivery.publication());
    } else {
      vertx.eventBus().send(delivery.connection(), delivery.publication().toJson());
    }
  }

  private void onClose() {
    if (idleTimer >= 0) {
      vertx.cancelTimer(idleTimer);
    }
    // The session learns first that the connection is gone, so what is routed from now on is
    // queued in it; what was routed just before still reaches the inbox (or its sender hears so).
    broker.disconnect(clientId, connection, Instant.now());
    authenticator.disconnected(identity, endpoint);
    inbox.unregister();
    sessionAddress.unregister();
    var will = endpoint.will();
    if (!disconnectReceived && !silentClose && will != null && will.isWillFlag()) {
      publishWill(new Publication(will.getWillTopic(), will.getWillMessageBytes() == null ? new byte[0] : will.getWillMessageBytes(),
          will.getWillQos(), will.isWillRetain()));
    }
  }

  /** The will of a client that vanished (spec 3.1.2.5): routed like any publication, and handed to the intake. */
  private void publishWill(Publication will) {
    if (!TopicFilter.isValidTopic(will.topic())) {
      metrics.error("mqtt_refused_topic");
      return;
    }
    LOG.info("MQTT client {} vanished; publishing its will on {}", logId, LogText.escaped(will.topic()));
    Future<?> handedOff = DeviceTopic.parse(will.topic()).isPresent()
        ? handoff.send(new InboundMessage(will.topic(), will.payload(), will.qos(), "endpoint", clientId, Instant.now()))
        : Future.succeededFuture();
    handedOff.onComplete(v -> {
      if (will.retain()) {
        broker.retain(clientId, will);
      }
      broker.route(will).deliveries().forEach(delivery ->
          vertx.eventBus().send(delivery.connection(), delivery.publication().toJson()));
    });
  }
}
