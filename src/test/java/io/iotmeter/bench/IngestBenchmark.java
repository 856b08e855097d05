package io.iotmeter.bench;

import io.iotmeter.support.RunningPlatform;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.mqtt.MqttClient;
import io.vertx.mqtt.MqttClientOptions;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Ingest benchmark (not a test): N simulated meters publish full telemetry datagrams (20
 * measurements each) as fast as their in-flight windows allow to the embedded platform — its
 * durable PostgreSQL journal, S3Proxy archive and QuestDB — and the run prints:
 * <ul>
 *   <li>durable throughput: messages and measurements per second acknowledged by the platform
 *       (PUBACK/PUBCOMP is sent only once a message is committed to the journal);</li>
 *   <li>acknowledgement latency percentiles (publish → acknowledgement);</li>
 *   <li>stored throughput: measurements per second until every sink had stored everything,
 *       and how long the sinks trailed the last acknowledgement.</li>
 * </ul>
 * Run: {@code mvn -B -q test-compile exec:java -Dexec.args="--devices 100 --seconds 30 --qos 1"}.
 * Meters and platform share the machine, so the numbers are a floor for a dedicated server.
 */
public final class IngestBenchmark {

  public static void main(String[] args) throws Exception {
    Map<String, String> options = parse(args);
    int devices = Integer.parseInt(options.getOrDefault("devices", "100"));
    int seconds = Integer.parseInt(options.getOrDefault("seconds", "30"));
    int qos = Integer.parseInt(options.getOrDefault("qos", "1"));
    int window = Integer.parseInt(options.getOrDefault("window", "10"));

    JsonObject config = RunningPlatform.embeddedProfileConfig();
    // The benchmark's meters connect without credentials (the cost of authentication is a connect, not a message).
    config.getJsonObject("security").put("enabled", false);
    config.getJsonObject("intake").put("gap_alert_delay_ms", 60_000);
    // --durable false: PostgreSQL without fsync, to see what the disk's flush costs.
    config.getJsonObject("postgres").put("durable", Boolean.parseBoolean(options.getOrDefault("durable", "true")));
    int intakes = Integer.parseInt(options.getOrDefault("intake-instances", "1"));
    config.getJsonObject("deploy").put("intake", intakes);
    if (options.containsKey("sinks")) {
      // e.g. --sinks registry: measure the intake with fewer stores behind it
      List<String> sinks = options.get("sinks").isEmpty() ? List.of() : List.of(options.get("sinks").split(","));
      config.getJsonObject("intake").put("sinks", new JsonArray(new ArrayList<>(sinks)));
      for (String sink : List.of("archive", "timeseries", "registry")) {
        config.getJsonObject("deploy").put(sink + "_sink", sinks.contains(sink) ? 1 : 0);
      }
      config.getJsonObject("readiness").put("components", new JsonArray());
    }
    System.out.printf("Starting the embedded platform (data in %s)...%n", config.getString("data_dir"));
    try (RunningPlatform platform = RunningPlatform.start(config)) {
      JsonObject postgres = platform.postgres();
      // Every meter is registered first, as in production (auto-registration is measured elsewhere).
      StringBuilder insert = new StringBuilder("INSERT INTO devices (device_id, device_name, device_type) VALUES ");
      for (int d = 0; d < devices; d++) {
        insert.append(d == 0 ? "" : ",").append("('bench-").append(d).append("','Bench meter ").append(d).append("','power_meter_dc')");
      }
      sql(postgres, insert.toString());

      Vertx meters = Vertx.vertx();
      List<MqttClient> clients = new ArrayList<>();
      for (int d = 0; d < devices; d++) {
        MqttClientOptions o = new MqttClientOptions().setClientId("bench-" + d).setCleanSession(false)
            .setMaxInflightQueue(window + 1).setAckTimeout(60);
        MqttClient client = MqttClient.create(meters, o);
        client.connect(platform.mqttPort(), "127.0.0.1").await();
        clients.add(client);
      }
      System.out.printf("%d meters connected; publishing telemetry at QoS %d for %d s (window %d per meter)...%n",
          devices, qos, seconds, window);

      LatencyRecorder latency = new LatencyRecorder();
      AtomicLong acked = new AtomicLong();
      long start = System.nanoTime();
      long end = start + TimeUnit.SECONDS.toNanos(seconds);
      CountDownLatch done = new CountDownLatch(devices);
      for (int d = 0; d < devices; d++) {
        new MeterLoad("bench-" + d, clients.get(d), MqttQoS.valueOf(qos), window, end, latency, acked, done).start();
      }
      done.await(seconds + 120L, TimeUnit.SECONDS);
      long ackedAt = System.nanoTime();
      double publishSeconds = (ackedAt - start) / 1e9;
      long messages = acked.get();

      // Wait until every sink has stored everything (journal rows are pruned once all sinks did).
      long pending;
      do {
        Thread.sleep(100);
        pending = count(postgres, "SELECT count(*) FROM intake_journal WHERE pending <> 0");
      } while (pending > 0 && System.nanoTime() - ackedAt < TimeUnit.MINUTES.toNanos(10));
      long storedAt = System.nanoTime();
      double storedSeconds = (storedAt - start) / 1e9;
      long objects = count(postgres, "SELECT count(DISTINCT archive_key) FROM intake_journal");

      System.out.println();
      System.out.println("=== IoT Meter ingest benchmark ===");
      System.out.printf("machine: %d cores, %s %s, Java %s%n", Runtime.getRuntime().availableProcessors(),
          System.getProperty("os.name"), System.getProperty("os.arch"), System.getProperty("java.version"));
      System.out.printf("meters: %d, QoS %d, window %d, 20 measurements per message; intake instances %d; sinks %s; fsync %s%n",
          devices, qos, window, intakes, config.getJsonObject("intake").getJsonArray("sinks").encode(),
          config.getJsonObject("postgres").getBoolean("durable") ? "on" : "off");
      System.out.printf("acknowledged (durable in the journal): %d messages in %.1f s = %.0f msg/s = %.0f measurements/s%n",
          messages, publishSeconds, messages / publishSeconds, messages * 20 / publishSeconds);
      System.out.printf("acknowledgement latency: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms%n",
          latency.percentile(50), latency.percentile(95), latency.percentile(99), latency.percentile(100));
      System.out.printf("stored in archive, time series and registry: %.0f measurements/s end to end; sinks finished %.1f s after the last acknowledgement%n",
          messages * 20 / storedSeconds, (storedAt - ackedAt) / 1e9);
      System.out.printf("still pending after the wait: %d%n", pending);
      clients.forEach(c -> c.disconnect());
      meters.close().await();
    }
    System.exit(0);
  }

  /**
   * One meter publishing datagrams back to back, at most {@code window} unacknowledged. The
   * publish future (which knows the packet id) and the acknowledgement may complete in either
   * order, so whichever comes second records the latency.
   */
  private static final class MeterLoad {
    private final String deviceId;
    private final MqttClient client;
    private final MqttQoS qos;
    private final int window;
    private final long end;
    private final LatencyRecorder latency;
    private final AtomicLong acked;
    private final CountDownLatch done;
    private final Map<Integer, Long> sentAt = new HashMap<>();
    private final Map<Integer, Long> ackedAt = new HashMap<>();
    private long seq;
    private int inFlight;
    private boolean finished;

    MeterLoad(String deviceId, MqttClient client, MqttQoS qos, int window, long end, LatencyRecorder latency,
              AtomicLong acked, CountDownLatch done) {
      this.deviceId = deviceId;
      this.client = client;
      this.qos = qos;
      this.window = window;
      this.end = end;
      this.latency = latency;
      this.acked = acked;
      this.done = done;
    }

    void start() {
      client.publishCompletionHandler(this::onAck);
      fill();
    }

    private synchronized void fill() {
      if (System.nanoTime() >= end) {
        if (inFlight == 0 && !finished) {
          finished = true;
          done.countDown();
        }
        return;
      }
      while (inFlight < window) {
        inFlight++;
        long sent = System.nanoTime();
        client.publish("iot/" + deviceId + "/telemetry", datagram().toBuffer(), qos, false, false)
            .onSuccess(id -> onSent(id, sent));
      }
    }

    private synchronized void onSent(int id, long sent) {
      Long ack = ackedAt.remove(id);
      if (ack == null) {
        sentAt.put(id, sent);
      } else {
        completed(ack - sent);
      }
    }

    private void onAck(int id) {
      long now = System.nanoTime();
      synchronized (this) {
        Long sent = sentAt.remove(id);
        if (sent == null) {
          ackedAt.put(id, now);
          return;
        }
        completed(now - sent);
      }
    }

    private void completed(long nanos) {
      latency.record(nanos);
      acked.incrementAndGet();
      inFlight--;
      fill();
    }

    private JsonObject datagram() {
      Instant ts = Instant.parse("2026-01-01T00:00:00Z").plusSeconds(10 * seq);
      JsonArray measurements = new JsonArray();
      for (int i = 0; i < 10; i++) {
        Instant sample = ts.plusSeconds(i);
        measurements.add(new JsonObject().put("ts", sample.toString()).put("type", "voltage_dc").put("val", 700 + (seq + i) % 100).put("unit", "V"));
        measurements.add(new JsonObject().put("ts", sample.toString()).put("type", "current_dc").put("val", 200 + (seq * 7 + i) % 200).put("unit", "A"));
      }
      return new JsonObject().put("v", 2).put("device_id", deviceId).put("ts", ts.plusSeconds(10).toString())
          .put("seq", seq++).put("msg_type", "telemetry").put("measurements", measurements);
    }
  }

  /** Latencies in nanoseconds; percentiles in milliseconds. */
  private static final class LatencyRecorder {
    private long[] values = new long[1 << 16];
    private int size;

    synchronized void record(long nanos) {
      if (size == values.length) {
        values = Arrays.copyOf(values, size * 2);
      }
      values[size++] = nanos;
    }

    synchronized double percentile(double p) {
      if (size == 0) {
        return Double.NaN;
      }
      long[] sorted = Arrays.copyOf(values, size);
      Arrays.sort(sorted);
      int index = (int) Math.min(size - 1, Math.ceil(p / 100.0 * size) - 1);
      return sorted[Math.max(index, 0)] / 1e6;
    }
  }

  private static void sql(JsonObject postgres, String sql) throws Exception {
    try (var c = java.sql.DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + postgres.getInteger("port") + "/"
        + postgres.getString("database"), postgres.getString("user"), ""); var s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static long count(JsonObject postgres, String sql) throws Exception {
    try (var c = java.sql.DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + postgres.getInteger("port") + "/"
        + postgres.getString("database"), postgres.getString("user"), ""); var s = c.createStatement();
         var rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static Map<String, String> parse(String[] args) {
    Map<String, String> options = new java.util.HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      options.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    return options;
  }

  private IngestBenchmark() {
  }
}
