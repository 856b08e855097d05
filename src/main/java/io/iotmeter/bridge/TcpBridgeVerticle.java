package io.iotmeter.bridge;

import io.iotmeter.config.Settings;
import io.iotmeter.config.StartupException;
import io.iotmeter.ops.PlatformMetrics;
import io.iotmeter.security.SecuritySettings;
import io.iotmeter.security.TlsSettings;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.parsetools.RecordParser;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.Map;

/**
 * The event bus for programs in any language, on {@code bridge.tcp.port}: the wire protocol of
 * Vert.x's TCP event-bus bridge ({@code vertx-tcp-eventbus-bridge}) — each frame a 4-byte
 * big-endian length and that many bytes of JSON {@code {type, address, headers, body,
 * replyAddress}} — so that bridge's clients work unchanged (the Python and Node examples in
 * {@code examples/} use only their standard libraries).
 *
 * <p>Served here rather than by the library's server, which accumulates a frame of any declared
 * length, writes to a slow client without bound and has no hook on deliveries or new
 * connections: this one closes a connection whose frame exceeds {@code bridge.max_frame_bytes},
 * drops (and counts) deliveries a client does not keep up with, caps connections, and holds
 * every frame against {@link BridgeGuard}. Replies to a client's request come back to it;
 * messages the client registered for carry {@code send: false} (they are publications).
 */
public final class TcpBridgeVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(TcpBridgeVerticle.class);

  private BridgeGuard guard;
  private NetServer server;

  @Override
  public Future<?> start() {
    Settings tcp = Settings.of(config(), "bridge.tcp");
    BridgeSettings settings = BridgeSettings.of(config());
    guard = new BridgeGuard(vertx, "tcp", settings, SecuritySettings.of(config()), PlatformMetrics.registry(config()));
    NetServerOptions options = new NetServerOptions().setHost(tcp.text("host"))
        .setPort(tcp.integer("port")).setTcpKeepAlive(true).setTcpNoDelay(true);
    TlsSettings tls = TlsSettings.of("bridge.tcp.tls", tcp.section("tls").json());
    if (tls.enabled()) {
      try {
        options = tls.applyTo(options);
      } catch (RuntimeException e) {
        return Future.failedFuture(new StartupException(e.getMessage()));
      }
    }
    server = vertx.createNetServer(options).connectHandler(this::connected);
    int port = options.getPort();
    return server.listen().onSuccess(s -> LOG.info("Event-bus TCP bridge listening on {}:{}{}", tcp.text("host"),
            s.actualPort(), tls.enabled() ? " (TLS)" : ""))
        // A port in use is one line naming it and the setting, as for the other listeners.
        .recover(e -> Future.failedFuture(StartupException.explainListenFailure(e, "Event-bus TCP bridge", port, "bridge.tcp.port")));
  }

  /** The port the bridge listens on (tests ask for port 0). */
  public int actualPort() {
    return server.actualPort();
  }

  @Override
  public Future<?> stop() {
    return Future.all(server.close(), guard.close());
  }

  private void connected(NetSocket socket) {
    BridgeGuard.Connection connection = guard.open(socket.remoteAddress(), reason -> {
      error(socket, null, "closed: " + reason);
      socket.close();
    });
    if (connection == null) {
      error(socket, null, "too_many_connections: at most " + guard.settings().maxConnections() + " on this bridge");
      socket.close();
      return;
    }
    Map<String, MessageConsumer<Object>> registered = new HashMap<>();
    int maxFrame = guard.settings().maxFrameBytes();
    RecordParser parser = RecordParser.newFixed(4);
    boolean[] awaitingLength = {true};
    parser.handler(chunk -> {
      if (awaitingLength[0]) {
        int length = chunk.getInt(0);
        if (length < 2 || length > maxFrame) {
          guard.count("invalid");
          error(socket, null, "frame_too_large: a frame holds 2 to " + maxFrame + " bytes of JSON, this one declared " + length);
          socket.close();
          return;
        }
        awaitingLength[0] = false;
        parser.fixedSizeMode(length);
      } else {
        awaitingLength[0] = true;
        parser.fixedSizeMode(4);
        frame(socket, connection, registered, chunk);
      }
    });
    socket.handler(parser);
    socket.exceptionHandler(e -> LOG.debug("Bridge client {}: {}", connection.remote(), e.getMessage()));
    socket.closeHandler(v -> {
      registered.values().forEach(MessageConsumer::unregister);
      registered.clear();
      connection.closed();
    });
  }

  private void frame(NetSocket socket, BridgeGuard.Connection connection, Map<String, MessageConsumer<Object>> registered,
                     Buffer bytes) {
    JsonObject frame;
    try {
      frame = new JsonObject(bytes);
    } catch (DecodeException | ClassCastException e) {
      guard.count("invalid");
      error(socket, null, "invalid_json: a frame is one JSON object");
      return;
    }
    String type = frame.getValue("type") instanceof String t ? t : "";
    String address = frame.getValue("address") instanceof String a ? a : null;
    String replyAddress = frame.getValue("replyAddress") instanceof String r ? r : null;
    if ("ping".equals(type)) {
      write(socket, new JsonObject().put("type", "pong"));
      return;
    }
    if (!type.equals("send") && !type.equals("publish") && !type.equals("register") && !type.equals("unregister")) {
      guard.count("invalid");
      error(socket, replyAddress, "unknown_type: type is one of send, publish, register, unregister, ping");
      return;
    }
    if (address == null) {
      guard.count("invalid");
      error(socket, replyAddress, "missing_address");
      return;
    }
    JsonObject headers = frame.getValue("headers") instanceof JsonObject h ? h : null;
    connection.admit(type, address, headers).onComplete(admitted -> {
      if (connection.isClosed()) {
        return; // the client left while its key was checked: nothing to register for it
      }
      if (admitted.failed()) {
        error(socket, replyAddress, admitted.cause().getMessage());
        return;
      }
      switch (type) {
        case "register" -> {
          if (!registered.containsKey(address)) {
            registered.put(address, vertx.eventBus().consumer(address, m -> deliver(socket, connection, m)));
            connection.registered(1);
          }
        }
        case "unregister" -> {
          MessageConsumer<Object> consumer = registered.remove(address);
          if (consumer == null) {
            error(socket, null, "unknown_address: not registered for " + address);
          } else {
            consumer.unregister();
            connection.registered(-1);
          }
        }
        default -> send(socket, connection, address, replyAddress, frame.getValue("body"));
      }
    });
  }

  private void send(NetSocket socket, BridgeGuard.Connection connection, String address, String replyAddress, Object body) {
    DeliveryOptions options = new DeliveryOptions().setSendTimeout(guard.settings().requestTimeoutMs());
    connection.identityHeaders().forEach(options::addHeader);
    if (replyAddress == null) {
      vertx.eventBus().send(address, body, options);
      return;
    }
    vertx.eventBus().request(address, body, options).onComplete(reply -> {
      if (reply.succeeded()) {
        JsonObject headers = new JsonObject();
        reply.result().headers().forEach(h -> headers.put(h.getKey(), h.getValue()));
        write(socket, new JsonObject().put("type", "message").put("address", replyAddress).put("headers", headers)
            .put("body", reply.result().body()).put("send", true));
      } else if (reply.cause() instanceof ReplyException failure) {
        write(socket, new JsonObject().put("type", "err").put("address", replyAddress).put("sourceAddress", address)
            .put("failureCode", failure.failureCode()).put("failureType", failure.failureType().name())
            .put("message", failure.getMessage()));
      } else {
        error(socket, replyAddress, String.valueOf(reply.cause().getMessage()));
      }
    });
  }

  private void deliver(NetSocket socket, BridgeGuard.Connection connection, Message<Object> message) {
    if (!connection.mayDeliver(socket.writeQueueFull())) {
      return;
    }
    write(socket, new JsonObject().put("type", "message").put("address", message.address())
        .put("body", message.body()).put("send", message.isSend()));
  }

  private static void error(NetSocket socket, String address, String message) {
    JsonObject frame = new JsonObject().put("type", "err").put("message", message);
    if (address != null) {
      frame.put("address", address);
    }
    write(socket, frame);
  }

  private static void write(NetSocket socket, JsonObject frame) {
    byte[] json = frame.encode().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    socket.write(Buffer.buffer(json.length + 4).appendInt(json.length).appendBytes(json));
  }
}
