package io.iotmeter.reliability;

import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.RawMqttClient;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.SettledStores;
import io.iotmeter.support.TestPostgres;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.mqtt.MqttClient;
import io.vertx.mqtt.MqttClientOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bounded memory under hostile clients, measured: a subscriber to everything that never
 * acknowledges and never reads (QoS 1 and QoS 0), a client flooding 250 KiB QoS 1 messages
 * without waiting, and 5,000 retained messages — while 100 normal meters (one datagram a second
 * each) keep being stored with their usual latency and the heap stays under a stated bound.
 * Prints its figures.
 */
@Timeout(240)
class GreedyClientsTest {

  private static final int METERS = 100;
  private static final Duration BASELINE = Duration.ofSeconds(10);
  private static final Duration UNDER_ATTACK = Duration.ofSeconds(20);
  /** The heap may grow by at most this much (after GC) while the greedy clients are at work. */
  private static final long HEAP_BOUND_BYTES = 200L << 20;

  /** 100 meters publishing one telemetry datagram per second at QoS 1; latency = PUBLISH to PUBACK. */
  private static final class Meters implements AutoCloseable {
    final Vertx vertx = Vertx.vertx();
    final List<MqttClient> clients = new ArrayList<>();
    final Map<String, Long> sentAt = new ConcurrentHashMap<>();
    final ConcurrentLinkedQueue<Long> latenciesMicros = new ConcurrentLinkedQueue<>();
    final AtomicInteger sent = new AtomicInteger();
    final AtomicInteger acked = new AtomicInteger();
    final AtomicLong seq = new AtomicLong();
    long timer;

    Meters(int port) {
      for (int i = 0; i < METERS; i++) {
        String id = String.format("meter-%03d", i);
        MqttClient client = MqttClient.create(vertx, new MqttClientOptions().setClientId(id).setCleanSession(true)
            .setMaxInflightQueue(100).setKeepAliveInterval(30));
        client.publishCompletionHandler(packetId -> {
          Long start = sentAt.remove(id + "#" + packetId);
          if (start != null) {
            latenciesMicros.add((System.nanoTime() - start) / 1000);
            acked.incrementAndGet();
          }
        });
        client.connect(port, "127.0.0.1").await();
        clients.add(client);
      }
    }

    void start() {
      timer = vertx.setPeriodic(1000, id -> {
        long s = seq.getAndIncrement();
        for (int i = 0; i < clients.size(); i++) {
          MqttClient client = clients.get(i);
          String deviceId = String.format("meter-%03d", i);
          long start = System.nanoTime();
          client.publish("iot/" + deviceId + "/telemetry", Datagrams.telemetry(deviceId, s).toBuffer(), MqttQoS.AT_LEAST_ONCE,
              false, false).onSuccess(packetId -> sentAt.put(deviceId + "#" + packetId, start));
          sent.incrementAndGet();
        }
      });
    }

    /** Latencies recorded so far, emptied. */
    long[] drain() {
      List<Long> list = new ArrayList<>();
      Long l;
      while ((l = latenciesMicros.poll()) != null) {
        list.add(l);
      }
      return list.stream().mapToLong(Long::longValue).sorted().toArray();
    }

    void stop() {
      vertx.cancelTimer(timer);
    }

    @Override
    public void close() {
      clients.forEach(c -> c.disconnect());
      vertx.close().await();
    }
  }

  private static long percentile(long[] sorted, double p) {
    return sorted.length == 0 ? -1 : sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
  }

  private static long heapAfterGc() {
    System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  private static double metric(RunningPlatform platform, String line) {
    Matcher m = Pattern.compile("^" + Pattern.quote(line) + " ([0-9.E]+)$", Pattern.MULTILINE).matcher(platform.get("/metrics").body());
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  @Test
  void greedyClientsCannotGrowTheHeapOrSlowTheMeters() throws Exception {
    JsonObject config = RunningPlatform.ingestConfig();
    try (RunningPlatform platform = RunningPlatform.start(config); Meters meters = new Meters(platform.mqttPort())) {
      Vertx clients = Vertx.vertx();
      meters.start();
      Thread.sleep(BASELINE.toMillis());
      long[] before = meters.drain();
      long heapBefore = heapAfterGc();

      // A subscriber to everything at QoS 1 that never acknowledges or reads, and one at QoS 0.
      RawMqttClient greedy = RawMqttClient.connect(clients, platform.mqttPort(), "greedy-1", false, 0, null, null);
      greedy.subscribe(1, "iot/#", 1);
      greedy.await(RawMqttClient.SUBACK, Duration.ofSeconds(5));
      greedy.pauseReading();
      RawMqttClient greedy0 = RawMqttClient.connect(clients, platform.mqttPort(), "greedy-0", true, 0, null, null);
      greedy0.subscribe(1, "iot/#", 0);
      greedy0.await(RawMqttClient.SUBACK, Duration.ofSeconds(5));
      greedy0.pauseReading();

      // 5,000 retained messages from one client.
      RawMqttClient retainer = RawMqttClient.connect(clients, platform.mqttPort(), "retainer", true, 0, null, null);
      for (int i = 0; i < 5000; i++) {
        retainer.publishRetained("iot/retainer/r" + i, "{\"i\":" + i + "}");
      }

      // A flooder: 250 KiB QoS 1 messages on a device topic, never waiting for PUBACK.
      byte[] junk = ("{\"v\":2,\"pad\":\"" + "x".repeat(250 * 1024) + "\"}").getBytes(StandardCharsets.UTF_8);
      RawMqttClient flooder = RawMqttClient.connect(clients, platform.mqttPort(), "flood-1", true, 0, null, null);
      AtomicBoolean flooding = new AtomicBoolean(true);
      AtomicInteger flooded = new AtomicInteger();
      AtomicInteger blockedWrites = new AtomicInteger();
      Thread flood = new Thread(() -> {
        int packetId = 1;
        while (flooding.get()) {
          if (flooder.publishBytes("iot/flood-1/telemetry", junk, 1, packetId, Duration.ofSeconds(1))) {
            flooded.incrementAndGet();
            packetId = packetId % 65535 + 1;
          } else {
            blockedWrites.incrementAndGet(); // the platform stopped reading: TCP pushes back
          }
        }
      }, "flooder");
      flood.start();

      long heapMax = heapBefore;
      long end = System.nanoTime() + UNDER_ATTACK.toNanos();
      while (System.nanoTime() < end) {
        Thread.sleep(2000);
        heapMax = Math.max(heapMax, heapAfterGc());
      }
      flooding.set(false);
      flood.join(5000);
      meters.stop();
      long[] during = meters.drain();

      // Every datagram of the meters acknowledged and accepted once; stored in every sink.
      Eventually.within(Duration.ofSeconds(30), () -> assertThat(meters.acked.get()).isEqualTo(meters.sent.get()));
      // Accepted once: counted after the count stayed the same past the settle interval (a copy accepted late would show).
      assertThat(Eventually.settled(Duration.ofSeconds(30), SettledStores.interval(platform.config()),
          () -> metric(platform, "mqtt_collector_messages_processed_total{topic_suffix=\"telemetry\"}"), n -> n >= meters.sent.get()))
          .isEqualTo(meters.sent.get());
      Eventually.within(Duration.ofSeconds(60), () -> assertThat(TestPostgres.count(platform.postgres(),
          "SELECT count(*) FROM journal_waiting WHERE device_id LIKE 'meter-%'")).isZero());

      double paused = metric(platform, "mqtt_collector_mqtt_paused_total");
      double overflow = metric(platform, "mqtt_collector_messages_errors_total{error_type=\"mqtt_queue_overflow\"}");
      double qos0Dropped = metric(platform, "mqtt_collector_messages_errors_total{error_type=\"mqtt_qos0_dropped\"}");
      double retainedRefused = metric(platform, "mqtt_collector_messages_errors_total{error_type=\"mqtt_retained_refused\"}");
      System.out.printf("%nGreedy clients (%d meters at 1 datagram/s, JVM shared with the platform and its stores):%n", METERS);
      System.out.printf("  meter ack latency p50/p99 before: %.1f / %.1f ms (%d datagrams); with greedy clients: %.1f / %.1f ms (%d)%n",
          percentile(before, 0.5) / 1000.0, percentile(before, 0.99) / 1000.0, before.length,
          percentile(during, 0.5) / 1000.0, percentile(during, 0.99) / 1000.0, during.length);
      System.out.printf("  heap after GC: %d MiB before, at most %d MiB during (bound: +%d MiB)%n",
          heapBefore >> 20, heapMax >> 20, HEAP_BOUND_BYTES >> 20);
      System.out.printf("  flooder: %d messages of 250 KiB taken by the socket, %d one-second writes blocked; reads paused %.0f times%n",
          flooded.get(), blockedWrites.get(), paused);
      System.out.printf("  greedy subscribers: %.0f queued messages dropped at the session bound, %.0f QoS 0 dropped at the write queue; "
          + "retained refused: %.0f of 5000%n", overflow, qos0Dropped, retainedRefused);

      assertThat(heapMax - heapBefore).as("heap growth").isLessThan(HEAP_BOUND_BYTES);
      assertThat(percentile(during, 0.99)).as("p99 ack latency with greedy clients, µs").isLessThan(2_000_000);
      assertThat(paused).as("the flooder was paused").isGreaterThanOrEqualTo(1);
      assertThat(overflow).as("the greedy QoS 1 subscriber's queue is bounded").isGreaterThan(0);
      assertThat(retainedRefused).isEqualTo(5000 - 32);
      clients.close().await();
    }
  }

  @Test
  void aSilentConnectionWithoutKeepAliveIsClosedAfterTheIdleTime() {
    JsonObject config = RunningPlatform.ingestConfig();
    config.getJsonObject("mqtt").put("idle_timeout_s", 2);
    try (RunningPlatform platform = RunningPlatform.start(config)) {
      Vertx vertx = Vertx.vertx();
      RawMqttClient silent = RawMqttClient.connect(vertx, platform.mqttPort(), "silent-1", true, 0, null, null);
      Eventually.within(Duration.ofSeconds(10), () -> assertThat(silent.isClosed()).isTrue());
      vertx.close().await();
    }
  }
}
