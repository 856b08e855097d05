package io.iotmeter.bridge;

import io.iotmeter.support.BridgeClient;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * No outage without a key, on the bridges: a client that sends and never reads is not read
 * either (TCP) or is closed (SockJS) before its answers fill the heap; a connection without a
 * valid key is closed after the login deadline, an idle one after the idle timeout; one address
 * cannot take every place. A high frame rate here, so that only the write queue bounds the answers.
 */
@Timeout(120)
class BridgeBoundsTest {

  private static final Duration WAIT = Duration.ofSeconds(10);
  private static RunningPlatform platform;
  private static String viewer;
  private static final Vertx clients = Vertx.vertx();

  @BeforeAll
  static void start() {
    JsonObject config = RunningPlatform.securedConfig();
    config.getJsonObject("bridge").put("inbound_per_s", 1_000_000).put("max_connections_per_address", 3)
        .put("login_timeout_ms", 1500).put("idle_timeout_s", 2);
    platform = RunningPlatform.start(config);
    viewer = platform.newKey("bounds-viewer", "viewer");
  }

  @AfterAll
  static void stop() {
    platform.close();
    clients.close().await();
  }

  @BeforeEach
  void noConnectionLeft() {
    Eventually.within(WAIT, () -> assertThat(metric("iot_bridge_connections{bridge=\"tcp\"}")).isZero());
  }

  @Test
  void aClientThatStreamsPingsAndNeverReadsIsNotReadEither() throws Exception {
    byte[] ping = new JsonObject().put("type", "ping").encode().getBytes(StandardCharsets.UTF_8);
    byte[] frame = java.nio.ByteBuffer.allocate(4 + ping.length).putInt(ping.length).put(ping).array();
    byte[] burst = new byte[frame.length * 1000];
    for (int i = 0; i < 1000; i++) {
      System.arraycopy(frame, 0, burst, i * frame.length, frame.length);
    }
    AtomicLong written = new AtomicLong();
    try (Socket socket = new Socket()) {
      socket.setReceiveBufferSize(4096); // and never read
      socket.connect(new java.net.InetSocketAddress("127.0.0.1", platform.bridgePort()));
      DataOutputStream out = new DataOutputStream(socket.getOutputStream());
      Thread writer = new Thread(() -> {
        try {
          while (!Thread.currentThread().isInterrupted()) {
            out.write(burst);
            written.addAndGet(burst.length);
          }
        } catch (IOException closed) {
          // the test closes the socket
        }
      });
      writer.start();
      Thread.sleep(3000);
      long atThree = written.get();
      Thread.sleep(3000);
      long atSix = written.get();
      socket.close();
      writer.join(5000);
      // Its socket drained nothing: the bridge stopped reading it, so the client's writes block.
      assertThat(atSix - atThree).as("bytes sent between 3 s and 6 s by a client that reads nothing").isZero();
      assertThat(atThree).as("bytes sent before the buffers filled").isLessThan(64L << 20);
    }
    assertThat(metric("iot_bridge_frames_total{bridge=\"tcp\",outcome=\"paused\"}")).isGreaterThanOrEqualTo(1);
  }

  @Test
  void aConnectionWithoutAValidKeyIsClosedAfterTheLoginDeadlineAndPingsDoNotKeepItOpen() {
    double before = metric("iot_bridge_frames_total{bridge=\"tcp\",outcome=\"login_timeout\"}");
    try (BridgeClient silent = new BridgeClient(platform.bridgePort()); BridgeClient pinging = new BridgeClient(platform.bridgePort())) {
      long started = System.nanoTime();
      pinging.send(new JsonObject().put("type", "ping"));
      assertThat(pinging.next(WAIT).getString("type")).isEqualTo("pong");
      JsonObject closing = silent.next(WAIT);
      assertThat(closing.getString("message")).startsWith("closed: login_timeout");
      assertThat(silent.closedWithin(WAIT)).isTrue();
      assertThat((System.nanoTime() - started) / 1_000_000).isBetween(1000L, 5000L);
      assertThat(pinging.next(WAIT, f -> "err".equals(f.getString("type"))).getString("message")).startsWith("closed: login_timeout");
      assertThat(pinging.closedWithin(WAIT)).isTrue();
    }
    assertThat(metric("iot_bridge_frames_total{bridge=\"tcp\",outcome=\"login_timeout\"}")).isEqualTo(before + 2);
  }

  @Test
  void anAuthenticatedConnectionStaysWhileItPingsAndIsClosedWhenIdle() throws Exception {
    try (BridgeClient idle = new BridgeClient(platform.bridgePort()); BridgeClient alive = new BridgeClient(platform.bridgePort())) {
      idle.register("iot.live.status", viewer);
      alive.register("iot.live.status", viewer);
      long end = System.nanoTime() + 5_000_000_000L;
      while (System.nanoTime() < end) {
        alive.send(new JsonObject().put("type", "ping"));
        assertThat(alive.next(WAIT).getString("type")).isEqualTo("pong");
        Thread.sleep(500);
      }
      assertThat(idle.closedWithin(Duration.ofMillis(100))).as("closed after idle_timeout_s (2 s) without traffic").isTrue();
      alive.send(new JsonObject().put("type", "ping"));
      assertThat(alive.next(WAIT).getString("type")).as("past the login deadline and the idle timeout").isEqualTo("pong");
    }
  }

  @Test
  void oneAddressCannotTakeEveryPlace() {
    List<BridgeClient> open = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        BridgeClient c = new BridgeClient(platform.bridgePort());
        c.send(new JsonObject().put("type", "ping"));
        assertThat(c.next(WAIT).getString("type")).isEqualTo("pong");
        open.add(c);
      }
      try (BridgeClient fourth = new BridgeClient(platform.bridgePort())) {
        assertThat(fourth.next(WAIT).getString("message")).startsWith("too_many_connections_from_address: at most 3 from 127.0.0.1");
        assertThat(fourth.closedWithin(WAIT)).isTrue();
      }
      try (BridgeClient otherHost = new BridgeClient(platform.bridgePort(), "127.0.0.2")) {
        otherHost.send(new JsonObject().put("type", "ping"));
        assertThat(otherHost.next(WAIT).getString("type")).as("another address still gets in").isEqualTo("pong");
      }
    } finally {
      open.forEach(BridgeClient::close);
    }
    // Places are given back as connections close.
    Eventually.within(WAIT, () -> assertThat(metric("iot_bridge_connections{bridge=\"tcp\"}")).isZero());
    try (BridgeClient again = new BridgeClient(platform.bridgePort())) {
      again.send(new JsonObject().put("type", "ping"));
      assertThat(again.next(WAIT).getString("type")).isEqualTo("pong");
    }
  }

  @Test
  void aSockJsClientThatSendsRefusedFramesAndNeverReadsIsClosed() throws Exception {
    // A small receive buffer, fixed: the kernel would otherwise grow it (up to 32 MiB here) before
    // the bridge's write queue could ever fill, and the test would time how fast buffers grow.
    WebSocketClient client = clients.createWebSocketClient(new io.vertx.core.http.WebSocketClientOptions().setReceiveBufferSize(8192));
    WebSocket socket = client.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(platform.httpPort())
        .setURI("/eventbus/websocket")).await();
    socket.pause(); // reads nothing the bridge answers
    String refused = new JsonObject().put("type", "register").put("address", "iot.identity.manage")
        .put("headers", new JsonObject().put("api_key", viewer)).encode();
    // What the bridge does is what counts (its count, the connection gone from its gauge): a paused
    // client may not be told of the close until it reads again.
    long sent = 0;
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    long nextLook = 0;
    while (System.nanoTime() < deadline) {
      if (System.nanoTime() >= nextLook) {
        if (metric("iot_bridge_frames_total{bridge=\"sockjs\",outcome=\"not_reading\"}") >= 1) {
          break;
        }
        nextLook = System.nanoTime() + Duration.ofMillis(200).toNanos();
      }
      if (socket.writeQueueFull()) {
        Thread.sleep(5);
        continue;
      }
      socket.writeTextMessage(refused);
      sent++;
    }
    final long frames = sent;
    assertThat(metric("iot_bridge_frames_total{bridge=\"sockjs\",outcome=\"not_reading\"}"))
        .as("the bridge closed the client that did not read, after " + frames + " refused frames").isGreaterThanOrEqualTo(1);
    Eventually.within(WAIT, () -> assertThat(metric("iot_bridge_connections{bridge=\"sockjs\"}")).as("its place released").isZero());
    client.close();
  }

  private static double metric(String series) {
    return platform.get("/metrics").body().lines().filter(l -> l.startsWith(series)).findFirst()
        .map(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).orElse(Double.NaN);
  }
}
