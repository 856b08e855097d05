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
  private volatile boolean stalled;
  private int port;

  private TcpProxy(Vertx vertx, int targetPort) {
    this.targetPort = targetPort;
    this.client = vertx.createNetClient();
    this.server = vertx.createNetServer().connectHandler(this::relay);
  }

  public static TcpProxy start(Vertx vertx, int targetPort) {
    TcpProxy proxy = new TcpProxy(vertx, targetPort);
    proxy.server.listen(0, "127.0.0.1").await();
    proxy.port = proxy.server.actualPort();
    return proxy;
  }

  public String address() {
    return "127.0.0.1:" + port();
  }

  public int port() {
    return server.actualPort() > 0 ? server.actualPort() : port;
  }

  /** Stops listening and drops every connection without a word to either end. */
  public void cut() {
    port = server.actualPort() > 0 ? server.actualPort() : port;
    server.close().await();
    sockets.forEach(NetSocket::close);
    sockets.clear();
  }

  /** Listens again on the same port after {@link #cut()}. */
  public void reopen() {
    server.listen(port, "127.0.0.1").await();
  }

  /**
   * Stops forwarding in both directions without closing anything: to both ends the peer has
   * gone quiet — a stalled server, a broken route — and new connections hang the same way.
   */
  public void stall() {
    stalled = true;
    sockets.forEach(NetSocket::pause);
  }

  /** Forwards again what waited while stalled. */
  public void resume() {
    stalled = false;
    sockets.forEach(NetSocket::resume);
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
      if (stalled) {
        outbound.pause();
      } else {
        inbound.resume();
      }
    }).onFailure(e -> inbound.close());
  }
}
