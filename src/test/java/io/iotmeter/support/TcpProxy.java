package io.iotmeter.support;

import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP relay on 127.0.0.1 in front of a server, for what a well-behaved client will not do by
 * itself: lose its network. {@link #cut()} drops every relayed connection at once, so both ends
 * see the connection vanish (no MQTT DISCONNECT), and refuses new ones.
 */
public final class TcpProxy implements AutoCloseable {

  private final int targetPort;
  private final NetServer server;
  private final NetClient client;
  private final List<NetSocket> sockets = new CopyOnWriteArrayList<>();

  private TcpProxy(Vertx vertx, int targetPort) {
    this.targetPort = targetPort;
    this.client = vertx.createNetClient();
    this.server = vertx.createNetServer().connectHandler(this::relay);
  }

  public static TcpProxy start(Vertx vertx, int targetPort) {
    TcpProxy proxy = new TcpProxy(vertx, targetPort);
    proxy.server.listen(0, "127.0.0.1").await();
    return proxy;
  }

  public String address() {
    return "127.0.0.1:" + server.actualPort();
  }

  /** Stops listening and drops every connection without a word to either end. */
  public void cut() {
    server.close().await();
    sockets.forEach(NetSocket::close);
  }

  @Override
  public void close() {
    cut();
    client.close().await();
  }

  private void relay(NetSocket inbound) {
    inbound.pause();
    client.connect(targetPort, "127.0.0.1").onSuccess(outbound -> {
      sockets.add(inbound);
      sockets.add(outbound);
      inbound.handler(outbound::write);
      outbound.handler(inbound::write);
      inbound.closeHandler(v -> outbound.close());
      outbound.closeHandler(v -> inbound.close());
      inbound.resume();
    }).onFailure(e -> inbound.close());
  }
}
