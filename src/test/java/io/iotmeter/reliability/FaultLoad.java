package io.iotmeter.reliability;

import io.iotmeter.support.Datagrams;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Vertx;
import io.vertx.mqtt.MqttClient;
import io.vertx.mqtt.MqttClientOptions;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The load of the fault-injection suite: meters publishing telemetry at QoS 1 at a fixed rate,
 * each to every given broker port (as real meters publish to every broker), reconnecting when a
 * connection drops. What counts is what was acknowledged: {@link #acknowledged()} holds every
 * (device, seq) some broker answered with PUBACK.
 */
final class FaultLoad implements AutoCloseable {

  private final Vertx vertx = Vertx.vertx();
  private final List<Meter> meters = new ArrayList<>();
  private final Map<String, Set<Long>> acked = new ConcurrentHashMap<>();
  private volatile boolean stopped;

  private final class Meter {
    final String deviceId;
    final List<MqttClient> clients = new ArrayList<>();
    final Map<String, Long> inFlight = new ConcurrentHashMap<>();
    long seq;

    Meter(String deviceId, List<Integer> ports) {
      this.deviceId = deviceId;
      for (int port : ports) {
        MqttClient client = MqttClient.create(vertx, new MqttClientOptions().setClientId(deviceId + "-" + port)
            .setCleanSession(true).setMaxInflightQueue(1000).setKeepAliveInterval(10).setAckTimeout(-1));
        client.publishCompletionHandler(packetId -> {
          Long seqAcked = inFlight.remove(port + "#" + packetId);
          if (seqAcked != null) {
            acked.computeIfAbsent(deviceId, d -> ConcurrentHashMap.newKeySet()).add(seqAcked);
          }
        });
        client.closeHandler(v -> reconnect(client, port));
        clients.add(client);
        connect(client, port);
      }
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

    void publish(List<Integer> ports) {
      long s = seq++;
      for (int i = 0; i < clients.size(); i++) {
        MqttClient client = clients.get(i);
        int port = ports.get(i);
        if (!client.isConnected()) {
          continue;
        }
        client.publish("iot/" + deviceId + "/telemetry", Datagrams.telemetry(deviceId, s).toBuffer(), MqttQoS.AT_LEAST_ONCE,
            false, false).onSuccess(packetId -> inFlight.put(port + "#" + packetId, s));
      }
    }
  }

  /** {@code count} meters ({@code prefix-000}...) each publishing every {@code periodMs} to every port. */
  FaultLoad(String prefix, int count, long periodMs, List<Integer> ports) {
    for (int i = 0; i < count; i++) {
      meters.add(new Meter(String.format("%s-%03d", prefix, i), ports));
    }
    vertx.setPeriodic(periodMs, id -> {
      if (!stopped) {
        meters.forEach(m -> m.publish(ports));
      }
    });
  }

  List<String> deviceIds() {
    return meters.stream().map(m -> m.deviceId).toList();
  }

  /** Every (device, seq) a broker acknowledged. */
  Map<String, Set<Long>> acknowledged() {
    return acked;
  }

  long acknowledgedCount() {
    return acked.values().stream().mapToLong(Set::size).sum();
  }

  void stop() {
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
