package io.iotmeter.support;

import io.iotmeter.audit.AckLedger;
import io.iotmeter.audit.MessageKey;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.mqtt.MqttClient;
import io.vertx.mqtt.MqttClientOptions;
import io.vertx.mqtt.messages.MqttPublishMessage;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A meter for the tests: a real MQTT client (Vert.x) of the platform's endpoint, whose
 * {@link #send} returns once the platform has acknowledged the message (PUBACK / PUBCOMP),
 * i.e. once it is durable.
 */
public final class TestMeter implements AutoCloseable {

  private final MqttClient client;
  private final Map<Integer, CompletableFuture<Void>> acks = new ConcurrentHashMap<>();
  private final LinkedBlockingQueue<MqttPublishMessage> received = new LinkedBlockingQueue<>();

  private TestMeter(MqttClient client) {
    this.client = client;
    // Whichever comes first — the acknowledgement or the sender asking for it — creates the entry.
    client.publishCompletionHandler(id -> acks.computeIfAbsent(id, k -> new CompletableFuture<>()).complete(null));
    client.publishHandler(received::add);
  }

  public static TestMeter connect(Vertx vertx, int port, String clientId, boolean clean) {
    return connect(vertx, port, new MqttClientOptions().setClientId(clientId).setCleanSession(clean));
  }

  /** A meter that registers its will as the protocol says (offline status, QoS 1, retained). */
  public static TestMeter connectWithWill(Vertx vertx, int port, String deviceId) {
    return connect(vertx, port, new MqttClientOptions().setClientId(deviceId).setCleanSession(false)
        .setWillFlag(true).setWillTopic("iot/" + deviceId + "/status").setWillQoS(1).setWillRetain(true)
        .setWillMessageBytes(Datagrams.status(deviceId, "offline", java.time.Instant.now()).toBuffer()));
  }

  /**
   * What the server answers a CONNECT with these options: CONNECTION_ACCEPTED (then the client
   * disconnects), the CONNACK refusal code, or null when no CONNACK came (a failed TLS handshake,
   * a closed port).
   */
  public static io.netty.handler.codec.mqtt.MqttConnectReturnCode connackOf(Vertx vertx, int port, MqttClientOptions options) {
    MqttClient client = MqttClient.create(vertx, options);
    try {
      client.connect(port, "127.0.0.1").await();
      client.disconnect();
      return io.netty.handler.codec.mqtt.MqttConnectReturnCode.CONNECTION_ACCEPTED;
    } catch (Throwable e) { // MqttConnectionException is a Throwable, not an Exception
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof io.vertx.mqtt.MqttConnectionException refused) {
          return refused.code();
        }
      }
      return null;
    }
  }

  public static TestMeter connect(Vertx vertx, int port, MqttClientOptions options) {
    MqttClient client = MqttClient.create(vertx, options.setMaxInflightQueue(100).setAckTimeout(30));
    // Handlers first: a persistent session's queued messages follow the CONNACK at once, and a
    // message that arrives before the publish handler is set is gone (seen in CI once the JIT was warm).
    TestMeter meter = new TestMeter(client);
    client.connect(port, "127.0.0.1").await();
    return meter;
  }

  /** Publishes and waits for the platform's acknowledgement (QoS 1/2) or the write (QoS 0). */
  public void send(String topic, Buffer payload, int qos) {
    send(topic, payload, qos, false);
  }

  /** Publishes with the retain flag, as meters publish their status. */
  public void sendRetained(String topic, JsonObject payload, int qos) {
    send(topic, payload.toBuffer(), qos, true);
  }

  private void send(String topic, Buffer payload, int qos, boolean retain) {
    if (qos == 0) {
      client.publish(topic, payload, MqttQoS.AT_MOST_ONCE, false, retain).await();
      return;
    }
    int id = client.publish(topic, payload, MqttQoS.valueOf(qos), false, retain).await();
    try {
      acks.computeIfAbsent(id, k -> new CompletableFuture<>()).get(15, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("no acknowledgement for packet " + id + " on " + topic, e);
    } finally {
      acks.remove(id);
    }
  }

  public void send(String topic, JsonObject payload, int qos) {
    send(topic, payload.toBuffer(), qos);
  }

  /**
   * Sends telemetry {@code seq} of {@code deviceId} ({@link Datagrams#telemetry}) at QoS 1 or 2
   * and records it in {@code ledger} as acknowledged on {@code path}: a send that returned was
   * acknowledged, so the store audit must find it in every store.
   */
  public void sendTelemetry(AckLedger ledger, String path, String deviceId, long seq, int qos) {
    send(ledger, path, new MessageKey(deviceId, seq), "iot/" + deviceId + "/telemetry", Datagrams.telemetry(deviceId, seq), qos);
  }

  /** Sends {@code payload} (the message {@code key}) at QoS 1 or 2 and records its acknowledgement on {@code path}. */
  public void send(AckLedger ledger, String path, MessageKey key, String topic, JsonObject payload, int qos) {
    if (qos == 0) {
      throw new IllegalArgumentException("QoS 0 is never acknowledged: nothing to record");
    }
    ledger.published(path, key);
    long sentAt = System.currentTimeMillis();
    send(topic, payload, qos);
    ledger.acked(path, key, sentAt, System.currentTimeMillis());
  }

  public void subscribe(String filter, int qos) {
    client.subscribe(filter, qos).await();
  }

  /** The next message the platform delivered to this meter. */
  public MqttPublishMessage receive(Duration timeout) {
    try {
      MqttPublishMessage message = received.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (message == null) {
        throw new AssertionError("nothing received within " + timeout);
      }
      return message;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** True when nothing at all is delivered to this meter within {@code window} (an absence check: watch long enough). */
  public boolean receiveNone(Duration window) {
    try {
      return received.poll(window.toMillis(), TimeUnit.MILLISECONDS) == null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Subscribes, then disconnects cleanly: the persistent session keeps the subscription. */
  public void subscribeAndClose(String filter, int qos) {
    subscribe(filter, qos);
    close();
  }

  /** False once the platform closed the connection (or it was closed here). */
  public boolean isConnected() {
    return client.isConnected();
  }

  @Override
  public void close() {
    if (client.isConnected()) {
      client.disconnect().await();
    }
  }
}
