package io.iotmeter.audit;

import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.mqtt.MqttClient;
import io.vertx.mqtt.MqttClientOptions;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

/**
 * Meters for the tests that claim "stored exactly once" (the fault suite among them): meters publishing the messages of a {@link LoadLayout}
 * at QoS 1 at a fixed rate, each to every given path (a broker or the endpoint, as real meters
 * publish to every broker), reconnecting when a connection drops. What counts is what was
 * acknowledged, on which path and when: every acknowledgement goes into the {@link #ledger()} as
 * it happens, whichever of the publish callback and the PUBACK comes first.
 */
public final class MeterLoad implements AutoCloseable {

  private final Vertx vertx = Vertx.vertx();
  private final LoadLayout layout;
  private final List<Meter> meters = new ArrayList<>();
  private final AckLedger ledger = new AckLedger();
  private final AtomicLong publishFailures = new AtomicLong();
  private volatile boolean stopped;

  private final class Meter {
    final String deviceId;
    final List<MqttClient> clients = new ArrayList<>();
    final List<PublishTracker> trackers = new ArrayList<>();
    long seq;

    Meter(String deviceId, Map<String, Integer> paths) {
      this.deviceId = deviceId;
      paths.forEach((path, port) -> {
        MqttClient client = MqttClient.create(vertx, new MqttClientOptions().setClientId(deviceId + "-" + port)
            .setCleanSession(true).setMaxInflightQueue(1000).setKeepAliveInterval(10).setAckTimeout(-1));
        PublishTracker tracker = new PublishTracker(ledger, path);
        client.publishCompletionHandler(tracker::acknowledged);
        client.closeHandler(v -> {
          tracker.connectionLost();
          reconnect(client, port);
        });
        clients.add(client);
        trackers.add(tracker);
        connect(client, port);
      });
    }

    void connect(MqttClient client, int port) {
      if (stopped) {
        return;
      }
      client.connect(port, "127.0.0.1").onFailure(e -> vertx.setTimer(500, id -> connect(client, port)));
    }

    void reconnect(MqttClient client, int port) {
      vertx.setTimer(500, id -> connect(client, port));
    }

    void publish() {
      publish(new MessageKey(deviceId, seq++));
    }

    void publish(MessageKey key) {
      String topic = layout.topic(deviceId, key.seq());
      Buffer payload = Buffer.buffer(layout.payload(deviceId, key.seq()));
      for (int i = 0; i < clients.size(); i++) {
        MqttClient client = clients.get(i);
        PublishTracker tracker = trackers.get(i);
        if (!client.isConnected()) {
          continue;
        }
        long sentAt = System.currentTimeMillis();
        tracker.sending(key);
        client.publish(topic, payload, MqttQoS.AT_LEAST_ONCE, false, false)
            .onSuccess(packetId -> tracker.published(packetId, key, sentAt))
            .onFailure(e -> publishFailures.incrementAndGet());
      }
    }
  }

  /**
   * {@code count} meters ({@code prefix-000}...) each publishing every {@code periodMs} on every
   * path (name → MQTT port).
   */
  public MeterLoad(String prefix, int count, long periodMs, Map<String, Integer> paths, LoadLayout layout) {
    this(prefix, count, periodMs, i -> paths, layout);
  }

  /** Meter {@code i} publishes on the paths {@code pathsOf.apply(i)}: some meters may use one broker only. */
  public MeterLoad(String prefix, int count, long periodMs, IntFunction<Map<String, Integer>> pathsOf, LoadLayout layout) {
    this.layout = layout;
    for (int i = 0; i < count; i++) {
      meters.add(new Meter(String.format("%s-%03d", prefix, i), new LinkedHashMap<>(pathsOf.apply(i))));
    }
    vertx.setPeriodic(periodMs, id -> {
      if (!stopped) {
        meters.forEach(Meter::publish);
      }
    });
  }

  /** The device ids the meters will use, before any is created (to prepare the registry). */
  public static List<String> deviceIds(String prefix, int count) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      ids.add(String.format("%s-%03d", prefix, i));
    }
    return ids;
  }

  public List<String> deviceIds() {
    return meters.stream().map(m -> m.deviceId).toList();
  }

  /** Every (device, seq) acknowledged, by path, with its times. */
  public AckLedger ledger() {
    return ledger;
  }

  /** Acknowledgements on {@code path} whose PUBACK arrived in [from, to) (epoch ms). */
  public long ackedBetween(String path, long fromMs, long toMs) {
    return ledger.acked(path).values().stream().filter(a -> a.ackedAtMs() >= fromMs && a.ackedAtMs() < toMs).count();
  }

  /** Meter {@code index} publishes {@code seq} now, out of its turn (also after {@link #stop}). */
  public void publishOne(int index, long seq) {
    Meter meter = meters.get(index);
    vertx.runOnContext(v -> meter.publish(new MessageKey(meter.deviceId, seq)));
  }

  /** Publishes the client refused (not connected any more, in-flight queue full). */
  public long publishFailures() {
    return publishFailures.get();
  }

  public void stop() {
    stopped = true;
  }

  @Override
  public void close() {
    stopped = true;
    meters.forEach(m -> m.clients.forEach(c -> {
      if (c.isConnected()) {
        c.disconnect();
      }
    }));
    vertx.close().await();
  }
}
