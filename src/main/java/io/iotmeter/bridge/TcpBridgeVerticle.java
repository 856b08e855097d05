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
 * drops (and counts) deliveries a client does not keep up with, stops reading a client that does
 * not read its answers (pongs, errors, replies) until its socket drains, caps connections (in
 * all, per address, without a key after {@code login_timeout_ms}, idle after
 * {@code idle_timeout_s}), and holds every frame, pings included, against {@link BridgeGuard}. Replies to a client's request come back to it;
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
        .setPort(tcp.integer("port")).setTcpKeepAlive(true).setTcpNoDelay(true)
        .setIdleTimeout(settings.idleTimeoutS()).setIdleTimeoutUnit(java.util.concurrent.TimeUnit.SECONDS);
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
    BridgeGuard.Connection connection;
    try {
      connection = guard.open(socket.remoteAddress(), reason -> {
        error(socket, null, "closed: " + reason);
        socket.close();
      });
    } catch (BridgeGuard.TooManyConnections refused) {
      error(socket, null, refused.getMessage());
      socket.close();
      return;
    }
    Map<String, MessageConsumer<Object>> registered = new HashMap<>();
    int maxFrame = guard.settings().maxFrameBytes();
    // The parser reads the socket: pausing it stops both the parsing of frames already read and the reading.
    RecordParser parser = RecordParser.newFixed(4, socket);
    Answers answers = new Answers(socket, parser);
    boolean[] awaitingLength = {true};
    parser.handler(chunk -> {
      if (awaitingLength[0]) {
        int length = chunk.getInt(0);
        if (length < 2 || length > maxFrame) {
          guard.count("invalid");
          answers.error(null, "frame_too_large: a frame holds 2 to " + maxFrame + " bytes of JSON, this one declared " + length);
          socket.close();
          return;
        }
        awaitingLength[0] = false;
        parser.fixedSizeMode(length);
      } else {
        awaitingLength[0] = true;
        parser.fixedSizeMode(4);
        frame(answers, connection, registered, chunk);
      }
    });
    parser.exceptionHandler(e -> LOG.debug("Bridge client {}: {}", connection.remote(), e.getMessage()));
    parser.endHandler(v -> { });
    socket.closeHandler(v -> {
      registered.values().forEach(MessageConsumer::unregister);
      registered.clear();
      connection.closed();
    });
  }

  /**
   * What the bridge writes back to one client (pongs, errors, replies), held to its socket's write
   * queue: a write that fills it pauses the reading of that client's frames until the queue drains,
   * so a client that sends and never reads gets no further answers and costs no memory (counted
   * {@code paused}).
   */
  private final class Answers {
    private final NetSocket socket;
    private final RecordParser frames;
    private boolean paused;

    Answers(NetSocket socket, RecordParser frames) {
      this.socket = socket;
      this.frames = frames;
    }

    void write(JsonObject frame) {
      TcpBridgeVerticle.write(socket, frame);
      if (!paused && socket.writeQueueFull()) {
        paused = true;
        guard.count("paused");
        frames.pause();
        socket.drainHandler(v -> {
          paused = false;
          frames.resume();
        });
      }
    }

    void error(String address, String message) {
      write(errorFrame(address, message));
    }

    NetSocket socket() {
      return socket;
    }
  }

  private void frame(Answers answers, BridgeGuard.Connection connection, Map<String, MessageConsumer<Object>> registered,
                     Buffer bytes) {
    NetSocket socket = answers.socket();
    JsonObject frame;
    try {
      frame = new JsonObject(bytes);
    } catch (DecodeException | ClassCastException e) {
      if (connection.arrived()) {
        guard.count("invalid");
        answers.error(null, "invalid_json: a frame is one JSON object");
      }
      return;
    }
    String type = frame.getValue("type") instanceof String t ? t : "";
    String address = frame.getValue("address") instanceof String a ? a : null;
    String replyAddress = frame.getValue("replyAddress") instanceof String r ? r : null;
    boolean checked = type.equals("send") || type.equals("publish") || type.equals("register") || type.equals("unregister");
    if ((!checked || address == null) && !connection.arrived()) {
      // Beyond the rate, a ping or an invalid frame is dropped unanswered (counted rate_limited).
      return;
    }
    if ("ping".equals(type)) {
      answers.write(new JsonObject().put("type", "pong"));
      return;
    }
    if (!checked) {
      guard.count("invalid");
      answers.error(replyAddress, "unknown_type: type is one of send, publish, register, unregister, ping");
      return;
    }
    if (address == null) {
      guard.count("invalid");
      answers.error(replyAddress, "missing_address");
      return;
    }
    JsonObject headers = frame.getValue("headers") instanceof JsonObject h ? h : null;
    connection.admit(type, address, headers).onComplete(admitted -> {
      if (connection.isClosed()) {
        return; // the client left while its key was checked: nothing to register for it
      }
      if (admitted.failed()) {
        answers.error(replyAddress, admitted.cause().getMessage());
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
            answers.error(null, "unknown_address: not registered for " + address);
          } else {
            consumer.unregister();
            connection.registered(-1);
          }
        }
        default -> send(answers, connection, address, replyAddress, frame.getValue("body"));
      }
    });
  }

  private void send(Answers answers, BridgeGuard.Connection connection, String address, String replyAddress, Object body) {
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
        answers.write(new JsonObject().put("type", "message").put("address", replyAddress).put("headers", headers)
            .put("body", reply.result().body()).put("send", true));
      } else if (reply.cause() instanceof ReplyException failure) {
        answers.write(new JsonObject().put("type", "err").put("address", replyAddress).put("sourceAddress", address)
            .put("failureCode", failure.failureCode()).put("failureType", failure.failureType().name())
            .put("message", failure.getMessage()));
      } else {
        answers.error(replyAddress, String.valueOf(reply.cause().getMessage()));
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
    write(socket, errorFrame(address, message));
  }

  private static JsonObject errorFrame(String address, String message) {
    JsonObject frame = new JsonObject().put("type", "err").put("message", message);
    if (address != null) {
      frame.put("address", address);
    }
    return frame;
  }

  private static void write(NetSocket socket, JsonObject frame) {
    byte[] json = frame.encode().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    socket.write(Buffer.buffer(json.length + 4).appendInt(json.length).appendBytes(json));
  }
}
