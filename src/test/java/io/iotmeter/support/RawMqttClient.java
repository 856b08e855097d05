package io.iotmeter.support;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
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

  private final NetClient client;
  private final NetSocket socket;
  private final LinkedBlockingQueue<Packet> received = new LinkedBlockingQueue<>();
  private Buffer pending = Buffer.buffer();

  private RawMqttClient(NetClient client, NetSocket socket) {
    this.client = client;
    this.socket = socket;
    socket.handler(this::onData);
    socket.closeHandler(v -> closed = true);
  }

  private volatile boolean closed;

  public static RawMqttClient connect(Vertx vertx, int port, String clientId, boolean clean, int keepAliveSeconds,
                                      String willTopic, String willPayload) {
    NetClient client = vertx.createNetClient();
    NetSocket socket = client.connect(port, "127.0.0.1").await();
    RawMqttClient mqtt = new RawMqttClient(client, socket);
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
    mqtt.write(0x10, variable.appendBuffer(payload));
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
    write(0x30 | (dup ? 0x08 : 0) | (qos << 1), body);
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
      writeAsync(0x30 | (qos << 1), body).toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (java.util.concurrent.TimeoutException e) {
      return false;
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** A retained QoS 0 message. */
  public void publishRetained(String topic, String payload) {
    write(0x31, string(topic).appendBytes(payload.getBytes(StandardCharsets.UTF_8)));
  }

  /** Stops reading the socket: a client that never reads what the server sends. */
  public void pauseReading() {
    socket.pause();
  }

  public boolean isClosed() {
    return closed;
  }

  public void pubrel(int packetId) {
    write(0x62, Buffer.buffer().appendShort((short) packetId));
  }

  public void subscribe(int packetId, String filter, int qos) {
    write(0x82, Buffer.buffer().appendShort((short) packetId).appendBuffer(string(filter)).appendByte((byte) qos));
  }

  public void disconnect() {
    write(0xE0, Buffer.buffer());
  }

  /** Waits for the next packet of {@code type}, skipping others. */
  public Packet await(int type, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      while (true) {
        long left = deadline - System.nanoTime();
        Packet packet = received.poll(Math.max(left, 0), TimeUnit.NANOSECONDS);
        if (packet == null) {
          throw new AssertionError("no packet of type " + type + " within " + timeout);
        }
        if (packet.type() == type) {
          return packet;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Packets of {@code type} that arrive within {@code window}. */
  public int count(int type, Duration window) {
    long deadline = System.nanoTime() + window.toNanos();
    int count = 0;
    try {
      while (System.nanoTime() < deadline) {
        Packet packet = received.poll(10, TimeUnit.MILLISECONDS);
        if (packet != null && packet.type() == type) {
          count++;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return count;
  }

  /** Drops the TCP connection without DISCONNECT: to the server, the client vanished. */
  @Override
  public void close() {
    socket.close().await();
    client.close().await();
  }

  private void write(int firstByte, Buffer body) {
    writeAsync(firstByte, body).await();
  }

  private io.vertx.core.Future<Void> writeAsync(int firstByte, Buffer body) {
    Buffer packet = Buffer.buffer().appendByte((byte) firstByte);
    int length = body.length();
    do {
      int digit = length % 128;
      length /= 128;
      packet.appendByte((byte) (length > 0 ? digit | 0x80 : digit));
    } while (length > 0);
    return socket.write(packet.appendBuffer(body));
  }

  private void onData(Buffer data) {
    pending = pending.appendBuffer(data);
    while (pending.length() >= 2) {
      int multiplier = 1;
      int length = 0;
      int index = 1;
      int digit;
      do {
        if (index >= pending.length()) {
          return;
        }
        digit = pending.getUnsignedByte(index++);
        length += (digit & 0x7F) * multiplier;
        multiplier *= 128;
      } while ((digit & 0x80) != 0);
      if (pending.length() < index + length) {
        return;
      }
      int first = pending.getUnsignedByte(0);
      received.add(new Packet(first >> 4, first & 0x0F, pending.getBuffer(index, index + length)));
      pending = pending.getBuffer(index + length, pending.length());
    }
  }

  private static Buffer string(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    return Buffer.buffer().appendShort((short) bytes.length).appendBytes(bytes);
  }
}
