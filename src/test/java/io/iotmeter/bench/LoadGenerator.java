package io.iotmeter.bench;

import io.iotmeter.audit.AckLedger;
import io.iotmeter.audit.MessageKey;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.mqtt.MqttClient;
import io.vertx.mqtt.MqttClientOptions;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The benchmark's load, always in a process of its own so that it never shares a JVM with what
 * it measures (started by {@link IngestBenchmark}; it talks to it in {@code @}-lines on stdout
 * and commands on stdin). Three modes:
 * <ul>
 *   <li>{@code publish}: N meters, each a real MQTT client, publish telemetry datagrams — as fast
 *       as their window of unacknowledged messages allows ({@code --rate 0}) or at a fixed total
 *       offered rate (open loop: a send falls due whether or not earlier ones were answered; one
 *       that finds the window full is counted as late). Prints {@code @CONNECTED}, waits for
 *       {@code go} on stdin, runs, prints {@code @RESULT} with the acknowledged count and the
 *       publish → PUBACK/PUBCOMP latency.</li>
 *   <li>{@code subscribe}: one subscriber that acknowledges (the Mosquitto baseline's consumer);
 *       counts messages and distinct (topic, seq); {@code report} on stdin prints them.</li>
 *   <li>{@code api}: GETs at a fixed rate over a set of paths, latency measured from when each
 *       request fell due (so a slow answer cannot hide the requests it held up).</li>
 * </ul>
 */
public final class LoadGenerator {

  /** The ledger's name for the only path of the benchmark's meters: the platform's (or Mosquitto's) MQTT port. */
  static final String PATH = "endpoint";

  public static void main(String[] args) throws Exception {
    Map<String, String> options = IngestBenchmark.options(args);
    Vertx vertx = Vertx.vertx();
    switch (options.getOrDefault("mode", "publish")) {
      case "publish" -> publish(vertx, options);
      case "subscribe" -> subscribe(options);
      case "api" -> api(vertx, options);
      default -> throw new IllegalArgumentException("--mode publish | subscribe | api");
    }
    System.out.flush();
    Runtime.getRuntime().halt(0);
  }

  // ---------------------------------------------------------------- publish

  private static void publish(Vertx vertx, Map<String, String> o) throws Exception {
    String host = o.getOrDefault("host", "127.0.0.1");
    int port = Integer.parseInt(o.get("port"));
    int devices = Integer.parseInt(o.getOrDefault("devices", "100"));
    String prefix = o.getOrDefault("prefix", "bench-");
    MqttQoS qos = MqttQoS.valueOf(Integer.parseInt(o.getOrDefault("qos", "2")));
    int window = Integer.parseInt(o.getOrDefault("window", "10"));
    int seconds = Integer.parseInt(o.getOrDefault("seconds", "20"));
    double rate = Double.parseDouble(o.getOrDefault("rate", "0"));
    long perDevice = Long.parseLong(o.getOrDefault("count", "0"));
    int connectRate = Integer.parseInt(o.getOrDefault("connect-rate", "0"));
    BenchLayout payload = BenchLayout.valueOf(o.getOrDefault("payload", "dc").toUpperCase(java.util.Locale.ROOT));
    // Every acknowledgement as it happens, for the store audit (io.iotmeter.audit.StoreAudit).
    AckLedger ledger = o.containsKey("ledger") ? AckLedger.recordingTo(java.nio.file.Path.of(o.get("ledger"))) : new AckLedger();

    // --credentials FILE ("device_id password" a line): the meters log in, as with security on.
    Map<String, String> passwords = new HashMap<>();
    if (!o.getOrDefault("credentials", "").isEmpty()) {
      for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of(o.get("credentials")))) {
        String[] fields = line.split(" ", 2);
        if (fields.length == 2) {
          passwords.put(fields[0], fields[1]);
        }
      }
    }
    List<MqttClient> clients = connect(vertx, host, port, devices, prefix, window, connectRate, passwords);
    IngestBenchmark.report("CONNECTED", new JsonObject().put("devices", clients.size()));
    awaitCommand("go");

    Latencies latency = new Latencies();
    AtomicLong acked = new AtomicLong();
    AtomicLong late = new AtomicLong();
    AtomicLong unacked = new AtomicLong();
    AtomicLong failures = new AtomicLong();
    long start = System.nanoTime();
    long end = seconds > 0 ? start + TimeUnit.SECONDS.toNanos(seconds) : Long.MAX_VALUE;
    CountDownLatch done = new CountDownLatch(devices);
    List<Meter> meters = new ArrayList<>();
    for (int d = 0; d < devices; d++) {
      Meter meter = new Meter(prefix + d, clients.get(d), qos, window, end, perDevice, payload, latency, acked, late,
          failures, done, ledger);
      meters.add(meter);
      vertx.runOnContext(v -> meter.start(vertx, rate <= 0 ? 0 : devices / rate));
    }
    boolean drained = done.await((seconds > 0 ? seconds : 3600) + 120L, TimeUnit.SECONDS);
    long finished = System.nanoTime();
    meters.forEach(m -> unacked.addAndGet(m.inFlight()));
    ledger.flush();
    IngestBenchmark.report("RESULT", new JsonObject()
        .put("acked", acked.get()).put("unacked", unacked.get()).put("late", late.get()).put("failed", failures.get())
        .put("drained", drained)
        .put("seconds", (finished - start) / 1e9)
        .put("start_ms", System.currentTimeMillis() - (System.nanoTime() - start) / 1_000_000)
        .put("latency_ms", latency.summary()));
    awaitCommand("quit");
    ledger.close();
    clients.forEach(MqttClient::disconnect);
  }

  /** Connects the meters, at most {@code connectRate} a second (0: all at once, 200 in flight). */
  private static List<MqttClient> connect(Vertx vertx, String host, int port, int devices, String prefix, int window,
                                          int connectRate, Map<String, String> passwords) throws Exception {
    List<MqttClient> clients = new ArrayList<>();
    List<Future<?>> pending = new ArrayList<>();
    long start = System.nanoTime();
    for (int d = 0; d < devices; d++) {
      MqttClientOptions options = new MqttClientOptions().setClientId(prefix + d).setCleanSession(false)
          // The client's own in-flight bound stays out of the way: the meter's window is the bound.
          .setMaxInflightQueue(Math.max(100, window * 4)).setAckTimeout(60).setKeepAliveInterval(60).setAutoKeepAlive(true);
      if (passwords.containsKey(prefix + d)) {
        options.setUsername(prefix + d).setPassword(passwords.get(prefix + d));
      }
      MqttClient client = MqttClient.create(vertx, options);
      clients.add(client);
      pending.add(client.connect(port, host));
      if (pending.size() >= 200) {
        Future.all(pending).await(60, TimeUnit.SECONDS);
        pending.clear();
      }
      if (connectRate > 0) {
        long due = start + (long) ((d + 1) * 1e9 / connectRate);
        long wait = due - System.nanoTime();
        if (wait > 0) {
          TimeUnit.NANOSECONDS.sleep(wait);
        }
      }
    }
    Future.all(pending).await(60, TimeUnit.SECONDS);
    return clients;
  }

  /**
   * One meter: its datagrams, its window and its latencies. The publish future (which knows the
   * packet id) and the acknowledgement may complete in either order, so whichever comes second
   * records the latency and writes the acknowledgement into the ledger. Runs on its client's
   * event loop; the locks only order the two callbacks.
   */
  private static final class Meter {
    /** A publish waiting for its acknowledgement: when it was sent (nanos, and wall ms for the ledger) and its seq. */
    private record Sent(long nanos, long wallMs, long seq) {
    }

    private final String deviceId;
    private final String topic;
    private final MqttClient client;
    private final MqttQoS qos;
    private final int window;
    private final long end;
    private final long maxMessages;
    private final BenchLayout payload;
    private final AckLedger ledger;
    private final Latencies latency;
    private final AtomicLong acked;
    private final AtomicLong late;
    private final CountDownLatch done;
    private final AtomicLong failures;
    private final Map<Integer, Sent> sentAt = new HashMap<>();
    private final Map<Integer, Long> ackedAt = new HashMap<>();
    private long seq;
    private int inFlight;
    private boolean finished;
    /** Its connection closed: it sends no more. */
    private boolean closed;
    private boolean openLoop;

    Meter(String deviceId, MqttClient client, MqttQoS qos, int window, long end, long maxMessages, BenchLayout payload,
          Latencies latency, AtomicLong acked, AtomicLong late, AtomicLong failures, CountDownLatch done, AckLedger ledger) {
      this.deviceId = deviceId;
      this.topic = "iot/" + deviceId + "/telemetry";
      this.client = client;
      this.qos = qos;
      this.window = window;
      this.end = end;
      this.maxMessages = maxMessages > 0 ? maxMessages : Long.MAX_VALUE;
      this.payload = payload;
      this.latency = latency;
      this.acked = acked;
      this.late = late;
      this.done = done;
      this.failures = failures;
      this.ledger = ledger;
    }

    /** @param intervalSeconds 0: back to back within the window; otherwise one send every interval */
    void start(Vertx vertx, double intervalSeconds) {
      client.publishCompletionHandler(this::onAck);
      // A connection that closes (its node killed) ends the meter: what it has in flight stays
      // unacknowledged (reported as such), and the run does not wait for acknowledgements that
      // cannot come.
      client.closeHandler(v -> closed());
      if (intervalSeconds <= 0) {
        fill();
        return;
      }
      openLoop = true;
      long intervalMs = Math.max(1, Math.round(intervalSeconds * 1000));
      // A random phase, so that the meters' sends spread over the interval as real ones do.
      vertx.setTimer(1 + ThreadLocalRandom.current().nextLong(intervalMs), first -> {
        tick();
        vertx.setPeriodic(intervalMs, id -> {
          if (!tick()) {
            vertx.cancelTimer(id);
          }
        });
      });
    }

    synchronized int inFlight() {
      return inFlight;
    }

    private synchronized boolean tick() {
      if (over()) {
        finishIfIdle();
        return false;
      }
      if (inFlight < window) {
        send();
      } else {
        late.incrementAndGet();
      }
      return true;
    }

    private boolean over() {
      return closed || System.nanoTime() >= end || seq >= maxMessages;
    }

    private synchronized void closed() {
      closed = true;
      if (!finished) {
        finished = true;
        done.countDown();
      }
    }

    private synchronized void fill() {
      if (over()) {
        finishIfIdle();
        return;
      }
      while (inFlight < window && !over()) {
        send();
      }
    }

    private void finishIfIdle() {
      if (inFlight == 0 && !finished) {
        finished = true;
        done.countDown();
      }
    }

    private void send() {
      inFlight++;
      long n = seq++;
      Sent sent = new Sent(System.nanoTime(), System.currentTimeMillis(), n);
      ledger.published(PATH, new MessageKey(deviceId, n));
      client.publish(topic, Buffer.buffer(payload.text(deviceId, n)), qos, false, false).onComplete(id -> {
        if (id.succeeded()) {
          onSent(id.result(), sent);
        } else {
          failed(id.cause());
        }
      });
    }

    private synchronized void onSent(int id, Sent sent) {
      Long ack = ackedAt.remove(id);
      if (ack == null) {
        sentAt.put(id, sent);
      } else {
        completed(sent, ack);
      }
    }

    private void onAck(int id) {
      long now = System.nanoTime();
      synchronized (this) {
        Sent sent = sentAt.remove(id);
        if (sent == null) {
          ackedAt.put(id, now);
          return;
        }
        completed(sent, now);
      }
    }

    /** A publish the client refused: counted, and its place in the window is free again. */
    private synchronized void failed(Throwable cause) {
      failures.incrementAndGet();
      inFlight--;
      if (!openLoop) {
        fill();
      } else if (over()) {
        finishIfIdle();
      }
    }

    private void completed(Sent sent, long ackedNanos) {
      latency.record(ackedNanos - sent.nanos());
      ledger.acked(PATH, new MessageKey(deviceId, sent.seq()), sent.wallMs(),
          sent.wallMs() + (ackedNanos - sent.nanos()) / 1_000_000);
      acked.incrementAndGet();
      inFlight--;
      if (openLoop) {
        if (over()) {
          finishIfIdle();
        }
      } else {
        fill();
      }
    }
  }

  // ---------------------------------------------------------------- subscribe

  /**
   * A QoS 2 subscriber written packet by packet on a blocking socket (MQTT 3.1.1): PUBACK for
   * QoS 1, PUBREC then PUBCOMP for QoS 2 — the acknowledgements a consumer owes, at the least
   * cost. (Vert.x's MQTT client loses track of incoming QoS 2 flows under this load.)
   */
  private static void subscribe(Map<String, String> o) throws Exception {
    java.net.Socket socket = new java.net.Socket(o.getOrDefault("host", "127.0.0.1"), Integer.parseInt(o.get("port")));
    socket.setTcpNoDelay(true);
    java.io.DataInputStream in = new java.io.DataInputStream(new java.io.BufferedInputStream(socket.getInputStream(), 1 << 16));
    java.io.OutputStream out = new java.io.BufferedOutputStream(socket.getOutputStream(), 1 << 16);
    byte[] clientId = "bench-subscriber".getBytes(StandardCharsets.US_ASCII);
    java.io.ByteArrayOutputStream connect = new java.io.ByteArrayOutputStream();
    connect.write(new byte[] {0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 0, 0, (byte) clientId.length}); // keep-alive off
    connect.write(clientId);
    packet(out, 0x10, connect.toByteArray());
    byte[] filter = o.getOrDefault("topic", "iot/+/telemetry").getBytes(StandardCharsets.UTF_8);
    java.io.ByteArrayOutputStream subscribe = new java.io.ByteArrayOutputStream();
    subscribe.write(new byte[] {0, 1, (byte) (filter.length >> 8), (byte) filter.length});
    subscribe.write(filter);
    subscribe.write(Integer.parseInt(o.getOrDefault("qos", "2")));
    packet(out, 0x82, subscribe.toByteArray());
    out.flush();
    AtomicLong received = new AtomicLong();
    AtomicLong lastAt = new AtomicLong();
    Set<String> distinct = new HashSet<>();
    java.util.concurrent.atomic.AtomicBoolean connected = new java.util.concurrent.atomic.AtomicBoolean(true);
    Thread reader = new Thread(() -> {
      try {
        while (true) {
          int header = in.readUnsignedByte();
          int length = 0;
          for (int shift = 0, b; ; shift += 7) {
            b = in.readUnsignedByte();
            length |= (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
              break;
            }
          }
          byte[] body = new byte[length];
          in.readFully(body);
          int type = header >> 4;
          if (type == 3) {
            int qos = (header >> 1) & 3;
            int topicLength = ((body[0] & 0xff) << 8) | (body[1] & 0xff);
            String topic = new String(body, 2, topicLength, StandardCharsets.UTF_8);
            int at = 2 + topicLength;
            int id = qos > 0 ? ((body[at] & 0xff) << 8) | (body[at + 1] & 0xff) : 0;
            at += qos > 0 ? 2 : 0;
            String key = topic + "#" + seqOf(Buffer.buffer(java.util.Arrays.copyOfRange(body, at, body.length)));
            synchronized (distinct) {
              distinct.add(key);
            }
            received.incrementAndGet();
            lastAt.set(System.currentTimeMillis());
            if (qos > 0) {
              packet(out, qos == 1 ? 0x40 : 0x50, new byte[] {(byte) (id >> 8), (byte) id});
            }
          } else if (type == 6) {
            packet(out, 0x70, new byte[] {body[0], body[1]});
          } else if (type == 9) {
            IngestBenchmark.report("CONNECTED", new JsonObject());
          }
          if (in.available() == 0) {
            out.flush();
          }
        }
      } catch (java.io.IOException e) {
        // the broker closed the connection: the report says so
        connected.set(false);
      }
    }, "subscriber");
    reader.setDaemon(true);
    reader.start();
    BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = commands.readLine()) != null && !line.equals("quit"); ) {
      if (line.equals("report")) {
        int count;
        synchronized (distinct) {
          count = distinct.size();
        }
        IngestBenchmark.report("RESULT", new JsonObject().put("received", received.get()).put("distinct", count)
            .put("last_ms", lastAt.get()).put("connected", connected.get()));
      }
    }
    socket.close();
  }

  private static void packet(java.io.OutputStream out, int header, byte[] body) throws java.io.IOException {
    out.write(header);
    int length = body.length;
    do {
      int b = length & 0x7f;
      length >>= 7;
      out.write(length > 0 ? b | 0x80 : b);
    } while (length > 0);
    out.write(body);
  }

  /** The datagram's seq, read without parsing the JSON (the load generator writes it first). */
  static long seqOf(Buffer payload) {
    String text = payload.toString(StandardCharsets.UTF_8);
    int at = text.indexOf("\"seq\":");
    if (at < 0) {
      return -1;
    }
    long value = 0;
    for (int i = at + 6; i < text.length() && Character.isDigit(text.charAt(i)); i++) {
      value = value * 10 + (text.charAt(i) - '0');
    }
    return value;
  }

  // ---------------------------------------------------------------- api

  private static void api(Vertx vertx, Map<String, String> o) throws Exception {
    int rate = Integer.parseInt(o.getOrDefault("rate", "1000"));
    int seconds = Integer.parseInt(o.getOrDefault("seconds", "20"));
    int warmup = Integer.parseInt(o.getOrDefault("warmup", "5"));
    List<String> paths = List.of(o.get("paths").split(","));
    String auth = o.containsKey("key") ? "Bearer " + o.get("key") : null;
    HttpClient http = vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1")
        .setDefaultPort(Integer.parseInt(o.get("port"))).setKeepAlive(true), new PoolOptions().setHttp1MaxSize(64));
    Latencies latency = new Latencies();
    AtomicLong errors = new AtomicLong();
    AtomicLong answered = new AtomicLong();
    CountDownLatch done = new CountDownLatch(1);
    long start = System.nanoTime() + TimeUnit.SECONDS.toNanos(warmup);
    long total = (long) rate * seconds;
    long[] issued = {-(long) rate * warmup};
    // Every millisecond, issue whatever fell due since the last tick, each timed from its own due time.
    vertx.setPeriodic(1, id -> {
      long now = System.nanoTime();
      while (issued[0] < total) {
        long n = issued[0];
        long due = start + (long) (n * 1e9 / rate);
        if (due > now) {
          break;
        }
        issued[0]++;
        String path = paths.get((int) Math.floorMod(n, paths.size()));
        http.request(HttpMethod.GET, path).compose(request -> {
          if (auth != null) {
            request.putHeader("Authorization", auth);
          }
          return request.send().compose(response -> response.body().map(body -> response.statusCode()));
        }).onComplete(result -> {
          if (n >= 0) {
            latency.record(System.nanoTime() - due);
            if (result.failed() || result.result() != 200) {
              errors.incrementAndGet();
            }
            if (answered.incrementAndGet() == total) {
              done.countDown();
            }
          }
        });
      }
    });
    done.await(seconds + warmup + 60L, TimeUnit.SECONDS);
    IngestBenchmark.report("RESULT", new JsonObject().put("requests", answered.get()).put("errors", errors.get())
        .put("rate", rate).put("latency_ms", latency.summary()));
  }

  private static void awaitCommand(String command) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null; ) {
      if (line.equals(command)) {
        return;
      }
    }
  }

  /** Latencies in nanoseconds, summarised in milliseconds. */
  static final class Latencies {
    private long[] values = new long[1 << 16];
    private int size;

    synchronized void record(long nanos) {
      if (size == values.length) {
        values = java.util.Arrays.copyOf(values, size * 2);
      }
      values[size++] = nanos;
    }

    synchronized JsonObject summary() {
      long[] sorted = java.util.Arrays.copyOf(values, size);
      java.util.Arrays.sort(sorted);
      return new JsonObject().put("count", size).put("p50", at(sorted, 50)).put("p95", at(sorted, 95))
          .put("p99", at(sorted, 99)).put("max", at(sorted, 100));
    }

    private static double at(long[] sorted, double p) {
      if (sorted.length == 0) {
        return -1;
      }
      int index = (int) Math.min(sorted.length - 1, Math.ceil(p / 100.0 * sorted.length) - 1);
      return sorted[Math.max(index, 0)] / 1e6;
    }
  }

  private LoadGenerator() {
  }
}
