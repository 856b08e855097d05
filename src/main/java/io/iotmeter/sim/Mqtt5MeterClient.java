package io.iotmeter.sim;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageFactory;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttSubAckMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A meter's MQTT 5 connection ({@code simulator.mqtt_version: 5}): Netty's MQTT codec over a
 * Vert.x TCP socket, as vertx-mqtt builds its own client — which speaks only 3.1.1 in Vert.x 5.0.
 * It does what a meter needs and no more: CONNECT with a session expiry of an hour (the
 * protocol's persistent session) and a will, QoS 0/1/2 publications with their handshakes
 * (no more unacknowledged than the broker's Receive Maximum), subscriptions, PINGREQ at the
 * keep-alive interval (the broker's Server Keep Alive when it sets one), DISCONNECT. Its
 * publications say what they carry: payload format UTF-8, content type {@code application/json}.
 * Used on one context only.
 */
final class Mqtt5MeterClient implements MeterMqtt {

  /** The protocol's persistent session: kept an hour after the meter left. */
  static final int SESSION_EXPIRY_S = 3600;
  private static final int MAX_PACKET_BYTES = 256 * 1024;

  private final Vertx vertx;
  private final Login login;
  private final NetClient netClient;
  private NetSocketInternal socket;
  private boolean connected;
  private Promise<Void> connack;
  private final Map<Integer, Promise<Void>> subscriptions = new HashMap<>();
  /** Our QoS 1/2 publications not yet completed (packet ids); at most the broker's Receive Maximum. */
  private final Set<Integer> inFlight = new HashSet<>();
  /** QoS 2 messages from the broker we answered with PUBREC, delivered once. */
  private final Set<Integer> received = new HashSet<>();
  private int lastPacketId;
  /** The broker's Receive Maximum (CONNACK), which the meter's window keeps to. */
  private int receiveMaximum = 65_535;
  private long pingTimer = -1;
  private Consumer<Buffer> publishHandler = p -> { };
  private Consumer<Integer> completionHandler = id -> { };
  private Consumer<Throwable> exceptionHandler = e -> { };
  private Runnable closeHandler = () -> { };

  Mqtt5MeterClient(Vertx vertx, Login login) {
    this.vertx = vertx;
    this.login = login;
    this.netClient = vertx.createNetClient(new NetClientOptions().setConnectTimeout(login.connectTimeoutMs()));
  }

  @Override
  public void publishHandler(Consumer<Buffer> handler) {
    publishHandler = handler;
  }

  @Override
  public void publishCompletionHandler(Consumer<Integer> handler) {
    completionHandler = handler;
  }

  @Override
  public void exceptionHandler(Consumer<Throwable> handler) {
    exceptionHandler = handler;
  }

  @Override
  public void closeHandler(Runnable handler) {
    closeHandler = handler;
  }

  @Override
  public Future<Void> connect(int port, String host) {
    connack = Promise.promise();
    return netClient.connect(port, host).compose(so -> {
      socket = (NetSocketInternal) so;
      ChannelPipeline pipeline = socket.channelHandlerContext().pipeline();
      pipeline.addBefore("handler", "mqttEncoder", MqttEncoder.INSTANCE);
      pipeline.addBefore("handler", "mqttDecoder", new MqttDecoder(MAX_PACKET_BYTES));
      socket.messageHandler(this::onMessage);
      socket.exceptionHandler(exceptionHandler::accept);
      socket.closeHandler(v -> onClosed());
      MqttProperties properties = new MqttProperties();
      properties.add(new MqttProperties.IntegerProperty(MqttProperties.MqttPropertyType.SESSION_EXPIRY_INTERVAL.value(),
          SESSION_EXPIRY_S));
      var connect = MqttMessageBuilders.connect()
          .protocolVersion(MqttVersion.MQTT_5)
          .clientId(login.clientId())
          .cleanSession(false)
          .keepAlive(login.keepAliveSeconds())
          .willFlag(true)
          .willTopic(login.willTopic())
          .willMessage(login.willPayload().getBytes())
          .willQoS(MqttQoS.AT_LEAST_ONCE)
          .willRetain(true)
          .willProperties(MqttProperties.NO_PROPERTIES)
          .properties(properties);
      if (login.username() != null) {
        connect.hasUser(true).username(login.username()).hasPassword(true)
            .password(login.password().getBytes(StandardCharsets.UTF_8));
      }
      socket.writeMessage(connect.build());
      long timeout = vertx.setTimer(login.connectTimeoutMs(), id -> {
        if (connack.tryFail("no CONNACK within " + login.connectTimeoutMs() + " ms")) {
          socket.close();
        }
      });
      return connack.future().onComplete(done -> vertx.cancelTimer(timeout));
    });
  }

  private void onMessage(Object message) {
    if (!(message instanceof MqttMessage mqtt) || mqtt.decoderResult().isFailure()) {
      exceptionHandler.accept(new IllegalStateException("undecodable packet from the broker"));
      socket.close();
      return;
    }
    switch (mqtt.fixedHeader().messageType()) {
      case CONNACK -> onConnack((MqttConnAckMessage) mqtt);
      case PUBLISH -> onPublish((MqttPublishMessage) mqtt);
      case PUBACK -> completed(((MqttMessageIdVariableHeader) mqtt.variableHeader()).messageId());
      case PUBREC -> {
        int id = ((MqttMessageIdVariableHeader) mqtt.variableHeader()).messageId();
        if (mqtt.variableHeader() instanceof MqttPubReplyMessageVariableHeader reply && (reply.reasonCode() & 0xFF) >= 0x80) {
          completed(id); // refused: the exchange ends here
        } else {
          reply(MqttMessageType.PUBREL, id);
        }
      }
      case PUBCOMP -> completed(((MqttMessageIdVariableHeader) mqtt.variableHeader()).messageId());
      case PUBREL -> {
        int id = ((MqttMessageIdVariableHeader) mqtt.variableHeader()).messageId();
        received.remove(id);
        reply(MqttMessageType.PUBCOMP, id);
      }
      case SUBACK -> {
        MqttSubAckMessage subAck = (MqttSubAckMessage) mqtt;
        Promise<Void> pending = subscriptions.remove(subAck.variableHeader().messageId());
        int code = subAck.payload().reasonCodes().isEmpty() ? 0x80 : subAck.payload().reasonCodes().get(0);
        if (pending != null) {
          if (code < 0x80) {
            pending.complete();
          } else {
            pending.fail(String.format("subscription refused (0x%02X)", code));
          }
        }
      }
      case DISCONNECT -> socket.close(); // the broker's reason was logged by the broker
      default -> {
        // PINGRESP, UNSUBACK: nothing to do
      }
    }
  }

  private void onConnack(MqttConnAckMessage message) {
    MqttConnectReturnCode code = message.variableHeader().connectReturnCode();
    if (code != MqttConnectReturnCode.CONNECTION_ACCEPTED) {
      connack.tryFail(String.format("CONNACK refused (0x%02X)", code.byteValue()));
      socket.close();
      return;
    }
    connected = true;
    MqttProperties properties = message.variableHeader().properties();
    if (properties.getProperty(MqttProperties.MqttPropertyType.RECEIVE_MAXIMUM.value()) instanceof MqttProperties.IntegerProperty r) {
      receiveMaximum = Math.max(1, r.value());
    }
    int keepAlive = properties.getProperty(MqttProperties.MqttPropertyType.SERVER_KEEP_ALIVE.value())
        instanceof MqttProperties.IntegerProperty p ? p.value() : login.keepAliveSeconds();
    if (keepAlive > 0) {
      pingTimer = vertx.setPeriodic(keepAlive * 1000L, id -> {
        if (connected) {
          socket.writeMessage(new MqttMessage(new MqttFixedHeader(MqttMessageType.PINGREQ, false, MqttQoS.AT_MOST_ONCE,
              false, 0)));
        }
      });
    }
    connack.tryComplete();
  }

  private void onPublish(MqttPublishMessage message) {
    int qos = message.fixedHeader().qosLevel().value();
    int id = message.variableHeader().packetId();
    Buffer payload = io.vertx.core.internal.buffer.BufferInternal.safeBuffer(message.payload()); // a copy; the ByteBuf released
    if (qos == 1) {
      reply(MqttMessageType.PUBACK, id);
    } else if (qos == 2) {
      boolean first = received.add(id);
      reply(MqttMessageType.PUBREC, id);
      if (!first) {
        return; // the broker sent it again before our PUBREC reached it
      }
    }
    publishHandler.accept(payload);
  }

  private void completed(int packetId) {
    if (inFlight.remove(packetId)) {
      completionHandler.accept(packetId);
    }
  }

  private void reply(MqttMessageType type, int packetId) {
    MqttFixedHeader header = new MqttFixedHeader(type, false,
        type == MqttMessageType.PUBREL ? MqttQoS.AT_LEAST_ONCE : MqttQoS.AT_MOST_ONCE, false, 0);
    socket.writeMessage(MqttMessageFactory.newMessage(header, MqttMessageIdVariableHeader.from(packetId), null));
  }

  private int nextPacketId() {
    do {
      lastPacketId = lastPacketId % 65_535 + 1;
    } while (inFlight.contains(lastPacketId) || subscriptions.containsKey(lastPacketId));
    return lastPacketId;
  }

  @Override
  public Future<Void> subscribe(String topic, int qos) {
    if (!connected) {
      return Future.failedFuture("not connected");
    }
    int id = nextPacketId();
    Promise<Void> granted = Promise.promise();
    subscriptions.put(id, granted);
    socket.writeMessage(MqttMessageBuilders.subscribe().messageId(id).addSubscription(MqttQoS.valueOf(qos), topic).build());
    return granted.future();
  }

  @Override
  public Future<Integer> publish(String topic, Buffer payload, int qos, boolean retain) {
    if (!connected) {
      return Future.failedFuture("not connected");
    }
    int id = qos == 0 ? 0 : nextPacketId();
    if (qos > 0) {
      inFlight.add(id);
    }
    MqttProperties properties = new MqttProperties();
    properties.add(new MqttProperties.IntegerProperty(MqttProperties.MqttPropertyType.PAYLOAD_FORMAT_INDICATOR.value(), 1));
    properties.add(new MqttProperties.StringProperty(MqttProperties.MqttPropertyType.CONTENT_TYPE.value(), "application/json"));
    MqttPublishMessage message = MqttMessageBuilders.publish().topicName(topic).qos(MqttQoS.valueOf(qos)).retained(retain)
        .messageId(id).properties(properties).payload(Unpooled.wrappedBuffer(payload.getBytes())).build();
    return socket.writeMessage(message).map(id);
  }

  @Override
  public boolean isConnected() {
    return connected;
  }

  @Override
  public int receiveMaximum() {
    return receiveMaximum;
  }

  @Override
  public Future<Void> disconnect() {
    if (socket == null) {
      return netClient.close();
    }
    if (connected) {
      socket.writeMessage(MqttMessageBuilders.disconnect().reasonCode((byte) 0).build());
    }
    return socket.close().eventually(netClient::close);
  }

  private void onClosed() {
    boolean wasConnected = connected;
    connected = false;
    if (pingTimer >= 0) {
      vertx.cancelTimer(pingTimer);
      pingTimer = -1;
    }
    connack.tryFail("connection closed");
    subscriptions.values().forEach(p -> p.tryFail("connection closed"));
    subscriptions.clear();
    netClient.close();
    if (wasConnected || socket != null) {
      closeHandler.run();
    }
  }
}
