package io.iotmeter.support;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The TCP side of {@link RawMqttClient} (3.1.1) and {@link RawMqtt5Client}: MQTT packets framed
 * by their fixed header (spec 2.1), written and read whole, whatever the protocol level.
 */
final class RawMqttSocket {

  /** A packet as framed: its type, the flags of its first byte, and the rest. */
  record Frame(int type, int flags, Buffer body) {
  }

  private final NetClient client;
  private final NetSocket socket;
  private final LinkedBlockingQueue<Frame> received = new LinkedBlockingQueue<>();
  private Buffer pending = Buffer.buffer();
  private volatile boolean closed;

  private RawMqttSocket(NetClient client, NetSocket socket) {
    this.client = client;
    this.socket = socket;
    socket.handler(this::onData);
    socket.closeHandler(v -> closed = true);
  }

  static RawMqttSocket open(Vertx vertx, int port) {
    NetClient client = vertx.createNetClient();
    return new RawMqttSocket(client, client.connect(port, "127.0.0.1").await());
  }

  /** A UTF-8 string as MQTT encodes it: two bytes of length, then the bytes. */
  static Buffer string(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    return Buffer.buffer().appendShort((short) bytes.length).appendBytes(bytes);
  }

  /** Appends {@code length} as a variable byte integer (spec 1.5.5). */
  static Buffer encodeLength(Buffer out, int length) {
    int remaining = length;
    do {
      int digit = remaining % 128;
      remaining /= 128;
      out.appendByte((byte) (remaining > 0 ? digit | 0x80 : digit));
    } while (remaining > 0);
    return out;
  }

  void write(int firstByte, Buffer body) {
    writeAsync(firstByte, body).await();
  }

  /** Completes once the socket took the packet (which waits while the server does not read). */
  Future<Void> writeAsync(int firstByte, Buffer body) {
    return socket.write(encodeLength(Buffer.buffer().appendByte((byte) firstByte), body.length()).appendBuffer(body));
  }

  void pauseReading() {
    socket.pause();
  }

  boolean isClosed() {
    return closed;
  }

  /** Waits for the next packet of {@code type}, skipping others. */
  Frame await(int type, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      while (true) {
        Frame frame = received.poll(Math.max(deadline - System.nanoTime(), 0), TimeUnit.NANOSECONDS);
        if (frame == null) {
          throw new AssertionError("no packet of type " + type + " within " + timeout);
        }
        if (frame.type() == type) {
          return frame;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Packets of {@code type} that arrive within {@code window}. */
  int count(int type, Duration window) {
    long deadline = System.nanoTime() + window.toNanos();
    int count = 0;
    try {
      while (System.nanoTime() < deadline) {
        Frame frame = received.poll(10, TimeUnit.MILLISECONDS);
        if (frame != null && frame.type() == type) {
          count++;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return count;
  }

  /** Drops the TCP connection without DISCONNECT: to the server, the client vanished. */
  void close() {
    if (!closed) {
      socket.close().await();
    }
    client.close().await();
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
      received.add(new Frame(first >> 4, first & 0x0F, pending.getBuffer(index, index + length)));
      pending = pending.getBuffer(index + length, pending.length());
    }
  }
}
