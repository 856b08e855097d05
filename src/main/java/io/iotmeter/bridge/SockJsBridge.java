package io.iotmeter.bridge;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.bridge.PermittedOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.sockjs.BridgeEvent;
import io.vertx.ext.web.handler.sockjs.SockJSBridgeOptions;
import io.vertx.ext.web.handler.sockjs.SockJSHandler;
import io.vertx.ext.web.handler.sockjs.SockJSHandlerOptions;
import io.vertx.ext.web.handler.sockjs.SockJSSocket;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The event bus for browsers: Vert.x's SockJS bridge at {@code /eventbus} on the API's port,
 * held to {@link BridgeGuard} on every event — a new socket (connection cap), each frame
 * (key, role, permitted address, rate) and each delivery to the client (rate, a socket that
 * does not keep up). Only the WebSocket transports are on: {@code /eventbus/websocket} takes
 * the bridge's JSON frames as they are (what the dashboard uses), and SockJS clients
 * ({@code @vertx/eventbus-bridge-client.js}) connect over WebSocket too; the HTTP polling
 * transports, whose request bodies nothing here bounds, are off.
 *
 * <p>A refused frame is answered {@code {"type":"err","body":"<reason>"}} — for a request also
 * with {@code address} (its reply address) and {@code message} — then the library's own
 * {@code "rejected"}. A client whose socket's write queue is full when it sends a frame does not
 * read its answers: it is closed ({@code not_reading}) before they pile up. Connections are
 * capped in all and per address, and closed without a key after {@code login_timeout_ms}; the
 * library closes a socket that sends no ping for 10 s.
 */
public final class SockJsBridge {

  private SockJsBridge() {
  }

  /** The router to mount at {@code /eventbus/*}. */
  public static Router router(Vertx vertx, BridgeGuard guard) {
    SockJSHandlerOptions options = new SockJSHandlerOptions().setRegisterWriteHandler(false)
        .addDisabledTransport("XHR").addDisabledTransport("EVENT_SOURCE").addDisabledTransport("HTML_FILE")
        .addDisabledTransport("JSON_P");
    SockJSBridgeOptions bridge = new SockJSBridgeOptions()
        .setMaxHandlersPerSocket(guard.settings().maxRegistrations())
        .setReplyTimeout(guard.settings().requestTimeoutMs());
    // The library's own check comes after ours: it must let through what BridgePermissions lists.
    for (BridgePermissions.Permitted permitted : BridgePermissions.PERMITTED) {
      PermittedOptions match = new PermittedOptions().setAddressRegex(permitted.pattern().pattern());
      if (permitted.direction() == BridgePermissions.Direction.RECEIVE) {
        bridge.addOutboundPermitted(match);
      } else {
        bridge.addInboundPermitted(match);
      }
    }
    Map<SockJSSocket, BridgeGuard.Connection> connections = new ConcurrentHashMap<>();
    return SockJSHandler.create(vertx, options).bridge(bridge, event -> handle(guard, connections, event));
  }

  private static void handle(BridgeGuard guard, Map<SockJSSocket, BridgeGuard.Connection> connections, BridgeEvent event) {
    SockJSSocket socket = event.socket();
    switch (event.type()) {
      case SOCKET_CREATED -> {
        try {
          connections.put(socket, guard.open(socket.remoteAddress(), reason -> {
            error(socket, "closed: " + reason);
            socket.close();
          }));
          event.complete(true);
        } catch (BridgeGuard.TooManyConnections refused) {
          error(socket, refused.getMessage());
          event.complete(false);
        }
      }
      case SOCKET_CLOSED -> {
        BridgeGuard.Connection connection = connections.remove(socket);
        if (connection != null) {
          connection.closed();
        }
        event.complete(true);
      }
      case SEND, PUBLISH, REGISTER, UNREGISTER -> {
        BridgeGuard.Connection connection = connections.get(socket);
        JsonObject raw = event.getRawMessage();
        if (connection == null || raw == null) {
          event.complete(false);
          return;
        }
        if (socket.writeQueueFull()) {
          // It sends and does not read what it is answered: every answer would stay in memory.
          guard.count("not_reading");
          connection.closed();
          socket.close();
          event.complete(false);
          return;
        }
        String type = switch (event.type()) {
          case SEND -> "send";
          case PUBLISH -> "publish";
          case REGISTER -> "register";
          default -> "unregister";
        };
        String address = raw.getValue("address") instanceof String a ? a : null;
        JsonObject headers = raw.getValue("headers") instanceof JsonObject h ? h : null;
        connection.admit(type, address, headers).onComplete(admitted -> {
          if (connection.isClosed()) {
            event.complete(false);
            return;
          }
          if (admitted.failed()) {
            // With the request's reply address, so that the client can tell which request it answers.
            error(socket, admitted.cause().getMessage(), raw.getValue("replyAddress") instanceof String r ? r : null);
            event.complete(false);
            return;
          }
          if (event.type() == io.vertx.ext.bridge.BridgeEventType.SEND) {
            // The consumer sees who asks, never the key, nor headers the client made up.
            JsonObject identity = new JsonObject();
            connection.identityHeaders().forEach(identity::put);
            raw.put("headers", identity);
          } else {
            raw.remove("headers");
          }
          if (event.type() == io.vertx.ext.bridge.BridgeEventType.REGISTER) {
            connection.registered(1);
          } else if (event.type() == io.vertx.ext.bridge.BridgeEventType.UNREGISTER) {
            connection.registered(-1);
          }
          event.complete(true);
        });
      }
      case RECEIVE -> {
        BridgeGuard.Connection connection = connections.get(socket);
        event.complete(connection != null && connection.mayDeliver(socket.writeQueueFull()));
      }
      default -> event.complete(true);
    }
  }

  private static void error(SockJSSocket socket, String reason) {
    error(socket, reason, null);
  }

  private static void error(SockJSSocket socket, String reason, String replyAddress) {
    JsonObject frame = new JsonObject().put("type", "err").put("body", reason);
    if (replyAddress != null) {
      frame.put("address", replyAddress).put("message", reason);
    }
    socket.write(Buffer.buffer(frame.encode()));
  }
}
