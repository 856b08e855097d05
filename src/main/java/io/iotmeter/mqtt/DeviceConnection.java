package io.iotmeter.mqtt;

import io.iotmeter.protocol.InboundMessage;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.ops.LogText;
import io.iotmeter.protocol.DeviceTopic;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessageFactory;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetSocket;
import io.vertx.mqtt.MqttEndpoint;
import io.vertx.mqtt.MqttTopicSubscription;
import io.vertx.mqtt.messages.MqttDisconnectMessage;
import io.vertx.mqtt.messages.MqttPubRecMessage;
import io.vertx.mqtt.messages.MqttPublishMessage;
import io.vertx.mqtt.messages.MqttSubscribeMessage;
import io.vertx.mqtt.messages.codes.MqttDisconnectReasonCode;
import io.vertx.mqtt.messages.codes.MqttPubAckReasonCode;
import io.vertx.mqtt.messages.codes.MqttReasonCode;
import io.vertx.mqtt.messages.codes.MqttSubAckReasonCode;
import io.vertx.mqtt.messages.codes.MqttUnsubAckReasonCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * One client's connection to the device endpoint, handled on its own event loop.
 *
 * <p>Incoming QoS 1/2 messages are acknowledged only after the intake made them durable
 * (PUBACK, or PUBREC for QoS 2), in arrival order; a QoS 2 PUBLISH repeated before its PUBREL
 * is answered again but not processed twice. Publications for the client arrive on a bus
 * address of this connection, so any server instance can route to it. When the connection
 * ends without DISCONNECT (including a keep-alive timeout), the client's will is published.
 *
 * <p>An MQTT 5 client (docs/protocol.md, "MQTT 5") also gets: the session expiry it asked for
 * (bounded by {@code mqtt.session_expiry_s}); its message properties passed on to subscribers;
 * subscription options and identifiers; topic aliases both ways; its Receive Maximum and Maximum
 * Packet Size respected, and ours enforced; a Server Keep Alive when it asked for more than
 * {@code mqtt.server_keep_alive_s} (or none); its will after its delay; an assigned client id;
 * and a reason code on every acknowledgement and on every DISCONNECT we send.
 */
final class DeviceConnection {

  private static final Logger LOG = LoggerFactory.getLogger(DeviceConnection.class);

  private final Vertx vertx;
  private final MqttEndpoint endpoint;
  private final BrokerState broker;
  private final Handoff handoff;
  private final IngestMetrics metrics;
  private final MqttLimits limits;
  /** Our unacknowledged messages to the client at most: max_inflight, or less if its Receive Maximum says so. */
  private int window;
  private final boolean v5;
  /** MQTT 5: the largest packet the client accepts (Maximum Packet Size); larger messages are not sent to it. */
  private long clientMaxPacket = Long.MAX_VALUE;
  /** MQTT 5: this connection's topic aliases, both ways (none for 3.1.1). */
  private TopicAliases aliases = new TopicAliases(0, 0);
  /** MQTT 5: packet ids of the client's QoS 1/2 messages not yet PUBACKed / PUBCOMPed (at most mqtt.receive_maximum). */
  private final Set<Integer> receiving = new HashSet<>();
  /** MQTT 5: how long the session outlives this connection (seconds), as granted (for its will's delay). */
  private long sessionExpiry;
  /** The TCP socket, to pause reading and to see the write queue; null if out of reach. */
  private final NetSocket socket;
  /** Messages (and their payload bytes) received from this client that are not durable yet. */
  private int pendingCount;
  private long pendingBytes;
  private boolean paused;
  /** When the client last sent anything (System.nanoTime), for clients without keep-alive. */
  private long lastHeard = System.nanoTime();
  private long idleTimer = -1;
  private String clientId;
  /** The client id as logs show it: escaped, since a client chooses it. */
  private String logId;
  private String connection;
  /** The server assigned the client id (the client sent none). */
  private boolean assignedId;
  private final OrderedAcks acks = new OrderedAcks();
  private final io.vertx.core.Handler<io.vertx.core.eventbus.Message<JsonObject>> sessionCommands;
  private MessageConsumer<JsonObject> inbox;
  private MessageConsumer<JsonObject> sessionAddress;
  private boolean disconnectReceived;
  /** We sent DISCONNECT: nothing more is read or written until the socket closes. */
  private boolean closing;
  /** How long a socket stays open after our DISCONNECT, for the client to read it (see {@link #disconnect}). */
  static final long DISCONNECT_LINGER_MS = 1000;
  private boolean silentClose;
  private final DeviceAuthenticator authenticator;
  /** The device this client authenticated as; null with security off. */
  private String identity;
  /** Publications refused by the ACL; past {@link #MAX_DENIED} the client is disconnected. */
  private int denied;
  static final int MAX_DENIED = 10;

  /** The admitted connections of this connection's server instance (its event loop's), to tell them when it stops. */
  private final Set<DeviceConnection> live;

  DeviceConnection(Vertx vertx, MqttEndpoint endpoint, BrokerState broker, Handoff handoff, IngestMetrics metrics, int window,
                   io.vertx.core.Handler<io.vertx.core.eventbus.Message<JsonObject>> sessionCommands,
                   DeviceAuthenticator authenticator, Set<DeviceConnection> live) {
    this.live = live;
    this.sessionCommands = sessionCommands;
    this.authenticator = authenticator;
    this.vertx = vertx;
    this.endpoint = endpoint;
    this.broker = broker;
    this.handoff = handoff;
    this.metrics = metrics;
    this.limits = broker.limits();
    this.window = window;
    this.v5 = endpoint.protocolVersion() >= 5;
    this.socket = EndpointSocket.of(endpoint);
    this.clientId = endpoint.clientIdentifier();
    this.logId = LogText.escaped(String.valueOf(clientId));
  }

  void accept() {
    // Netty's decoder applies the server's client id limit to MQTT 3.1 only: the limit is kept here for every version.
    if (clientId != null && clientId.length() > MqttServerVerticle.MAX_CLIENT_ID_LENGTH) {
      metrics.error("mqtt_refused_client_id");
      endpoint.reject(v5 ? MqttConnectReturnCode.CONNECTION_REFUSED_CLIENT_IDENTIFIER_NOT_VALID
          : MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED);
      return;
    }
    authenticator.authenticate(endpoint).onComplete(authenticated -> {
      if (authenticated.succeeded()) {
        identity = authenticated.result();
        if (clientId == null || clientId.isEmpty()) {
          // The client sent none (allowed with a clean start): one of its device's ids is assigned,
          // so the ACLs and the per-device session bound apply to it as to any other.
          clientId = (identity == null ? "auto-" : identity + "-") + UUID.randomUUID();
          endpoint.setClientIdentifier(clientId);
          logId = LogText.escaped(clientId);
          assignedId = true;
        }
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
          ? refused.code(endpoint.protocolVersion()) : serverUnavailable();
      LOG.info("MQTT client {} from {} refused: {}", logId, endpoint.remoteAddress(),
          LogText.escaped(e.getMessage()));
      reject(code);
    });
  }

  /** "Server unavailable" in the client's protocol: 3 in MQTT 3.1.1, 0x88 in MQTT 5. */
  private MqttConnectReturnCode serverUnavailable() {
    return v5 ? MqttConnectReturnCode.CONNECTION_REFUSED_SERVER_UNAVAILABLE_5
        : MqttConnectReturnCode.CONNECTION_REFUSED_SERVER_UNAVAILABLE;
  }

  private void reject(MqttConnectReturnCode code) {
    try {
      endpoint.reject(code);
    } catch (IllegalStateException gone) {
      // the client closed the connection while it was being checked
    }
  }

  private void admit() {
    connection = MqttServerVerticle.clientAddress(clientId, UUID.randomUUID().toString());
    MqttProperties asked = endpoint.connectProperties();
    long askedExpiry = 0;
    if (v5) {
      askedExpiry = unsigned(asked, MqttProperties.MqttPropertyType.SESSION_EXPIRY_INTERVAL, 0);
      sessionExpiry = Math.min(askedExpiry, limits.sessionExpirySeconds());
      // Receive Maximum 0 is a protocol error (spec 3.1.2.11.3): taken as 1 rather than as "send nothing".
      window = (int) Math.min(window, Math.max(1, unsigned(asked, MqttProperties.MqttPropertyType.RECEIVE_MAXIMUM, 65_535)));
      long maxPacket = unsigned(asked, MqttProperties.MqttPropertyType.MAXIMUM_PACKET_SIZE, 0);
      clientMaxPacket = maxPacket > 0 ? maxPacket : Long.MAX_VALUE;
      aliases = new TopicAliases(limits.topicAliasMaximum(),
          (int) unsigned(asked, MqttProperties.MqttPropertyType.TOPIC_ALIAS_MAXIMUM, 0));
    }
    endpoint.publishAutoAck(false);
    endpoint.subscriptionAutoAck(false);
    endpoint.publishHandler(this::onPublish);
    endpoint.publishReleaseHandler(id -> {
      if (!heard()) {
        return;
      }
      receiving.remove(id);
      boolean known = broker.releaseReceived(clientId, id);
      if (v5 && !known) {
        reply(MqttMessageType.PUBCOMP, id, PACKET_IDENTIFIER_NOT_FOUND);
      } else {
        endpoint.publishComplete(id);
      }
    });
    endpoint.publishAcknowledgeHandler(id -> {
      if (!heard()) {
        return;
      }
      commandDelivered(broker.delivered(clientId, id));
      sendQueued();
    });
    endpoint.publishReceivedMessageHandler(this::onPublishReceived);
    endpoint.publishCompletionHandler(id -> {
      if (!heard()) {
        return;
      }
      commandDelivered(broker.delivered(clientId, id));
      sendQueued();
    });
    endpoint.subscribeHandler(this::onSubscribe);
    endpoint.pingHandler(v -> heard());
    endpoint.unsubscribeHandler(unsubscribe -> {
      if (!heard()) {
        return;
      }
      List<Boolean> existed = broker.unsubscribe(clientId, unsubscribe.topics());
      if (v5) {
        endpoint.unsubscribeAcknowledge(unsubscribe.messageId(), existed.stream().map(had -> had
            ? MqttUnsubAckReasonCode.SUCCESS : MqttUnsubAckReasonCode.NO_SUBSCRIPTION_EXISTED).toList(), MqttProperties.NO_PROPERTIES);
      } else {
        endpoint.unsubscribeAcknowledge(unsubscribe.messageId());
      }
    });
    endpoint.disconnectMessageHandler(this::onDisconnect);
    endpoint.exceptionHandler(e -> {
      metrics.error("mqtt_protocol");
      LOG.debug("MQTT client {}: {}", logId, e.getMessage());
      if (e instanceof TooLongFrameException || e.getCause() instanceof TooLongFrameException) {
        // Larger than mqtt.max_message_bytes (which an MQTT 5 client was told as Maximum Packet Size).
        metrics.error("mqtt_packet_too_large");
        refuse(MqttDisconnectReasonCode.PACKET_TOO_LARGE, "sent a packet larger than mqtt.max_message_bytes");
      }
    });
    endpoint.closeHandler(v -> onClose());
    live.add(this);

    inbox = vertx.eventBus().localConsumer(connection, message -> {
      onInbox(message.body());
      message.reply(null); // for senders that must know it arrived (commands)
    });
    // Cluster-wide while connected: commands taken by another node find their way here.
    sessionAddress = vertx.eventBus().consumer(io.iotmeter.bus.BusAddress.MQTT_SESSION.address(clientId), sessionCommands);
    // MQTT 3.1.1: the broker state maps clean / persistent onto an expiry; MQTT 5: the client chose one.
    BrokerState.Connected connected = v5
        ? broker.connect(clientId, endpoint.isCleanSession(), sessionExpiry, connection, identity, Instant.now())
        : broker.connect(clientId, endpoint.isCleanSession(), connection, identity);
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
            : serverUnavailable();
        default -> serverUnavailable();
      });
      return;
    }
    if (connected.previousConnection() != null) {
      // The same client connected again while its old connection still stood (spec 3.1.4).
      vertx.eventBus().send(connected.previousConnection(), new JsonObject().put("takeover", true));
    }
    if (v5) {
      endpoint.accept(connected.sessionPresent(), connackProperties(askedExpiry));
    } else {
      endpoint.accept(connected.sessionPresent());
    }
    authenticator.connected(identity, endpoint);
    watchIdle();
    if (connected.endedWill() != null) {
      publishWill(connected.endedWill()); // this connection ended the session its will was held for
    }
    broker.released(clientId).forEach(endpoint::publishRelease);
    sendQueued();
  }

  /**
   * Keep-alive (1.5 × the client's interval, vertx-mqtt) drops a silent client that asked for
   * it; a client that asked for none (keep-alive 0) is dropped once it sent nothing, not even
   * a PINGREQ, for {@code mqtt.idle_timeout_s} — so no silent or half-open socket is kept forever.
   */
  private void watchIdle() {
    long limitMillis;
    if (imposesKeepAlive()) {
      // An MQTT 5 client told our Server Keep Alive: held to it as to its own (1.5 times, spec 3.1.2.10).
      limitMillis = limits.serverKeepAliveSeconds() * 1500L;
    } else if (endpoint.keepAliveTimeSeconds() > 0 || limits.idleTimeoutSeconds() <= 0) {
      return;
    } else {
      limitMillis = limits.idleTimeoutSeconds() * 1000L;
    }
    long limitNanos = limitMillis * 1_000_000L;
    idleTimer = vertx.setPeriodic(Math.max(250, limitMillis / 4), id -> {
      if (System.nanoTime() - lastHeard > limitNanos && endpoint.isConnected()) {
        metrics.error("mqtt_idle_closed");
        LOG.debug("MQTT client {} sent nothing for {} ms; closing", logId, limitMillis);
        disconnect(MqttDisconnectReasonCode.KEEP_ALIVE_TIMEOUT);
      }
    });
  }

  /** An MQTT 5 client that asked for no keep-alive, or a longer one than mqtt.server_keep_alive_s, is given that. */
  private boolean imposesKeepAlive() {
    int asked = endpoint.keepAliveTimeSeconds();
    return v5 && (asked == 0 || asked > limits.serverKeepAliveSeconds());
  }

  /** What CONNACK tells an MQTT 5 client about this server and its session (spec 3.2.2.3). */
  private MqttProperties connackProperties(long askedExpiry) {
    MqttProperties properties = new MqttProperties();
    if (sessionExpiry < askedExpiry) {
      properties.add(intProperty(MqttProperties.MqttPropertyType.SESSION_EXPIRY_INTERVAL, (int) sessionExpiry));
    }
    properties.add(intProperty(MqttProperties.MqttPropertyType.RECEIVE_MAXIMUM, limits.receiveMaximum()));
    properties.add(intProperty(MqttProperties.MqttPropertyType.MAXIMUM_PACKET_SIZE, limits.maxMessageBytes()));
    properties.add(intProperty(MqttProperties.MqttPropertyType.TOPIC_ALIAS_MAXIMUM, limits.topicAliasMaximum()));
    if (assignedId) {
      properties.add(new MqttProperties.StringProperty(MqttProperties.MqttPropertyType.ASSIGNED_CLIENT_IDENTIFIER.value(), clientId));
    }
    if (imposesKeepAlive()) {
      properties.add(intProperty(MqttProperties.MqttPropertyType.SERVER_KEEP_ALIVE, limits.serverKeepAliveSeconds()));
    }
    return properties;
  }

  private static MqttProperties.IntegerProperty intProperty(MqttProperties.MqttPropertyType type, int value) {
    return new MqttProperties.IntegerProperty(type.value(), value);
  }

  /** An integer property as unsigned (the four-byte ones may exceed Integer.MAX_VALUE), or {@code absent}. */
  private static long unsigned(MqttProperties properties, MqttProperties.MqttPropertyType type, long absent) {
    return properties != null && properties.getProperty(type.value()) instanceof MqttProperties.IntegerProperty p
        ? Integer.toUnsignedLong(p.value()) : absent;
  }

  /**
   * Ends the connection for a reason the client should learn: MQTT 5 gets a DISCONNECT with the
   * reason code first (spec 4.13), MQTT 3.1.1 only the closed socket.
   */
  private void disconnect(MqttDisconnectReasonCode code) {
    if (closing) {
      return;
    }
    if (v5 && socket != null && endpoint.isConnected()) {
      // The DISCONNECT now, the socket closed a moment later; what the client sends meanwhile is
      // read and ignored. Closed at once, the client's next write would meet a reset connection,
      // and a client that writes before it reads (one PUBREL per PUBREC) would never read the reason.
      closing = true;
      byte[] packet = {(byte) 0xE0, 2, code.value(), 0};
      if (socket instanceof io.vertx.core.internal.net.NetSocketInternal internal) {
        // Flushed at once: after a decoding failure (a packet too large) Vert.x closes the channel
        // in the same turn, and a write left for the end of the read would be lost.
        internal.channelHandlerContext().writeAndFlush(io.netty.buffer.Unpooled.wrappedBuffer(packet));
      } else {
        socket.write(io.vertx.core.buffer.Buffer.buffer(packet));
      }
      if (paused) {
        socket.resume();
      }
      vertx.setTimer(DISCONNECT_LINGER_MS, id -> endpoint.close());
    } else if (endpoint.isConnected()) {
      endpoint.disconnect(code, MqttProperties.NO_PROPERTIES);
    } else {
      endpoint.close();
    }
  }

  /** Whether the connection still carries packets: accepted, not closed, no DISCONNECT sent. */
  private boolean open() {
    return endpoint.isConnected() && !closing;
  }

  /** A protocol violation or a bound crossed: counted, logged and the client disconnected with its reason. */
  private void refuse(MqttDisconnectReasonCode code, String why) {
    LOG.info("MQTT client {} {}; disconnecting ({})", logId, why, code);
    disconnect(code);
  }

  /** MQTT 5 DISCONNECT: reason 0x04 asks for the will all the same; a new session expiry may come with it. */
  private void onDisconnect(MqttDisconnectMessage message) {
    disconnectReceived = message.code() != MqttDisconnectReasonCode.WITH_WILL_MESSAGE;
    long expiry = unsigned(message.properties(), MqttProperties.MqttPropertyType.SESSION_EXPIRY_INTERVAL, -1);
    if (v5 && expiry >= 0) {
      long bounded = Math.min(expiry, limits.sessionExpirySeconds());
      if (broker.changeExpiry(clientId, connection, bounded)) {
        sessionExpiry = bounded;
      } else {
        // A session that was to end with its connection cannot be given a life after it (spec 3.14.2.2.2).
        metrics.error("mqtt_protocol");
        LOG.info("MQTT client {} set a session expiry on DISCONNECT after connecting with none; ignored", logId);
      }
    }
  }

  /** PUBREC for one of our QoS 2 messages; with a failure reason code the client refused it, and the exchange ends. */
  private void onPublishReceived(MqttPubRecMessage message) {
    if (!heard()) {
      return;
    }
    int id = message.messageId();
    if (message.code().value() >= 0x80) {
      broker.delivered(clientId, id);
      sendQueued();
      return;
    }
    if (broker.received(clientId, id) || !v5) {
      endpoint.publishRelease(id);
    } else {
      reply(MqttMessageType.PUBREL, id, PACKET_IDENTIFIER_NOT_FOUND);
    }
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

  /** The client sent something; false once we sent DISCONNECT (then it is ignored). */
  private boolean heard() {
    lastHeard = System.nanoTime();
    return !closing;
  }

  private void onInbox(JsonObject message) {
    if (message.getBoolean("takeover", false)) {
      silentClose = true;
      disconnect(MqttDisconnectReasonCode.SESSION_TAKEN_OVER);
      return;
    }
    send(Publication.fromJson(message));
  }

  /** Sends a publication now, or leaves it queued when the client's in-flight window is full. */
  private void send(Publication publication) {
    if (!open()) {
      // Routed here while the connection was closing: a persistent session keeps it for the
      // client's return, as if it had been offline already.
      String newer = publication.qos() > 0 ? broker.keepForLater(clientId, connection, publication) : null;
      if (newer != null) {
        vertx.eventBus().send(newer, publication.toJson());
      }
      return;
    }
    if (!sendable(publication)) {
      return;
    }
    if (publication.qos() == 0) {
      // At most once: a client that does not read its socket loses QoS 0 messages, it cannot
      // make the write queue (and the heap) grow.
      if (socket != null && socket.writeQueueFull()) {
        metrics.error("mqtt_qos0_dropped");
        return;
      }
      write(publication, 0);
      return;
    }
    BrokerState.Sending sending = broker.startSending(clientId, connection, publication, window);
    if (sending.sendNow()) {
      write(publication, sending.packetId());
    } else if (sending.newerConnection() != null) {
      vertx.eventBus().send(sending.newerConnection(), publication.toJson());
    }
  }

  private void sendQueued() {
    if (!open()) {
      return;
    }
    broker.takeQueued(clientId, connection, window, this::sendable).forEach((packetId, publication) -> write(publication, packetId));
  }

  /**
   * Whether a message may go to this client (MQTT 5): not once it expired (spec 3.3.2.3.3), nor
   * when larger than the client's Maximum Packet Size (spec 3.1.2.11.4) — either is dropped as
   * if delivered, and counted.
   */
  private boolean sendable(Publication publication) {
    if (publication.properties().expired(System.currentTimeMillis())) {
      metrics.error("mqtt_expired");
      return false;
    }
    if (clientMaxPacket != Long.MAX_VALUE && MessageProperties.publishPacketSize(publication.topic(), publication.qos(),
        publication.payload().length, publication.properties().encodedSize()
            + MessageProperties.hopSize(publication.subscriptionIds(), aliases.mayAlias() ? 1 : 0)) > clientMaxPacket) {
      metrics.error("mqtt_too_large_for_client");
      return false;
    }
    return true;
  }

  /**
   * Writes a PUBLISH. To an MQTT 5 client with its message properties, the remaining expiry, the
   * subscription identifiers that matched, and — while the client accepts more — a topic alias:
   * the first message on a topic sets it, later ones send the alias instead of the topic.
   */
  private void write(Publication publication, int packetId) {
    MqttQoS qos = MqttQoS.valueOf(publication.qos());
    if (!v5) {
      endpoint.publish(publication.topic(), publication.buffer(), qos, false, publication.retain(), packetId);
      return;
    }
    TopicAliases.Outgoing named = aliases.outgoing(publication.topic());
    endpoint.publish(named.topic(), publication.buffer(), qos, false, publication.retain(), packetId,
        publication.properties().toMqtt(System.currentTimeMillis(), publication.subscriptionIds(), named.alias()));
  }

  /** The largest subscription identifier (spec 3.8.2.1.2: a variable byte integer). */
  static final int MAX_SUBSCRIPTION_ID = 268_435_455;

  private void onSubscribe(MqttSubscribeMessage subscribe) {
    if (!heard()) {
      return;
    }
    int identifier = 0;
    if (v5 && subscribe.properties() != null
        && subscribe.properties().getProperty(MqttProperties.MqttPropertyType.SUBSCRIPTION_IDENTIFIER.value())
        instanceof MqttProperties.IntegerProperty id) {
      if (id.value() < 1 || id.value() > MAX_SUBSCRIPTION_ID) {
        metrics.error("mqtt_protocol");
        refuse(MqttDisconnectReasonCode.PROTOCOL_ERROR, "sent subscription identifier " + id.value());
        return;
      }
      identifier = id.value();
    }
    Map<String, Session.Subscription> asked = new LinkedHashMap<>();
    for (MqttTopicSubscription subscription : subscribe.topicSubscriptions()) {
      var options = subscription.subscriptionOption();
      asked.put(subscription.topicName(), v5 ? new Session.Subscription(subscription.qualityOfService().value(),
          options.isNoLocal(), options.isRetainAsPublished(), options.retainHandling().value(), identifier)
          : Session.Subscription.of(subscription.qualityOfService().value()));
    }
    // A shared subscription is authorised by the filter it matches topics with.
    Map<String, Session.Subscription> allowed = new LinkedHashMap<>();
    asked.forEach((filter, subscription) -> {
      if (authenticator.maySubscribe(identity, TopicFilter.matchingFilter(filter))) {
        allowed.put(filter, subscription);
      }
    });
    List<BrokerState.Granted> grantedAllowed = broker.subscribeWithOptions(clientId, allowed);
    // One answer per filter asked for, in order: "not authorized" for the filters the device may not have.
    List<BrokerState.Granted> granted = new java.util.ArrayList<>(asked.size());
    int next = 0;
    for (String filter : asked.keySet()) {
      granted.add(allowed.containsKey(filter) ? grantedAllowed.get(next++)
          : new BrokerState.Granted(BrokerState.NOT_AUTHORIZED, false));
    }
    if (allowed.size() < asked.size()) {
      metrics.error("mqtt_acl_denied");
      LOG.info("MQTT client {} ({}) may not subscribe to {}", logId, identity,
          LogText.escaped(asked.keySet().stream().filter(f -> !allowed.containsKey(f)).toList().toString()));
    }
    if (granted.stream().anyMatch(g -> !g.granted())) {
      metrics.error("mqtt_refused_subscription");
      List<String> refused = new java.util.ArrayList<>();
      int k = 0;
      for (String filter : asked.keySet()) {
        BrokerState.Granted answer = granted.get(k++);
        if (!answer.granted()) {
          refused.add(filter + String.format(" (0x%02X)", answer.code()));
        }
      }
      LOG.info("MQTT client {} refused subscriptions: {}", logId, LogText.escaped(refused.toString()));
    }
    if (v5) {
      endpoint.subscribeAcknowledge(subscribe.messageId(), granted.stream()
          .map(g -> reasonCode(MqttSubAckReasonCode.values(), g.code(), MqttSubAckReasonCode.UNSPECIFIED_ERROR)).toList(),
          MqttProperties.NO_PROPERTIES);
    } else {
      // MQTT 3.1.1 knows one failure code.
      endpoint.subscribeAcknowledge(subscribe.messageId(),
          granted.stream().map(g -> g.granted() ? MqttQoS.valueOf(g.code()) : MqttQoS.FAILURE).toList());
    }
    int i = 0;
    for (Map.Entry<String, Session.Subscription> filter : asked.entrySet()) {
      BrokerState.Granted answer = granted.get(i++);
      Session.Subscription subscription = filter.getValue();
      // Retain handling (MQTT 5): 0 sends the retained messages on every SUBSCRIBE, 1 only for a new subscription, 2 never.
      if (answer.granted() && (subscription.retainHandling() == 0 || (subscription.retainHandling() == 1 && !answer.existed()))) {
        List<Integer> ids = subscription.identifier() > 0 ? List.of(subscription.identifier()) : List.of();
        broker.retainedFor(filter.getKey(), subscription.qos()).forEach(p -> send(p.withSubscriptionIds(ids)));
      }
    }
  }

  /** The vertx-mqtt reason code of value {@code code} among {@code codes}, {@code otherwise} if none has it. */
  private static <C extends MqttReasonCode> C reasonCode(C[] codes, int code, C otherwise) {
    for (C candidate : codes) {
      if ((candidate.value() & 0xFF) == code) {
        return candidate;
      }
    }
    return otherwise;
  }

  private void onPublish(MqttPublishMessage message) {
    if (!heard()) {
      return;
    }
    int qos = message.qosLevel().value();
    int packetId = message.messageId();
    if (qos == 2 && message.isDup() && broker.isAwaitingRelease(clientId, packetId)) {
      endpoint.publishReceived(packetId); // a resent PUBLISH: answered again, not processed again
      return;
    }
    String topic = v5 ? aliasedTopic(message) : message.topicName();
    if (topic == null) {
      return; // the client was disconnected for its topic alias
    }
    if (v5 && qos > 0 && !receiving.contains(packetId)) {
      // Our Receive Maximum, told in CONNACK: the client may not have more unacknowledged (spec 3.3.4).
      if (receiving.size() >= limits.receiveMaximum()) {
        metrics.error("mqtt_receive_maximum_exceeded");
        refuse(MqttDisconnectReasonCode.RECEIVE_MAXIMUM_EXCEEDED,
            "sent more than " + limits.receiveMaximum() + " unacknowledged QoS 1/2 messages");
        return;
      }
      receiving.add(packetId);
    }
    // Without DUP the same packet id is a new message: a client that lost its session state
    // (the Vert.x client keeps none across connections) starts numbering afresh.
    byte[] payload = message.payload().getBytes();
    long now = System.currentTimeMillis();
    MessageProperties properties = v5 ? MessageProperties.from(message.properties(), now) : MessageProperties.NONE;
    Publication publication = new Publication(topic, payload, qos, message.isRetain(), properties);
    // The reason code of our PUBACK / PUBREC (MQTT 5), decided before the acknowledgement's turn comes.
    int[] reason = {0};
    OrderedAcks.Slot slot = qos == 0 ? null : acks.reserve(() -> acknowledge(qos, packetId, reason[0]));
    if (!TopicFilter.isValidTopic(topic)) {
      metrics.error("mqtt_refused_topic");
      LOG.debug("MQTT client {} published outside iot/: {}", logId, LogText.escaped(topic));
      reason[0] = 0x90; // topic name invalid
      done(slot);
      return;
    }
    if (!authenticator.mayPublish(identity, topic)) {
      // Dropped (acknowledged, so the client does not send it forever), counted and logged; a
      // client that keeps trying is disconnected.
      metrics.error("mqtt_acl_denied");
      LOG.warn("MQTT client {} ({}) may not publish on {}; dropped", logId, identity, LogText.escaped(topic));
      reason[0] = 0x87; // not authorized
      done(slot);
      if (++denied > MAX_DENIED) {
        silentClose = true;
        disconnect(MqttDisconnectReasonCode.NOT_AUTHORIZED);
      }
      return;
    }
    if (properties.payloadFormat() != null && properties.payloadFormat() == 1 && !isUtf8(payload)) {
      // The client said UTF-8 text (payload format indicator 1) and it is not (spec 3.3.2.3.2).
      metrics.error("mqtt_payload_format_invalid");
      reason[0] = 0x99; // payload format invalid
      done(slot);
      return;
    }
    // Held until durable: a saturated intake holds it back (and pauses this socket at its bound)
    // for as long as the client stays connected.
    boolean deviceMessage = DeviceTopic.parse(topic).isPresent();
    Future<?> handedOff = deviceMessage
        ? handoff.sendWhile(new InboundMessage(topic, payload, qos, "endpoint", clientId, Instant.now()), this::open)
        : Future.succeededFuture();
    holding(payload.length);
    handedOff.onComplete(v -> released(payload.length));
    handedOff.onSuccess(v -> {
      if (publication.retain()) {
        broker.retain(clientId, publication);
      }
      BrokerState.Route route = broker.route(publication, clientId);
      route.deliveries().forEach(this::deliver);
      if (!deviceMessage && !route.reachedAnyone()) {
        reason[0] = 0x10; // no matching subscribers (a device message always has one: the platform)
      }
      done(slot);
    }).onFailure(e -> {
      // Not acknowledged: the client keeps the message and sends it again after reconnecting.
      if (open()) {
        LOG.warn("MQTT client {}: message on {} could not be handed on ({}); closing the connection",
            logId, LogText.escaped(topic), e.getMessage());
        silentClose = true;
        disconnect(MqttDisconnectReasonCode.SERVER_BUSY);
      }
    });
  }

  /** An MQTT 5 PUBLISH's topic through its topic alias; null when the alias was refused and the client disconnected. */
  private String aliasedTopic(MqttPublishMessage message) {
    TopicAliases.Resolved resolved = aliases.resolve(message.topicName(), message.properties());
    if (resolved.topic() == null) {
      metrics.error(resolved.refusal() == MqttDisconnectReasonCode.TOPIC_ALIAS_INVALID ? "mqtt_topic_alias_invalid"
          : "mqtt_protocol");
      refuse(resolved.refusal(), resolved.why());
    }
    return resolved.topic();
  }

  private static boolean isUtf8(byte[] payload) {
    try {
      StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(payload));
      return true;
    } catch (CharacterCodingException e) {
      return false;
    }
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

  /** PUBACK or PUBREC, with the reason code for an MQTT 5 client (0: success). */
  private void acknowledge(int qos, int packetId, int reason) {
    if (!open()) {
      return;
    }
    if (qos == 1) {
      receiving.remove(packetId);
      if (v5 && reason != 0) {
        endpoint.publishAcknowledge(packetId,
            reasonCode(MqttPubAckReasonCode.values(), reason, MqttPubAckReasonCode.UNSPECIFIED_ERROR), MqttProperties.NO_PROPERTIES);
      } else {
        endpoint.publishAcknowledge(packetId);
      }
    } else if (v5 && reason >= 0x80) {
      // A refused QoS 2 message ends with the PUBREC: no PUBREL follows (spec 4.3.3).
      receiving.remove(packetId);
      reply(MqttMessageType.PUBREC, packetId, reason);
    } else {
      broker.awaitRelease(clientId, packetId);
      if (v5 && reason != 0) {
        reply(MqttMessageType.PUBREC, packetId, reason);
      } else {
        endpoint.publishReceived(packetId);
      }
    }
  }

  static final int PACKET_IDENTIFIER_NOT_FOUND = 0x92;

  /**
   * A PUBREC, PUBREL or PUBCOMP with a reason code. vertx-mqtt 5.0 drops the reason code of these
   * three (fixed in 5.1.3), so they are written to the endpoint's channel as Netty builds them.
   */
  private void reply(MqttMessageType type, int packetId, int reason) {
    if (socket instanceof io.vertx.core.internal.net.NetSocketInternal internal) {
      MqttFixedHeader header = new MqttFixedHeader(type, false,
          type == MqttMessageType.PUBREL ? MqttQoS.AT_LEAST_ONCE : MqttQoS.AT_MOST_ONCE, false, 0);
      internal.writeMessage(MqttMessageFactory.newMessage(header,
          new MqttPubReplyMessageVariableHeader(packetId, (byte) reason, MqttProperties.NO_PROPERTIES), null));
    } else if (type == MqttMessageType.PUBREC) {
      endpoint.publishReceived(packetId);
    } else if (type == MqttMessageType.PUBREL) {
      endpoint.publishRelease(packetId);
    } else {
      endpoint.publishComplete(packetId);
    }
  }


  private void deliver(BrokerState.Delivery delivery) {
    if (delivery.connection().equals(connection)) {
      send(delivery.publication());
    } else {
      vertx.eventBus().send(delivery.connection(), delivery.publication().toJson());
    }
  }

  /** The server instance stops: an MQTT 5 client is told so (DISCONNECT 0x8B), a 3.1.1 one sees the socket close. */
  void serverStopping() {
    if (endpoint.isConnected() && !closing) {
      closing = true;
      endpoint.disconnect(MqttDisconnectReasonCode.SERVER_SHUTTING_DOWN, MqttProperties.NO_PROPERTIES);
    }
  }

  private void onClose() {
    live.remove(this);
    if (idleTimer >= 0) {
      vertx.cancelTimer(idleTimer);
    }
    var will = endpoint.will();
    Publication publication = disconnectReceived || silentClose || will == null || !will.isWillFlag() ? null
        : new Publication(will.getWillTopic(), will.getWillMessageBytes() == null ? new byte[0] : will.getWillMessageBytes(),
            will.getWillQos(), will.isWillRetain(),
            v5 ? MessageProperties.from(will.getWillProperties(), System.currentTimeMillis()) : MessageProperties.NONE);
    // MQTT 5 Will Delay Interval: published once it has passed or the session ends, whichever
    // comes first (spec 3.1.3.2.2); not at all if the client is back on its session before.
    long delay = publication == null || !v5 ? 0
        : Math.min(unsigned(will.getWillProperties(), MqttProperties.MqttPropertyType.WILL_DELAY_INTERVAL, 0), sessionExpiry);
    // The session learns first that the connection is gone, so what is routed from now on is
    // queued in it; what was routed just before still reaches the inbox (or its sender hears so).
    long held = broker.disconnect(clientId, connection, Instant.now(), delay > 0 ? publication : null);
    authenticator.disconnected(identity, endpoint);
    inbox.unregister();
    sessionAddress.unregister();
    if (publication == null) {
      return;
    }
    if (delay <= 0) {
      publishWill(publication);
    } else if (held > 0) {
      vertx.setTimer(delay * 1000, id -> {
        Publication due = broker.takeHeldWill(clientId, held);
        if (due != null) {
          publishWill(due);
        }
      });
    }
    // else: a newer connection already holds the session, which cancels a delayed will (spec 3.1.3.2.2)
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
      broker.route(will, clientId).deliveries().forEach(delivery ->
          vertx.eventBus().send(delivery.connection(), delivery.publication().toJson()));
    });
  }
}
