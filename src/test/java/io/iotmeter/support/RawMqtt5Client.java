package io.iotmeter.support;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An MQTT 5 client written packet by packet, for what a library client does not let a test
 * decide or see: the exact topic alias sent and received, more unacknowledged messages than the
 * server allows, a packet above the server's maximum, the reason code of every answer.
 */
public final class RawMqtt5Client implements AutoCloseable {

  public static final int CONNACK = 2;
  public static final int PUBLISH = 3;
  public static final int PUBACK = 4;
  public static final int PUBREC = 5;
  public static final int PUBREL = 6;
  public static final int PUBCOMP = 7;
  public static final int SUBACK = 9;
  public static final int UNSUBACK = 11;
  public static final int DISCONNECT = 14;

  /** Property identifiers (spec 2.2.2.2) the tests use. */
  public static final int TOPIC_ALIAS = 0x23;
  public static final int TOPIC_ALIAS_MAXIMUM = 0x22;
  public static final int RECEIVE_MAXIMUM = 0x21;
  public static final int MAXIMUM_PACKET_SIZE = 0x27;
  public static final int ASSIGNED_CLIENT_IDENTIFIER = 0x12;

  /** A packet received from the server. */
  public record Packet(int type, int flags, Buffer body) {
    public int packetId() {
      return body.getUnsignedShort(0);
    }

    /** The reason code of an acknowledgement (PUBACK, PUBREC, PUBCOMP: after the packet id; DISCONNECT: first). */
    public int reasonCode() {
      if (type == DISCONNECT) {
        return body.length() == 0 ? 0 : body.getUnsignedByte(0);
      }
      return body.length() > 2 ? body.getUnsignedByte(2) : 0;
    }

    /** A QoS 1/2 PUBLISH's packet id (after its topic). */
    public int publishPacketId() {
      return body.getUnsignedShort(2 + body.getUnsignedShort(0));
    }

    /** The first reason code of a SUBACK or UNSUBACK (after the packet id and the empty properties). */
    public int firstReasonCode() {
      return body.getUnsignedByte(3);
    }

    /** A PUBLISH's topic (empty when only its alias was sent). */
    public String topic() {
      int length = body.getUnsignedShort(0);
      return body.getString(2, 2 + length, "UTF-8");
    }

    /** A PUBLISH's properties: identifier to the integer value (the integer-valued ones only). */
    public Map<Integer, Long> integerProperties() {
      return integers(properties(body, 2 + body.getUnsignedShort(0) + (((flags >> 1) & 3) > 0 ? 2 : 0)));
    }

    /** A CONNACK's properties: identifier to the integer value (the integer-valued ones only). */
    public Map<Integer, Long> connackProperties() {
      return integers(properties(body, 2));
    }
  }

  private final RawMqttSocket socket;
  private Packet connack;

  private RawMqtt5Client(RawMqttSocket socket) {
    this.socket = socket;
  }

  /** Connects with a clean start and the given CONNECT properties ({@link #property}). */
  public static RawMqtt5Client connect(Vertx vertx, int port, String clientId, int keepAliveSeconds, Buffer properties) {
    return connect(vertx, port, clientId, keepAliveSeconds, properties, null, null);
  }

  /** The same with a user name and password (both, or neither when null). */
  public static RawMqtt5Client connect(Vertx vertx, int port, String clientId, int keepAliveSeconds, Buffer properties,
                                       String username, String password) {
    RawMqtt5Client mqtt = new RawMqtt5Client(RawMqttSocket.open(vertx, port));
    int flags = 0x02 | (username == null ? 0 : 0xC0);
    Buffer variable = Buffer.buffer().appendBuffer(string("MQTT")).appendByte((byte) 5).appendByte((byte) flags)
        .appendShort((short) keepAliveSeconds).appendBuffer(withLength(properties)).appendBuffer(string(clientId));
    if (username != null) {
      variable.appendBuffer(string(username)).appendBuffer(string(password));
    }
    mqtt.socket.write(0x10, variable);
    mqtt.connack = mqtt.await(CONNACK, Duration.ofSeconds(5));
    return mqtt;
  }

  public Packet connack() {
    return connack;
  }

  /** CONNACK's reason code (0: accepted). */
  public int connectReasonCode() {
    return connack.body().getUnsignedByte(1);
  }

  /** A string-valued CONNACK property ({@link #ASSIGNED_CLIENT_IDENTIFIER}, for one), null if absent. */
  public String connackString(int id) {
    return properties(connack.body(), 2).get(id) instanceof String text ? text : null;
  }

  /** A property with a one-, two- or four-byte integer value. */
  public static Buffer property(int id, int bytes, long value) {
    Buffer b = Buffer.buffer().appendByte((byte) id);
    return switch (bytes) {
      case 1 -> b.appendByte((byte) value);
      case 2 -> b.appendShort((short) value);
      default -> b.appendInt((int) value);
    };
  }

  public void publish(String topic, int qos, int packetId, Buffer properties, byte[] payload) {
    Buffer body = string(topic);
    if (qos > 0) {
      body.appendShort((short) packetId);
    }
    body.appendBuffer(withLength(properties)).appendBytes(payload);
    socket.write(0x30 | (qos << 1), body);
  }

  public void subscribe(int packetId, String filter, int options) {
    socket.write(0x82, Buffer.buffer().appendShort((short) packetId).appendByte((byte) 0).appendBuffer(string(filter))
        .appendByte((byte) options));
  }

  /** Subscribes and returns the SUBACK's reason code: the granted QoS, or why not. */
  public int subscribeAndAwait(int packetId, String filter, int options) {
    subscribe(packetId, filter, options);
    return await(SUBACK, Duration.ofSeconds(20)).firstReasonCode();
  }

  public void unsubscribe(int packetId, String filter) {
    socket.write(0xA2, Buffer.buffer().appendShort((short) packetId).appendByte((byte) 0).appendBuffer(string(filter)));
  }

  public void puback(int packetId) {
    socket.write(0x40, Buffer.buffer().appendShort((short) packetId));
  }

  public void pubrel(int packetId) {
    socket.write(0x62, Buffer.buffer().appendShort((short) packetId));
  }

  public boolean isClosed() {
    return socket.isClosed();
  }

  /** Waits for the next packet of {@code type}, skipping others. */
  public Packet await(int type, Duration timeout) {
    RawMqttSocket.Frame frame = socket.await(type, timeout);
    return new Packet(frame.type(), frame.flags(), frame.body());
  }

  /** Packets of {@code type} that arrive within {@code window}. */
  public int count(int type, Duration window) {
    return socket.count(type, window);
  }

  @Override
  public void close() {
    socket.close();
  }

  private static Map<Integer, Long> integers(Map<Integer, Object> properties) {
    Map<Integer, Long> found = new LinkedHashMap<>();
    properties.forEach((id, value) -> {
      if (value instanceof Long number) {
        found.put(id, number);
      }
    });
    return found;
  }

  /**
   * The properties at {@code at} (after their length): integers as Long, strings as String;
   * binary data and user properties are skipped.
   */
  private static Map<Integer, Object> properties(Buffer body, int at) {
    int[] length = varInt(body, at);
    Map<Integer, Object> found = new LinkedHashMap<>();
    int i = at + length[1];
    int end = i + length[0];
    while (i < end) {
      int id = body.getUnsignedByte(i++);
      switch (id) {
        case 0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A -> found.put(id, (long) body.getUnsignedByte(i++));
        case 0x13, 0x21, 0x22, 0x23 -> {
          found.put(id, (long) body.getUnsignedShort(i));
          i += 2;
        }
        case 0x02, 0x11, 0x18, 0x27 -> {
          found.put(id, body.getUnsignedInt(i));
          i += 4;
        }
        case 0x0B -> {
          int[] v = varInt(body, i);
          found.put(id, (long) v[0]);
          i += v[1];
        }
        case 0x26 -> i += 2 + body.getUnsignedShort(i) + 2 + body.getUnsignedShort(i + 2 + body.getUnsignedShort(i));
        case 0x09, 0x16 -> i += 2 + body.getUnsignedShort(i); // binary data
        default -> { // UTF-8 strings
          int size = body.getUnsignedShort(i);
          found.put(id, body.getString(i + 2, i + 2 + size, "UTF-8"));
          i += 2 + size;
        }
      }
    }
    return found;
  }

  /** A variable byte integer at {@code at}: its value and its size. */
  private static int[] varInt(Buffer body, int at) {
    int value = 0;
    int shift = 0;
    int i = at;
    int b;
    do {
      b = body.getUnsignedByte(i++);
      value |= (b & 0x7F) << shift;
      shift += 7;
    } while ((b & 0x80) != 0);
    return new int[] {value, i - at};
  }

  private static Buffer withLength(Buffer properties) {
    return RawMqttSocket.encodeLength(Buffer.buffer(), properties.length()).appendBuffer(properties);
  }

  private static Buffer string(String s) {
    return RawMqttSocket.string(s);
  }
}
