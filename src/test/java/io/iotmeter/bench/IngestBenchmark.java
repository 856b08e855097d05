package io.iotmeter.bench;

import io.iotmeter.audit.AckLedger;
import io.iotmeter.audit.AuditReport;
import io.iotmeter.audit.RecordingTimeSeriesProxy;
import io.iotmeter.audit.StoreAudit;
import io.iotmeter.audit.StoreFinding;
import io.iotmeter.journal.SinkKind;
import io.iotmeter.support.FreePorts;
import io.iotmeter.support.ResultsFile;
import io.iotmeter.support.RunningPlatform;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The platform's benchmark (a program, not a test): every figure comes from separate processes —
 * the load generator ({@link LoadGenerator}), the platform ({@link BenchNode} platform), its
 * embedded stores ({@link BenchNode} stores: PostgreSQL, S3Proxy, QuestDB) and, for the
 * baseline, Debian's Mosquitto with one acknowledging subscriber — so each is charged its own CPU
 * (from /proc), and the platform's rate is quoted against what a bare broker does with the same
 * load in the same run, on the same machine.
 *
 * <p>Suites ({@code --suite}, comma-separated):
 * <ul>
 *   <li>{@code ingest} (the default, ~5 min): Mosquitto at QoS 1 and 2, then the platform with all
 *       three sinks at QoS 1 and 2 as fast as the meters' windows allow, then both at a fixed
 *       50 % of their saturated QoS 2 rate for latency. After each platform run it waits until
 *       the journal is drained and counts what the archive, the time series and the registry hold
 *       against what was acknowledged.</li>
 *   <li>{@code connections} (~12 min): 10,000 meters at the protocol's cadence (one datagram every
 *       10 s each) for 10 minutes; heap and RSS per idle connection, ack latency.</li>
 *   <li>{@code platform}, {@code baseline}: the two halves of {@code ingest} alone.</li>
 *   <li>{@code cluster} (~6 min): two ingest nodes on one set of stores at a fixed rate
 *       ({@code --cluster-rate 1000}), their costs; then node A SIGKILLed halfway through a run,
 *       and the store audit of what both acknowledged.</li>
 *   <li>{@code api} (~3 min): device list and status at a fixed 1,000 requests/s, twice (cold, then warm); one day of a 1 Hz
 *       metric (86,400 points) read in one request.</li>
 * </ul>
 * Run: {@code mvn -B -q test-compile exec:java -Dexec.args="--suite ingest"}; options:
 * {@code --devices 100 --window 10 --seconds 20 --sinks archive,timeseries,registry --durable true
 * --scale-devices 10000 --scale-minutes 10 --scale-qos 1 --scale-layout bench --runs 1,2,half --repeat 1 --warmup 15 --jfr false --pg-stats false
 * --set key.path=value,...}.
 * Prints one Markdown table.
 */
public final class IngestBenchmark {

  private final Map<String, String> options;
  private final Path work;
  private final List<String> rows = new ArrayList<>();
  /** The API suite's rows: a table of their own (requests and latencies, not ingest rates). */
  private final List<String> apiRows = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();
  private final int devices;
  private final int window;
  private final int seconds;
  /** Set when a run's store audit found a loss or a double: the benchmark then exits with status 1. */
  private boolean auditFailed;

  private IngestBenchmark(Map<String, String> options) throws IOException {
    this.options = options;
    this.work = Files.createTempDirectory("iot-bench");
    this.devices = Integer.parseInt(options.getOrDefault("devices", "100"));
    this.window = Integer.parseInt(options.getOrDefault("window", "10"));
    this.seconds = Integer.parseInt(options.getOrDefault("seconds", "20"));
  }

  public static void main(String[] args) throws Exception {
    IngestBenchmark bench = new IngestBenchmark(options(args));
    List<String> suites = List.of(bench.options.getOrDefault("suite", "ingest").split(","));
    System.out.printf("Benchmark work directory (logs of every process): %s%n", bench.work);
    if (suites.contains("ingest")) {
      bench.ingest(true);
    } else if (suites.contains("platform")) {
      bench.ingest(false);
    } else if (suites.contains("baseline")) {
      bench.baseline();
    }
    if (suites.contains("connections")) {
      bench.connections();
    }
    if (suites.contains("cluster")) {
      bench.cluster();
    }
    if (suites.contains("api")) {
      bench.api();
    }
    bench.print(bench.options.getOrDefault("suite", "ingest"), args);
    System.exit(bench.auditFailed ? 1 : 0);
  }

  // ---------------------------------------------------------------- suites

  private void ingest(boolean baseline) throws Exception {
    double[] mosquittoQos2 = {Double.NaN, Double.NaN};
    if (baseline) {
      mosquittoQos2 = baseline();
    }
    // --runs 2: only the saturated QoS 2 run (for profiling and quick comparisons)
    List<String> runs = List.of(options.getOrDefault("runs", "1,2,half").split(","));
    try (Child stores = stores(); Platform platform = platform(stores, new JsonObject())) {
      // A fresh JVM spends its first seconds compiling (the JIT threads would be charged to the
      // first run): a load that is not measured warms the platform and the stores up first.
      warm(platform, "w-", devices);
      if (runs.contains("1")) {
        platformRun(platform, "p1-", 1, 0, devices, mosquittoQos2, null);
      }
      double qos2 = platformRun(platform, "p2-", 2, 0, devices, mosquittoQos2, null);
      // --repeat N: the saturated QoS 2 run N times on the same platform, for the run-to-run spread.
      int repeat = Integer.parseInt(options.getOrDefault("repeat", "1"));
      for (int i = 2; i <= repeat; i++) {
        platformRun(platform, "p2r" + i + "-", 2, 0, devices, mosquittoQos2, null);
      }
      if (runs.contains("half")) {
        platformRun(platform, "ph-", 2, qos2 / 2, devices, mosquittoQos2, null);
      }
    }
  }

  /** Mosquitto at QoS 1 and 2, and at half its QoS 2 rate; returns its QoS 2 rates: acknowledged, delivered. */
  private double[] baseline() throws Exception {
    double[] mosquittoQos2;
    try (Child mosquitto = mosquitto()) {
      int port = ports.get(mosquitto);
      baselineRun(mosquitto, port, "mq1-", 1, 0);
      mosquittoQos2 = baselineRun(mosquitto, port, "mq2-", 2, 0);
      baselineRun(mosquitto, port, "mqh-", 2, mosquittoQos2[1] / 2);
    }
    return mosquittoQos2;
  }

  private void connections() throws Exception {
    int meters = Integer.parseInt(options.getOrDefault("scale-devices", "10000"));
    int minutes = Integer.parseInt(options.getOrDefault("scale-minutes", "10"));
    // --scale-layout bench,one-jvm: the benchmark's layout (stores in a process of their own), and
    // the platform as the README starts it — one JVM with its embedded servers, security on.
    for (String layout : options.getOrDefault("scale-layout", "bench").split(",")) {
      boolean oneJvm = layout.trim().equals("one-jvm");
      if (!oneJvm && !layout.trim().equals("bench")) {
        throw new IllegalArgumentException("--scale-layout bench | one-jvm, not " + layout);
      }
      try (Child stores = oneJvm ? null : stores(); Platform platform = oneJvm ? new Platform("platform-one-jvm") : platform(stores, new JsonObject())) {
        // --scale-qos 1,2: one run per QoS, each with meters of its own (the audit reads each run's keys).
        for (String qos : options.getOrDefault("scale-qos", "1").split(",")) {
          String prefix = (oneJvm ? "j" : "c") + qos.trim() + "-";
          register(platform, prefix, meters);
          JsonObject before = platform.stats();
          // One datagram every 10 s per meter: the protocol's default send interval.
          platformRun(platform, prefix, Integer.parseInt(qos.trim()), meters / 10.0, meters, null, new Scale(before, minutes * 60));
        }
      }
    }
  }

  /**
   * Two ingest nodes (Hazelcast cluster, each its own process with every sink) on one set of
   * stores, half the meters on each node's MQTT endpoint: first their cost at a fixed rate (for
   * docs/capacity.md: does a second node add its cost and nothing more?), then a run in which
   * node A is SIGKILLed halfway — node B must take A's sinks over once their leases run out and
   * store every message either node acknowledged, once (the store audit, per key).
   */
  private void cluster() throws Exception {
    double rate = Double.parseDouble(options.getOrDefault("cluster-rate", "1000"));
    String name = "iot-bench-" + java.util.UUID.randomUUID();
    int memberA = FreePorts.next();
    int memberB = FreePorts.next();
    JsonArray members = new JsonArray().add("127.0.0.1:" + memberA).add("127.0.0.1:" + memberB);
    java.util.function.IntFunction<JsonObject> node = port -> new JsonObject().put("cluster", new JsonObject()
        .put("enabled", true).put("allow_plaintext", true).put("name", name).put("host", "127.0.0.1").put("port", port).put("bus_port", 0)
        .put("members", members.copy()));
    try (Child stores = stores()) {
      // The reference: one node on the same stores at the same rate.
      try (Platform single = new Platform(stores, new JsonObject(), "platform")) {
        warm(single, "ws-", devices);
        platformRun(single, "k1-", 1, rate, devices, null, null);
      }
      clusterRuns(stores, rate, node.apply(memberA), node.apply(memberB));
    }
  }

  private void clusterRuns(Child stores, double rate, JsonObject nodeA, JsonObject nodeB) throws Exception {
    try (Platform a = new Platform(stores, nodeA, "platform-a"); Platform b = new Platform(stores, nodeB, "platform-b")) {
      warm(a, "wa-", devices / 2);
      warm(b, "wb-", devices / 2);
      for (String[] run : List.of(new String[] {"ka-", "kb-", "costs"}, new String[] {"xa-", "xb-", "kill"})) {
        boolean kill = run[2].equals("kill");
        register(a, run[0], devices / 2);
        register(a, run[1], devices / 2);
        Cpu cpu = new Cpu().add("server", a.child.pid(), false).add("server", b.child.pid(), false)
            .add("nodeA", a.child.pid(), false).add("nodeB", b.child.pid(), false)
            .add("stores", stores.pid(), false).add("postgres", a.postmaster, true);
        long rewritesBefore = a.rewrites() + b.rewrites();
        Child loadA = load(a.mqttPort, run[0], devices / 2, 1, rate / 2, seconds, 0, "dc");
        Child loadB = load(b.mqttPort, run[1], devices / 2, 1, rate / 2, seconds, 0, "dc");
        cpu.add("load", loadA.pid(), false).add("load", loadB.pid(), false).start();
        loadA.send("go");
        loadB.send("go");
        long killedAt = 0;
        if (kill) {
          Thread.sleep(seconds * 500L);
          cpu.note();
          ProcessHandle killed = ProcessHandle.of(a.child.pid()).orElseThrow();
          killed.destroyForcibly(); // SIGKILL
          killed.onExit().get(30, TimeUnit.SECONDS);
          killedAt = System.currentTimeMillis();
        }
        JsonObject resultA = loadA.await("RESULT", seconds + 300L, TimeUnit.SECONDS);
        JsonObject resultB = loadB.await("RESULT", seconds + 300L, TimeUnit.SECONDS);
        long drainedAt = awaitDrained(b);
        Map<String, Long> used = cpu.stop();
        loadA.close();
        loadB.close();
        long rewrites = (kill ? 0 : a.rewrites()) + b.rewrites() - rewritesBefore;
        AuditReport auditA = audit(b, run[0], devices / 2, rewrites);
        AuditReport auditB = audit(b, run[1], devices / 2, rewrites);
        long acked = resultA.getLong("acked") + resultB.getLong("acked");
        double storedSeconds = (drainedAt - Math.min(resultA.getLong("start_ms"), resultB.getLong("start_ms"))) / 1000.0;
        long storedMessages = 0;
        for (AuditReport audit : List.of(auditA, auditB)) {
          storedMessages += audit.stores().stream().filter(f -> !f.store().equals(StoreAudit.REGISTRY))
              .mapToLong(StoreFinding::stored).min().orElse(0);
        }
        JsonObject result = resultA.copy().put("latency_ms", resultB.getJsonObject("latency_ms"))
            .put("seconds", Math.max(resultA.getDouble("seconds"), resultB.getDouble("seconds")));
        String rowName = kill
            ? String.format("IoT Meter, 2 ingest nodes, QoS 1, fixed %,.0f msg/s offered; node A SIGKILLed after %d s", rate, seconds / 2)
            : String.format("IoT Meter, 2 ingest nodes, QoS 1, fixed %,.0f msg/s offered", rate);
        row(rowName, acked / result.getDouble("seconds"), storedMessages / storedSeconds, null, result, used, acked, null,
            "node A's meters: " + auditA.cell() + "; node B's: " + auditB.cell());
        notes.add(String.format("%s: CPU µs per datagram acknowledged: node A %.0f, node B %.0f (each of its own meters' "
                + "half and the sinks it fed); p50 / p99 ack on node B %s ms; messages a sink read back from the journal "
                + "(another node's, not on its bus): %s.", rowName,
            perDatagram(used, "nodeA", acked), perDatagram(used, "nodeB", acked),
            resultB.getJsonObject("latency_ms").getDouble("p50") + " / " + resultB.getJsonObject("latency_ms").getDouble("p99"),
            kill ? "node B " + readBack(b) : "node A " + readBack(a) + ", node B " + readBack(b)));
        if (kill) {
          notes.add(String.format("%s: node A's load acknowledged %,d, and had %,d unacknowledged when its node died "
                  + "(never acknowledged: the meter still holds them); the journal was drained %.1f s after the kill, "
                  + "node B having taken A's sinks over when their leases (15 s) ran out.", rowName,
              resultA.getLong("acked"), resultA.getLong("unacked", 0L), (drainedAt - killedAt) / 1000.0));
        }
        for (AuditReport audit : List.of(auditA, auditB)) {
          if (!audit.clean()) {
            auditFailed = true;
            notes.add(rowName + ": THE STORE AUDIT FAILED:\n" + audit.detail());
          }
        }
        if (kill) {
          break;
        }
      }
    }
  }

  /** {@code mqtt_collector_journal_read_back_total} of a node, per sink, from its /metrics. */
  private static String readBack(Platform platform) {
    try {
      HttpResponse<String> metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + platform.httpPort + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
      List<String> counts = new ArrayList<>();
      metrics.body().lines().filter(l -> l.startsWith("mqtt_collector_journal_read_back_total{"))
          .forEach(l -> counts.add(l.replaceAll(".*sink=\"([^\"]+)\".*} ", "$1 ").replaceAll("\\.0$", "")));
      return counts.isEmpty() ? "none" : String.join(", ", counts);
    } catch (IOException | InterruptedException e) {
      return "unknown (" + e.getMessage() + ")";
    }
  }

  private void api() throws Exception {
    try (Child stores = stores(); Platform platform = platform(stores, new JsonObject())) {
      register(platform, "a-", devices);
      register(platform, "day-", 1);
      // Every device has reported, so list and status read real rows.
      load(platform.mqttPort, "a-", devices, 1, 0, 0, 20, "dc").close();
      // One day of a 1 Hz metric: 4,320 datagrams of 20 consecutive seconds.
      load(platform.mqttPort, "day-", 1, 1, 0, 0, 4320, "metric").close();
      awaitDrained(platform);
      StoreAudit.awaitSettled(platform.config.getJsonObject("postgres"), platform.questdb(), Duration.ofSeconds(2),
          Duration.ofMinutes(10));
      // The first run meets an API the JIT has not compiled yet (its p99 is the compilation's):
      // it is shown, and the second, warm one is the steady state the target is about.
      for (String run : List.of("cold", "warm")) {
        try (Child api = Child.java("api-load-" + run, work, List.of(), LoadGenerator.class, "--mode", "api",
            "--port", Integer.toString(platform.httpPort), "--rate", "1000", "--seconds", "30",
            "--paths", "/api/devices,/api/devices/a-0/status,/api/devices/a-1")) {
          JsonObject result = api.await("RESULT", 120, TimeUnit.SECONDS);
          JsonObject latency = result.getJsonObject("latency_ms");
          apiRows.add(String.format("| device list (%d devices), status, device at a fixed 1,000 req/s (30 s, %s) "
                  + "| %,d requests, %d errors | p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.1f ms |", devices, run,
              result.getLong("requests"), result.getLong("errors"), latency.getDouble("p50"), latency.getDouble("p95"),
              latency.getDouble("p99"), latency.getDouble("max")));
        }
      }
      HttpClient http = HttpClient.newHttpClient();
      URI day = URI.create("http://127.0.0.1:" + platform.httpPort
          + "/api/devices/day-0/metrics?metric=voltage_dc&start=2026-01-01T00:00:00Z&stop=2026-01-02T00:00:00Z");
      long[] millis = new long[6];
      int points = 0;
      for (int i = 0; i < millis.length; i++) {
        long start = System.nanoTime();
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(day).build(), HttpResponse.BodyHandlers.ofString());
        millis[i] = (System.nanoTime() - start) / 1_000_000;
        if (response.statusCode() != 200) {
          throw new IllegalStateException("GET " + day + " answered " + response.statusCode() + ": " + response.body());
        }
        points = new JsonArray(response.body()).size();
      }
      long[] timed = Arrays.copyOfRange(millis, 1, millis.length);
      Arrays.sort(timed);
      apiRows.add(String.format("| one day of a 1 Hz metric in one request | %,d points | first %d ms, then median %d ms, "
          + "max %d ms (5 reads) |", points, millis[0], timed[timed.length / 2], timed[timed.length - 1]));
    }
  }

  // ---------------------------------------------------------------- runs

  /** One load against Mosquitto; returns its rates: acknowledged, and received by its subscriber. */
  private double[] baselineRun(Child mosquitto, int port, String prefix, int qos, double rate) throws Exception {
    // A fresh subscriber per run, so that one run's queue and session cannot slow the next.
    try (Child subscriber = subscriber(mosquitto, qos)) {
      return baselineRun(mosquitto, subscriber, port, prefix, qos, rate);
    }
  }

  private double[] baselineRun(Child mosquitto, Child subscriber, int port, String prefix, int qos, double rate)
      throws Exception {
    JsonObject before = subscriberReport(subscriber);
    Cpu cpu = new Cpu().add("server", mosquitto.pid(), false).add("consumer", subscriber.pid(), false);
    Child load = load(port, prefix, devices, qos, rate, seconds, 0, "dc");
    cpu.add("load", load.pid(), false).start();
    load.send("go");
    JsonObject result = load.await("RESULT", seconds + 300L, TimeUnit.SECONDS);
    long acked = result.getLong("acked");
    // Mosquitto acknowledges before its subscriber has the message: wait until it got all of them.
    JsonObject after = subscriberReport(subscriber);
    long stalledSince = System.nanoTime();
    while (after.getLong("distinct") - before.getLong("distinct") < acked
        && System.nanoTime() - stalledSince < TimeUnit.SECONDS.toNanos(5)) {
      Thread.sleep(200);
      JsonObject next = subscriberReport(subscriber);
      if (next.getLong("received").longValue() != after.getLong("received").longValue()) {
        stalledSince = System.nanoTime();
      }
      after = next;
    }
    Map<String, Long> used = cpu.stop();
    load.close();
    long distinct = after.getLong("distinct") - before.getLong("distinct");
    long received = after.getLong("received") - before.getLong("received");
    double ackSeconds = result.getDouble("seconds");
    double deliveredSeconds = Math.max(ackSeconds, (after.getLong("last_ms") - result.getLong("start_ms")) / 1000.0);
    double delivered = distinct / deliveredSeconds;
    row(String.format("Mosquitto %s, QoS %d%s", mosquittoVersion(), qos, rate > 0 ? offered(rate) : ""),
        acked / ackSeconds, delivered, null, result, used, acked, null,
        String.format("%,d of %,d acknowledged delivered to the subscriber, %,d copies%s", distinct, acked, received - distinct,
            after.getBoolean("connected", true) ? "" : "; Mosquitto disconnected it"));
    return new double[] {acked / ackSeconds, delivered};
  }

  /**
   * The journal's backlog through a run: the platform's own gauges
   * ({@code mqtt_collector_journal_pending} and {@code …_oldest_pending_seconds}, per sink, which
   * it refreshes every 10 s), read from its {@code /metrics} every 5 s on a thread of the
   * benchmark; the largest of each is kept.
   */
  private static final class BacklogWatch {
    private final Map<String, double[]> largest = new java.util.TreeMap<>();
    private final Thread thread;
    private volatile boolean running = true;

    BacklogWatch(int httpPort) {
      HttpClient http = HttpClient.newHttpClient();
      HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/metrics"))
          .timeout(Duration.ofSeconds(5)).build();
      java.util.regex.Pattern gauge = java.util.regex.Pattern.compile(
          "^mqtt_collector_journal_(pending|oldest_pending_seconds)\\{[^}]*sink=\"([a-z_]+)\"[^}]*} ([0-9.eE+-]+)$",
          java.util.regex.Pattern.MULTILINE);
      thread = new Thread(() -> {
        while (running) {
          try {
            var matcher = gauge.matcher(http.send(request, HttpResponse.BodyHandlers.ofString()).body());
            synchronized (largest) {
              while (matcher.find()) {
                double[] values = largest.computeIfAbsent(matcher.group(2), k -> new double[2]);
                int which = matcher.group(1).equals("pending") ? 0 : 1;
                values[which] = Math.max(values[which], Double.parseDouble(matcher.group(3)));
              }
            }
            Thread.sleep(5_000);
          } catch (InterruptedException e) {
            return;
          } catch (IOException e) {
            // a missed reading: the next one comes in 5 s
          }
        }
      }, "backlog-watch");
      thread.setDaemon(true);
      thread.start();
    }

    /** Stops watching; the largest backlog of each sink, in messages and in age of its oldest. */
    String stop() throws InterruptedException {
      running = false;
      thread.interrupt();
      thread.join(10_000);
      synchronized (largest) {
        if (largest.isEmpty()) {
          return "not read (no gauge answered)";
        }
        List<String> parts = new ArrayList<>();
        largest.forEach((sink, v) -> parts.add(String.format("%s %,.0f messages (oldest %,.0f s)", sink, v[0], v[1])));
        return String.join(", ", parts);
      }
    }
  }

  /** Extra measurements of the connection-scale run. */
  private record Scale(JsonObject statsBefore, int seconds) {
  }

  /** One load against the platform; returns its durable, stored rate (messages/s). */
  private double platformRun(Platform platform, String prefix, int qos, double rate, int meters, double[] baseline,
                             Scale scale) throws Exception {
    if (scale == null) {
      register(platform, prefix, meters);
    }
    Cpu cpu = new Cpu().add("server", platform.child.pid(), false).add("postgres", platform.postmaster, true);
    if (platform.stores != null) {
      cpu.add("stores", platform.stores.pid(), false);
    }
    Child load = load(platform.mqttPort, prefix, meters, qos, rate, scale == null ? seconds : scale.seconds(), 0, "dc");
    long rewritesBefore = platform.rewrites();
    String perConnection = null;
    if (scale != null) {
      Thread.sleep(10_000);
      JsonObject idle = platform.stats();
      perConnection = String.format("%.1f KiB heap, %.1f KiB RSS per idle connection",
          (idle.getLong("heap_used") - scale.statsBefore().getLong("heap_used")) / 1024.0 / meters,
          (idle.getLong("rss") - scale.statsBefore().getLong("rss")) / 1024.0 / meters);
    }
    cpu.add("load", load.pid(), false).start();
    resetStatements(platform);
    Map<String, Long> storeThreadsBefore = platform.stores == null ? Map.of() : ProcStat.threadCpuNanos(platform.stores.pid());
    Map<String, Long> serverThreadsBefore = ProcStat.threadCpuNanos(platform.child.pid());
    BacklogWatch backlog = scale == null ? null : new BacklogWatch(platform.httpPort);
    load.send("go");
    JsonObject result = load.await("RESULT", (scale == null ? seconds : scale.seconds()) + 300L, TimeUnit.SECONDS);
    long acked = result.getLong("acked");
    long drainedAt = awaitDrained(platform);
    String largestBacklog = backlog == null ? null : backlog.stop();
    Map<String, Long> used = cpu.stop();
    Map<String, Long> storeThreads = platform.stores == null ? Map.of() : ProcStat.threadCpuNanos(platform.stores.pid());
    Map<String, Long> serverThreads = ProcStat.threadCpuNanos(platform.child.pid());
    load.close();
    // What every store holds of this run's meters, read back key by key against what they saw acknowledged.
    AuditReport audit = audit(platform, prefix, meters, platform.rewrites() - rewritesBefore);
    double storedSeconds = (drainedAt - result.getLong("start_ms")) / 1000.0;
    // Counted: the messages every store holds (acknowledged or not), over the time until the journal was drained.
    long storedMessages = audit.stores().stream().filter(f -> !f.store().equals(StoreAudit.REGISTRY))
        .mapToLong(StoreFinding::stored).min().orElse(0);
    double stored = storedMessages / storedSeconds;
    String counts = audit.cell();
    JsonObject stats = platform.stats();
    String memory = String.format("%,d / %,d", stats.getLong("heap_used") >> 20, stats.getLong("rss") >> 20);
    String name = scale != null
        ? String.format("IoT Meter%s, %,d meters at one datagram per 10 s, QoS %d, %d min",
            platform.stores == null ? " in one JVM as the README starts it (embedded servers inside, security on)" : "",
            meters, qos, scale.seconds() / 60)
        : baseline == null ? String.format("IoT Meter, one node, QoS %d, fixed %,.0f msg/s offered", qos, rate)
        : String.format("IoT Meter, QoS %d%s", qos, rate > 0 ? offered(rate) : "");
    row(name, acked / result.getDouble("seconds"), stored, baseline, result, used, acked, memory, counts);
    if (!audit.clean()) {
      auditFailed = true;
      notes.add(name + ": THE STORE AUDIT FAILED:\n" + audit.detail());
    }
    if (!result.getBoolean("drained", true) || result.getLong("failed", 0L) > 0 || result.getLong("unacked", 0L) > 0) {
      notes.add(String.format("%s: the load ended with %,d publishes unacknowledged, %,d refused by the client%s.", name,
          result.getLong("unacked", 0L), result.getLong("failed", 0L), result.getBoolean("drained", true) ? ""
              : ", and its meters did not finish within the time allowed"));
    }
    if (largestBacklog != null) {
      notes.add(name + ": the journal's largest backlog, per sink (its gauges read every 5 s): " + largestBacklog + ".");
    }
    if (perConnection != null) {
      notes.add(name + ": " + perConnection + ".");
      // The run starts on a JVM that has just accepted its meters and compiled little: its first
      // minute is the JIT's. The steady state is what the meters see from then on.
      notes.add(name + ": acknowledgements after the first 60 s (steady state; the whole run is in the table): "
          + latencyAfter(ledger(prefix), result.getLong("start_ms") + 60_000) + ".");
    }
    // Where each JVM's CPU went: event loops against JIT compiler and GC threads (the platform), and
    // which of the two stores used it (the stores JVM; QuestDB names its threads questdb-*).
    notes.add(name + ": CPU per datagram of the platform's busiest threads: "
        + busiest(serverThreadsBefore, serverThreads, acked, 8) + ".");
    if (platform.stores != null) {
      notes.add(name + ": CPU per datagram of the stores JVM's busiest threads: "
          + busiest(storeThreadsBefore, storeThreads, acked, 6) + ".");
    }
    noteStatements(platform, name, acked);
    return stored;
  }

  /**
   * A fresh JVM spends its first seconds compiling (the JIT threads would be charged to the first
   * run): a load that is not measured ({@code --warmup} seconds, 15) warms the platform and the
   * stores up first.
   */
  private void warm(Platform platform, String prefix, int meters) throws Exception {
    int warmup = Integer.parseInt(options.getOrDefault("warmup", "15"));
    if (warmup > 0) {
      register(platform, prefix, meters);
      try (Child warm = load(platform.mqttPort, prefix, meters, 2, 0, warmup, 0, "dc")) {
        warm.send("go");
        warm.await("RESULT", warmup + 300L, TimeUnit.SECONDS);
      }
      awaitDrained(platform);
    }
  }

  /** Ack latency percentiles of the publishes a ledger shows sent from {@code fromMs} on (its A lines: sent and acked ms). */
  static String latencyAfter(Path ledger, long fromMs) throws IOException {
    List<Long> millis = new ArrayList<>();
    try (var lines = Files.lines(ledger)) {
      lines.filter(l -> l.startsWith("A ")).forEach(l -> {
        String[] f = l.split(" ");
        long sent = Long.parseLong(f[f.length - 2]);
        if (sent >= fromMs) {
          millis.add(Long.parseLong(f[f.length - 1]) - sent);
        }
      });
    }
    if (millis.isEmpty()) {
      return "none sent";
    }
    java.util.Collections.sort(millis);
    java.util.function.DoubleFunction<Long> at = q -> millis.get(Math.min(millis.size() - 1, (int) (q * millis.size())));
    return String.format("%,d acknowledged, p50 %d ms, p99 %d ms, p99.9 %d ms, max %d ms", millis.size(), at.apply(0.5),
        at.apply(0.99), at.apply(0.999), millis.get(millis.size() - 1));
  }

  /** Audits every store the run's sinks write, once the stores are quiet. */
  private AuditReport audit(Platform platform, String prefix, int meters, long rewrites) {
    JsonObject postgres = platform.config.getJsonObject("postgres");
    StoreAudit.awaitSettled(postgres, platform.questdb(), Duration.ofSeconds(2), Duration.ofMinutes(10));
    List<String> devices = new ArrayList<>();
    for (int d = 0; d < meters; d++) {
      devices.add(prefix + d);
    }
    StoreAudit audit = StoreAudit.of(AckLedger.read(ledger(prefix)), BenchLayout.DC, devices);
    List<String> sinks = List.of(options.getOrDefault("sinks", "archive,timeseries,registry").split(","));
    if (sinks.contains("archive")) {
      audit.archive(platform.config.getJsonObject("s3"));
    }
    if (sinks.contains("timeseries")) {
      audit.timeSeries(platform.questdb(), platform.recordingPoints ? () -> rewrites : null);
    }
    if (sinks.contains("registry")) {
      audit.registry(postgres);
    }
    return audit.run();
  }

  /** Where the load of the run with {@code prefix} writes its acknowledgements. */
  private Path ledger(String prefix) {
    return work.resolve("ledger-" + prefix.replace("-", "") + ".txt");
  }

  /** The {@code limit} threads (by name, pools summed) that used the most CPU between two readings, per datagram. */
  private static String busiest(Map<String, Long> before, Map<String, Long> after, long datagrams, int limit) {
    StringBuilder threads = new StringBuilder();
    after.entrySet().stream()
        .map(e -> Map.entry(e.getKey(), e.getValue() - before.getOrDefault(e.getKey(), 0L)))
        .filter(e -> e.getValue() > 0).sorted((a, b) -> Long.compare(b.getValue(), a.getValue())).limit(limit)
        .forEach(e -> threads.append(threads.length() == 0 ? "" : ", ")
            .append(String.format("%s %.0f µs", e.getKey(), e.getValue() / 1000.0 / Math.max(1, datagrams))));
    return threads.toString();
  }

  private static String offered(double rate) {
    return String.format(", fixed %,.0f msg/s offered (50 %%)", rate);
  }

  private void row(String name, double ackRate, double storedRate, double[] baseline, JsonObject result,
                   Map<String, Long> cpu, long acked, String memory, String lostDoubled) {
    JsonObject latency = result.getJsonObject("latency_ms");
    String ratio = baseline == null || Double.isNaN(baseline[0]) ? "—"
        : String.format("%.2f× / %.2f×", storedRate / baseline[0], storedRate / baseline[1]);
    rows.add(String.format("| %s | %,.0f | %,.0f | %s | %.1f / %.1f | %.0f / %.0f / %.0f / %.0f | %s | %s |%s", name,
        ackRate, storedRate, ratio, latency.getDouble("p50"), latency.getDouble("p99"),
        perDatagram(cpu, "server", acked), perDatagram(cpu, "postgres", acked),
        perDatagram(cpu, "stores", acked) + perDatagram(cpu, "consumer", acked), perDatagram(cpu, "load", acked), memory == null ? "—" : memory, lostDoubled,
        result.getLong("late", 0L) > 0 ? " late sends: " + result.getLong("late") : ""));
  }

  private static double perDatagram(Map<String, Long> cpu, String part, long acked) {
    return acked == 0 ? 0 : cpu.getOrDefault(part, 0L) / 1000.0 / acked;
  }

  /** Prints the table and writes it as a results file ({@code target/results}, and {@code -Dresults.dir}). */
  private void print(String suites, String[] args) {
    String setting = String.format("%d meters, window %d, %d s runs, %d s warm-up, 20 measurements a datagram, sinks %s, "
            + "embedded stores (each a process of its own), security off (no per-message cost)", devices, window, seconds,
        Integer.parseInt(options.getOrDefault("warmup", "15")), options.getOrDefault("sinks", "archive,timeseries,registry"));
    if (options.getOrDefault("scale-layout", "").contains("one-jvm")) {
      setting += "; the rows \"in one JVM\": the embedded profile as launcher/iot-meter run starts it (PostgreSQL, S3Proxy "
          + "and QuestDB started by it, the last two in its JVM: their CPU is the server's), security on, its three simulated "
          + "meters running, the load's meters with issued credentials, no warm-up";
    }
    if (rows.isEmpty()) {
      setting = String.format("the API of a platform whose %d meters each reported 20 datagrams and one meter a day of 1 Hz "
          + "data; the load (another process) at a fixed rate; embedded stores (each a process of its own), "
          + "security off", devices);
    }
    String table = "";
    if (!rows.isEmpty()) {
      table = "| run | acked msg/s | stored (delivered) msg/s | stored vs Mosquitto QoS 2 acked / delivered | ack p50 / p99 ms "
          + "| CPU µs/datagram: server / PostgreSQL / QuestDB + S3Proxy (or subscriber) / load | heap / RSS MiB "
          + "| lost / doubled per store (store audit) |\n|---|---|---|---|---|---|---|---|\n" + String.join("\n", rows);
    }
    if (!apiRows.isEmpty()) {
      table += (table.isEmpty() ? "" : "\n\n") + "| API run (REST, against the platform after its meters reported) "
          + "| requests / points | latency |\n|---|---|---|\n" + String.join("\n", apiRows);
    }
    StringBuilder notesText = new StringBuilder();
    notes.forEach(n -> notesText.append("\n\n").append(n));
    System.out.println("\n" + setting + "\n\n" + table + notesText);
    ResultsFile.write("benchmark-" + suites.replace(",", "-"), "Benchmark: " + suites,
        "mvn -B -q test-compile exec:java -Dexec.args=\"" + String.join(" ", args) + "\"" + resultsDirFlag(),
        List.of((rows.isEmpty() ? "" : "Mosquitto " + mosquittoVersion() + "; ") + setting + "."), table + notesText);
  }

  private static String resultsDir() {
    return System.getProperty("results.dir", "");
  }

  private static String resultsDirFlag() {
    return resultsDir().isBlank() ? "" : " -Dresults.dir=" + resultsDir();
  }

  // ---------------------------------------------------------------- processes

  private Child mosquitto() throws Exception {
    int port = FreePorts.next();
    Path conf = work.resolve("mosquitto.conf");
    // Mosquitto as Debian ships it (no persistence, at most 1,000 messages queued per subscriber:
    // beyond, it drops them, and the run counts them as lost), open on loopback, with TCP_NODELAY:
    // without it, Nagle's algorithm holds each small PUBREL until the delayed ACK of the previous
    // packet, and the QoS 2 subscriber crawls at a few hundred messages a second. (Lifting the
    // queue bound instead makes Mosquitto slower still: its queues are lists, walked per message.)
    Files.writeString(conf, "listener " + port + " 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n"
        + "log_type error\nlog_type warning\nlog_type notice\n");
    Child mosquitto = Child.program("mosquitto", work, mosquittoBinary(), "-c", conf.toString());
    awaitPort(port);
    ports.put(mosquitto, port);
    return mosquitto;
  }

  /** The port each Mosquitto of this run listens on. */
  private final Map<Child, Integer> ports = new HashMap<>();

  private Child subscriber(Child mosquitto, int qos) throws Exception {
    Child subscriber = Child.java("subscriber", work, List.of(), LoadGenerator.class, "--mode", "subscribe",
        "--port", Integer.toString(ports.get(mosquitto)), "--qos", Integer.toString(qos));
    subscriber.await("CONNECTED", 60, TimeUnit.SECONDS);
    return subscriber;
  }

  private static JsonObject subscriberReport(Child subscriber) throws InterruptedException {
    subscriber.send("report");
    return subscriber.await("RESULT", 30, TimeUnit.SECONDS);
  }

  private Child load(int port, String prefix, int meters, int qos, double rate, int runSeconds, int count, String payload)
      throws Exception {
    Child load = Child.java("load-" + prefix.replace("-", ""), work, List.of(), LoadGenerator.class, "--mode", "publish",
        "--port", Integer.toString(port), "--devices", Integer.toString(meters), "--prefix", prefix,
        "--qos", Integer.toString(qos), "--window", Integer.toString(window), "--rate", Double.toString(rate),
        "--seconds", Integer.toString(count > 0 ? 0 : runSeconds), "--count", Integer.toString(count),
        "--payload", payload, "--connect-rate", meters > 1000 ? "1000" : "0", "--ledger", ledger(prefix).toString(),
        "--credentials", credentials.containsKey(prefix) ? credentials.get(prefix).toString() : "");
    load.await("CONNECTED", Math.max(60, meters / 100), TimeUnit.SECONDS);
    if (count > 0) {
      load.send("go");
      JsonObject result = load.await("RESULT", 600, TimeUnit.SECONDS);
      if (result.getLong("acked") != (long) count * meters) {
        throw new IllegalStateException("Only " + result.getLong("acked") + " of " + count * meters + " acknowledged");
      }
    }
    return load;
  }

  private Child stores() throws IOException {
    // --pg-stats true: PostgreSQL with pg_stat_statements; each platform run lists its costliest statements.
    return pgStats()
        ? Child.java("stores", work, List.of(), BenchNode.class, "stores", work.resolve("stores").toString(), "pg-stats")
        : Child.java("stores", work, List.of(), BenchNode.class, "stores", work.resolve("stores").toString());
  }

  private boolean pgStats() {
    return Boolean.parseBoolean(options.getOrDefault("pg-stats", "false"));
  }

  /** With --pg-stats: forgets the statements counted so far (before a run). */
  private void resetStatements(Platform platform) throws SQLException {
    if (pgStats()) {
      try (Connection c = platform.database(); var s = c.createStatement()) {
        s.execute("SELECT pg_stat_statements_reset()");
      }
    }
  }

  /** With --pg-stats: the statements that took PostgreSQL longest during a run, per datagram acknowledged. */
  private void noteStatements(Platform platform, String name, long acked) throws SQLException {
    if (!pgStats()) {
      return;
    }
    List<String> top = new ArrayList<>();
    try (Connection c = platform.database(); var s = c.createStatement();
         var rows = s.executeQuery("SELECT total_exec_time, calls, rows, regexp_replace(query, '\\s+', ' ', 'g') "
             + "FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12")) {
      while (rows.next()) {
        String query = rows.getString(4);
        top.add(String.format("%.1f µs (%,d calls, %,d rows) %s", rows.getDouble(1) * 1000 / Math.max(1, acked),
            rows.getLong(2), rows.getLong(3), query.length() > 120 ? query.substring(0, 120) + "…" : query));
      }
    }
    notes.add(name + ": PostgreSQL's statements by execution time per datagram:\n  - " + String.join("\n  - ", top));
  }

  /** The platform process on the stores process, with the embedded profile's settings. */
  private final class Platform implements AutoCloseable {
    final Child stores;
    final Child child;
    final JsonObject config;
    final int mqttPort;
    final int httpPort;
    final long postmaster;
    /** The relay that counts the time-series sink's writes (its own process: charged to no part), or null. */
    final Child pointsRelay;
    final boolean recordingPoints;
    /** The admin key where the platform runs with security on (the one-JVM layout), else null. */
    final String adminKey;

    /**
     * The embedded profile as {@code launcher/iot-meter run} starts it: one JVM with its own
     * PostgreSQL (processes of its own), S3Proxy and QuestDB inside, security on (an admin key
     * set as the README's quick start allows), the three simulated meters running — only its
     * ports fixed in advance, so that the audit can find the stores.
     */
    Platform(String name) throws Exception {
      this.stores = null;
      this.pointsRelay = null;
      this.recordingPoints = false;
      JsonObject config = RunningPlatform.embeddedProfileConfig();
      config.getJsonObject("deploy").put("simulator", 1);
      config.put("data_dir", work.resolve(name + "-data").toString());
      this.adminKey = "bench-admin-key-" + java.util.UUID.randomUUID();
      config.getJsonObject("security").put("enabled", true).put("admin_key", adminKey);
      config.getJsonObject("postgres").put("port", FreePorts.next());
      config.getJsonObject("s3").put("embedded_port", FreePorts.next());
      config.getJsonObject("timeseries").getJsonObject("questdb").put("http_port", FreePorts.next()).put("pg_port", FreePorts.next());
      this.mqttPort = config.getJsonObject("mqtt").getInteger("port");
      this.httpPort = config.getJsonObject("http").getInteger("port");
      Path file = work.resolve(name + ".json");
      Files.writeString(file, config.encodePrettily());
      this.child = Child.java(name, work, List.of(), BenchNode.class, "platform", file.toString());
      child.await("READY", 300, TimeUnit.SECONDS);
      // Where the embedded servers listen, for the audit and the drain check.
      Path postgresDir = Path.of(config.getString("data_dir")).resolve("postgres");
      config.getJsonObject("postgres").put("host", "127.0.0.1").put("user", "postgres")
          .put("password", Files.readString(io.iotmeter.embedded.EmbeddedPostgresServer.passwordFile(postgresDir)).trim());
      config.getJsonObject("s3").put("endpoint", "http://127.0.0.1:" + config.getJsonObject("s3").getInteger("embedded_port"));
      config.getJsonObject("timeseries").getJsonObject("questdb").put("host", "127.0.0.1")
          .put("user", "admin").put("password", "quest");
      this.config = config;
      this.questdbEndpoint = StoreAudit.QuestDb.of(config.getJsonObject("timeseries").getJsonObject("questdb"));
      this.postmaster = ProcStat.postmaster(postgresDir);
    }

    /** @param name the process's name in the work directory (its log, its configuration) */
    Platform(Child stores, JsonObject overrides, String name) throws Exception {
      this.stores = stores;
      this.adminKey = null;
      JsonObject endpoints = storesReady(stores);
      JsonObject config = RunningPlatform.embeddedProfileConfig();
      // The load's meters connect without credentials: authentication costs one check per connection, not per message.
      config.getJsonObject("security").put("enabled", false).put("allow_default_secrets", true);
      config.getJsonObject("intake").put("gap_alert_delay_ms", 60_000);
      config.getJsonObject("postgres").mergeIn(endpoints.getJsonObject("postgres")).put("embedded", false)
          .put("durable", Boolean.parseBoolean(options.getOrDefault("durable", "true")));
      config.getJsonObject("s3").mergeIn(endpoints.getJsonObject("s3")).put("embedded", false);
      config.getJsonObject("timeseries").put("embedded", false).getJsonObject("questdb").mergeIn(endpoints.getJsonObject("questdb"));
      // --record-points false: the platform writes to QuestDB directly, and rewrites go uncounted.
      this.recordingPoints = Boolean.parseBoolean(options.getOrDefault("record-points", "true"));
      if (recordingPoints) {
        int relayPort = FreePorts.next();
        // Its set of points seen grows by 8 bytes a point (60 s saturated runs send ~15 million):
        // room for that, and an exit instead of a relay that hangs when it runs out.
        pointsRelay = Child.java(name.replace("platform", "points-relay"), work, List.of("-Xmx4g", "-XX:+ExitOnOutOfMemoryError"),
            RecordingTimeSeriesProxy.class, "--port",
            Integer.toString(relayPort), "--target", Integer.toString(endpoints.getJsonObject("questdb").getInteger("http_port")));
        pointsRelay.await("READY", 60, TimeUnit.SECONDS);
        this.questdbEndpoint = StoreAudit.QuestDb.of(config.getJsonObject("timeseries").getJsonObject("questdb").copy());
        config.getJsonObject("timeseries").getJsonObject("questdb").put("http_port", relayPort);
      } else {
        pointsRelay = null;
        this.questdbEndpoint = StoreAudit.QuestDb.of(config.getJsonObject("timeseries").getJsonObject("questdb"));
      }
      if (options.containsKey("sinks")) {
        List<String> sinks = List.of(options.get("sinks").split(","));
        config.getJsonObject("intake").put("sinks", new JsonArray(new ArrayList<>(sinks)));
        for (String sink : List.of("archive", "timeseries", "registry")) {
          config.getJsonObject("deploy").put(sink + "_sink", sinks.contains(sink) ? 1 : 0);
        }
      }
      config.mergeIn(overrides, true);
      // --set sinks.archive.linger_ms=1000,intake.max_batch=1000: any setting, for experiments
      for (String assignment : options.getOrDefault("set", "").split(",")) {
        if (!assignment.isBlank()) {
          String[] keyValue = assignment.split("=", 2);
          String[] path = keyValue[0].trim().split("\\.");
          JsonObject parent = config;
          for (int i = 0; i < path.length - 1; i++) {
            parent = parent.getJsonObject(path[i]);
          }
          String value = keyValue[1].trim();
          parent.put(path[path.length - 1], value.matches("-?\\d+") ? (Object) Long.parseLong(value)
              : value.equals("true") || value.equals("false") ? (Object) Boolean.parseBoolean(value) : value);
        }
      }
      this.config = config;
      this.mqttPort = config.getJsonObject("mqtt").getInteger("port");
      this.httpPort = config.getJsonObject("http").getInteger("port");
      this.postmaster = ProcStat.postmaster(Path.of(endpoints.getJsonObject("postgres").getString("data_dir")));
      Path file = work.resolve(name + ".json");
      Files.writeString(file, config.encodePrettily());
      // --jfr true: a JFR profile of the platform for the whole run (jfr print --events jdk.ExecutionSample).
      List<String> jvm = Boolean.parseBoolean(options.getOrDefault("jfr", "false"))
          ? List.of("-XX:StartFlightRecording=filename=" + work.resolve("platform.jfr") + ",settings=profile")
          : List.of();
      this.child = Child.java(name, work, jvm, BenchNode.class, "platform", file.toString());
      child.await("READY", 300, TimeUnit.SECONDS);
    }

    private final StoreAudit.QuestDb questdbEndpoint;

    /** QuestDB's SQL side, where the audit reads the points. */
    StoreAudit.QuestDb questdb() {
      return questdbEndpoint;
    }

    /** Points the sink sent again after QuestDB had taken them, since the relay started (0 without a relay). */
    long rewrites() throws InterruptedException {
      if (pointsRelay == null) {
        return 0;
      }
      pointsRelay.send("report");
      return pointsRelay.await("RESULT", 30, TimeUnit.SECONDS).getLong("rewrites");
    }

    JsonObject stats() throws InterruptedException {
      child.send("stats");
      return child.await("STATS", 60, TimeUnit.SECONDS);
    }

    Connection database() throws SQLException {
      JsonObject postgres = config.getJsonObject("postgres");
      return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + postgres.getInteger("port") + "/"
          + postgres.getString("database"), postgres.getString("user"), postgres.getString("password", ""));
    }

    @Override
    public void close() {
      child.close();
      if (pointsRelay != null) {
        pointsRelay.close();
      }
    }
  }

  private Platform platform(Child stores, JsonObject overrides) throws Exception {
    return new Platform(stores, overrides, "platform");
  }

  /** The stores' endpoints, from their READY report (read once: several platforms may share them). */
  private final Map<Child, JsonObject> storeEndpoints = new HashMap<>();

  private JsonObject storesReady(Child stores) throws InterruptedException {
    JsonObject endpoints = storeEndpoints.get(stores);
    if (endpoints == null) {
      endpoints = stores.await("READY", 300, TimeUnit.SECONDS);
      storeEndpoints.put(stores, endpoints);
    }
    return endpoints.copy();
  }

  /** The meters' credentials file of a prefix, where the platform runs with security on. */
  private final Map<String, Path> credentials = new HashMap<>();

  /**
   * Registers the meters first, as in production (unknown devices are refused with security on);
   * with security on, through the REST API with the admin key, and their passwords issued there
   * (written to a file the load reads).
   */
  private void register(Platform platform, String prefix, int meters) throws Exception {
    if (platform.adminKey == null) {
      registerInDatabase(platform, prefix, meters);
      return;
    }
    // 16 requests at a time, blocking on this pool's threads (the client's own executor is its default).
    HttpClient http = HttpClient.newHttpClient();
    String[] passwords = new String[meters];
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(16);
    List<java.util.concurrent.Future<?>> pending = new ArrayList<>();
    for (int d = 0; d < meters; d++) {
      int meter = d;
      pending.add(pool.submit(() -> {
        String device = prefix + meter;
        HttpRequest create = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + platform.httpPort + "/api/devices"))
            .header("Authorization", "Bearer " + platform.adminKey).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("device_id", device)
                .put("device_name", "Bench meter " + device).put("device_type", "power_meter_dc").encode())).build();
        HttpRequest issue = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + platform.httpPort + "/api/devices/" + device
            + "/credentials")).header("Authorization", "Bearer " + platform.adminKey).POST(HttpRequest.BodyPublishers.noBody()).build();
        http.send(create, HttpResponse.BodyHandlers.discarding());
        HttpResponse<String> issued = http.send(issue, HttpResponse.BodyHandlers.ofString());
        if (issued.statusCode() != 201) {
          throw new IllegalStateException("Issuing " + device + "'s credentials: " + issued.statusCode() + " " + issued.body());
        }
        passwords[meter] = new JsonObject(issued.body()).getString("password");
        return null;
      }));
    }
    for (var future : pending) {
      future.get(5, TimeUnit.MINUTES);
    }
    pool.shutdown();
    StringBuilder lines = new StringBuilder();
    for (int d = 0; d < meters; d++) {
      lines.append(prefix).append(d).append(' ').append(passwords[d]).append('\n');
    }
    Path file = work.resolve("credentials-" + prefix.replace("-", "") + ".txt");
    Files.writeString(file, lines);
    credentials.put(prefix, file);
  }

  private static void registerInDatabase(Platform platform, String prefix, int meters) throws SQLException {
    try (Connection c = platform.database(); var s = c.prepareStatement(
        "INSERT INTO devices (device_id, device_name, device_type) VALUES (?, ?, 'power_meter_dc') ON CONFLICT DO NOTHING")) {
      for (int d = 0; d < meters; d++) {
        s.setString(1, prefix + d);
        s.setString(2, "Bench meter " + prefix + d);
        s.addBatch();
      }
      s.executeBatch();
    }
  }

  /** Waits until no journal row waits for a sink; returns when that was (epoch ms). */
  private static long awaitDrained(Platform platform) throws Exception {
    try (Connection c = platform.database(); var s = c.createStatement()) {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
      while (System.nanoTime() < deadline) {
        // The first row after each sink's cursor, by an index scan the cursor bounds: counting the
        // view ten times a second was the largest statement PostgreSQL ran in a saturated run
        // (pg_stat_statements), and charged to it.
        boolean waiting = false;
        for (SinkKind sink : SinkKind.values()) {
          try (var rs = s.executeQuery("SELECT 1 FROM journal j WHERE (j.tx, j.id) > ("
              + "coalesce((SELECT tx FROM journal_cursor WHERE sink = '" + sink.configName() + "'), '0'::xid8), "
              + "coalesce((SELECT id FROM journal_cursor WHERE sink = '" + sink.configName() + "'), 0)) "
              + "AND (j.sinks & " + sink.bit() + ") <> 0 ORDER BY j.tx, j.id LIMIT 1")) {
            waiting |= rs.next();
          }
        }
        if (!waiting) {
          return System.currentTimeMillis();
        }
        Thread.sleep(100);
      }
    }
    throw new IllegalStateException("The sinks did not drain the journal within 10 minutes");
  }

  /** CPU time per part over one run, from /proc. */
  private static final class Cpu {
    private final List<Object[]> parts = new ArrayList<>();
    private final Map<String, Long> startedAt = new LinkedHashMap<>();

    Cpu add(String part, long pid, boolean tree) {
      parts.add(new Object[] {part, pid, tree});
      return this;
    }

    Cpu start() {
      startedAt.clear();
      startedAt.putAll(sample());
      return this;
    }

    Map<String, Long> stop() {
      Map<String, Long> used = new LinkedHashMap<>();
      sample().forEach((part, nanos) -> used.put(part, nanos - startedAt.getOrDefault(part, 0L)));
      return used;
    }

    /** Takes a reading now: a process about to be killed is charged what it used until then. */
    Cpu note() {
      sample();
      return this;
    }

    private final Map<Long, Long> lastByPid = new HashMap<>();

    private Map<String, Long> sample() {
      Map<String, Long> sample = new LinkedHashMap<>();
      for (Object[] p : parts) {
        long pid = (Long) p[1];
        long nanos;
        if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
          nanos = ProcStat.cpuNanos(pid, (Boolean) p[2]);
          lastByPid.put(pid, nanos);
        } else {
          nanos = lastByPid.getOrDefault(pid, 0L); // gone (killed): its last reading
        }
        sample.merge((String) p[0], nanos, Long::sum);
      }
      return sample;
    }
  }

  private static String mosquittoBinary() {
    for (String candidate : List.of("/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto")) {
      if (Files.isExecutable(Path.of(candidate))) {
        return candidate;
      }
    }
    throw new IllegalStateException("Mosquitto is not installed (apt-get install mosquitto): the baseline needs it");
  }

  private static String mosquittoVersion() {
    try {
      Process p = new ProcessBuilder(mosquittoBinary(), "-h").redirectErrorStream(true).start();
      String text = new String(p.getInputStream().readAllBytes());
      p.waitFor();
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("version ([0-9.]+)").matcher(text);
      return m.find() ? m.group(1) : "";
    } catch (IOException | InterruptedException e) {
      return "";
    }
  }

  private static void awaitPort(int port) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      try (Socket socket = new Socket("127.0.0.1", port)) {
        return;
      } catch (IOException e) {
        Thread.sleep(100);
      }
    }
    throw new IllegalStateException("Nothing listens on port " + port);
  }

  // ---------------------------------------------------------------- shared with the child processes

  /** A report line for the process that started this one. */
  static void report(String tag, JsonObject body) {
    synchronized (System.out) {
      System.out.println("@" + tag + " " + body.encode());
      System.out.flush();
    }
  }

  static Map<String, String> options(String[] args) {
    Map<String, String> options = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      options.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    return options;
  }
}
