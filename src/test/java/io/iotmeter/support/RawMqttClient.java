package io.iotmeter.support;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * An MQTT 3.1.1 client written packet by packet, for what a library client will not do: send
 * the same QoS 2 PUBLISH twice with one packet id, or vanish without DISCONNECT.
 */
public final class RawMqttClient implements AutoCloseable {

  public static final int CONNACK = 2;
  public static final int PUBLISH = 3;
  public static final int PUBACK = 4;
  public static final int PUBREC = 5;
  public static final int PUBREL = 6;
  public static final int PUBCOMP = 7;
  public static final int SUBACK = 9;

  /** A packet received from the server. */
  public record Packet(int type, int flags, Buffer body) {
    public int packetId() {
      return body.getUnsignedShort(0);
    }
  }

  private final RawMqttSocket socket;

  private RawMqttClient(RawMqttSocket socket) {
    this.socket = socket;
  }

  public static RawMqttClient connect(Vertx vertx, int port, String clientId, boolean clean, int keepAliveSeconds,
                                      String willTopic, String willPayload) {
    RawMqttClient mqtt = new RawMqttClient(RawMqttSocket.open(vertx, port));
    Buffer variable = Buffer.buffer().appendBuffer(string("MQTT")).appendByte((byte) 4);
    int flags = clean ? 0x02 : 0;
    if (willTopic != null) {
      flags |= 0x04 | (1 << 3) | 0x20; // will, QoS 1, retained — as the meters register it
    }
    variable.appendByte((byte) flags).appendShort((short) keepAliveSeconds);
    Buffer payload = string(clientId);
    if (willTopic != null) {
      payload.appendBuffer(string(willTopic)).appendBuffer(string(willPayload));
    }
    mqtt.socket.write(0x10, variable.appendBuffer(payload));
    Packet connack = mqtt.await(CONNACK, Duration.ofSeconds(5));
    if (connack.body().getByte(1) != 0) {
      throw new IllegalStateException("CONNACK refused: " + connack.body().getByte(1));
    }
    return mqtt;
  }

  public void publish(String topic, String payload, int qos, int packetId, boolean dup) {
    Buffer body = string(topic);
    if (qos > 0) {
      body.appendShort((short) packetId);
    }
    body.appendBytes(payload.getBytes(StandardCharsets.UTF_8));
    socket.write(0x30 | (dup ? 0x08 : 0) | (qos << 1), body);
  }

  /**
   * Publishes raw bytes and returns once the socket took them — which blocks while the server
   * does not read (TCP back-pressure); fails after {@code timeout}.
   */
  public boolean publishBytes(String topic, byte[] payload, int qos, int packetId, Duration timeout) {
    Buffer body = string(topic);
    if (qos > 0) {
      body.appendShort((short) packetId);
    }
    body.appendBytes(payload);
    try {
      socket.writeAsync(0x30 | (qos << 1), body).toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (java.util.concurrent.TimeoutException e) {
      return false;
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** A retained QoS 0 message. */
  public void publishRetained(String topic, String payload) {
    socket.write(0x31, string(topic).appendBytes(payload.getBytes(StandardCharsets.UTF_8)));
  }

  /** Stops reading the socket: a client that never reads what the server sends. */
  public void pauseReading() {
    socket.pauseReading();
  }

  public boolean isClosed() {
    return socket.isClosed();
  }

  public void pubrel(int packetId) {
    socket.write(0x62, Buffer.buffer().appendShort((short) packetId));
  }

  public void subscribe(int packetId, String filter, int qos) {
    socket.write(0x82, Buffer.buffer().appendShort((short) packetId).appendBuffer(string(filter)).appendByte((byte) qos));
  }

  public void disconnect() {
    socket.write(0xE0, Buffer.buffer());
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

  /** Drops the TCP connection without DISCONNECT: to the server, the client vanished. */
  @Override
  public void close() {
    socket.close();
  }

  private static Buffer string(String text) {
    return RawMqttSocket.string(text);
  }
}
