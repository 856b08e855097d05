package io.iotmeter.support;

import io.vertx.core.json.JsonObject;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Predicate;

/**
 * A blocking client of the TCP event-bus bridge, frame by frame (4-byte length + JSON), as any
 * non-JVM client would speak it: what the bridge tests use to see exactly what goes over the wire.
 */
public final class BridgeClient implements AutoCloseable {

  private final Socket socket;
  private final DataInputStream in;
  private final DataOutputStream out;

  public BridgeClient(int port) {
    this(port, "127.0.0.1");
  }

  /** A client whose connection comes from {@code localAddress} (another loopback address: another client host). */
  public BridgeClient(int port, String localAddress) {
    try {
      socket = new Socket(java.net.InetAddress.getByName("127.0.0.1"), port, java.net.InetAddress.getByName(localAddress), 0);
      socket.setSoTimeout(10_000);
      in = new DataInputStream(socket.getInputStream());
      out = new DataOutputStream(socket.getOutputStream());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public BridgeClient send(JsonObject frame) {
    return raw(frame.encode().getBytes(StandardCharsets.UTF_8));
  }

  /** Any bytes as one frame (for broken input). */
  public BridgeClient raw(byte[] json) {
    try {
      out.writeInt(json.length);
      out.write(json);
      out.flush();
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public BridgeClient register(String address, String key) {
    JsonObject frame = new JsonObject().put("type", "register").put("address", address);
    return send(key == null ? frame : frame.put("headers", new JsonObject().put("api_key", key)));
  }

  public BridgeClient request(String address, String replyAddress, JsonObject body, String key) {
    JsonObject frame = new JsonObject().put("type", "send").put("address", address).put("replyAddress", replyAddress)
        .put("body", body);
    return send(key == null ? frame : frame.put("headers", new JsonObject().put("api_key", key)));
  }

  /** The next frame; fails after {@code timeout}. */
  public JsonObject next(Duration timeout) {
    try {
      socket.setSoTimeout((int) timeout.toMillis());
      int length = in.readInt();
      byte[] json = new byte[length];
      in.readFully(json);
      return new JsonObject(new String(json, StandardCharsets.UTF_8));
    } catch (SocketTimeoutException e) {
      throw new AssertionError("no frame within " + timeout);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The next frame that matches, skipping others; fails after {@code timeout}. */
  public JsonObject next(Duration timeout, Predicate<JsonObject> wanted) {
    long end = System.nanoTime() + timeout.toNanos();
    while (true) {
      long left = end - System.nanoTime();
      if (left <= 0) {
        throw new AssertionError("no matching frame within " + timeout);
      }
      JsonObject frame = next(Duration.ofNanos(Math.max(left, 1_000_000)));
      if (wanted.test(frame)) {
        return frame;
      }
    }
  }

  /** Whether the bridge closed the connection (end of stream) within {@code timeout}. */
  public boolean closedWithin(Duration timeout) {
    long end = System.nanoTime() + timeout.toNanos();
    try {
      while (System.nanoTime() < end) {
        socket.setSoTimeout((int) Math.max(1, (end - System.nanoTime()) / 1_000_000));
        int length = in.readInt();
        in.skipNBytes(length);
      }
      return false;
    } catch (EOFException e) {
      return true;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true; // reset by the peer
    }
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      // closing anyway
    }
  }
}
