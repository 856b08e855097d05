package io.iotmeter.security;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.mqtt.MqttClient;
import io.vertx.mqtt.MqttClientOptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The meters of {@link ReconnectStormTest}, in a process of their own: {@code PORT CREDENTIALS
 * WAIT_MS}, one {@code device_id password} per line. Every meter sends its CONNECT at once (a
 * persistent session, as the protocol's meters keep); prints {@code RESULT {json}} with the time
 * until the last CONNACK, the CONNACK percentiles and the failures (the first 10), then exits.
 */
public final class ReconnectStormMeters {

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    List<String[]> meters = Files.readAllLines(Path.of(args[1])).stream().filter(l -> !l.isBlank())
        .map(l -> l.split(" ", 2)).toList();
    long waitMs = Long.parseLong(args[2]);
    Vertx vertx = Vertx.vertx();
    int count = meters.size();
    AtomicLongArray connack = new AtomicLongArray(count);
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    CountDownLatch done = new CountDownLatch(count);
    MqttClient[] clients = new MqttClient[count];
    long started = System.nanoTime();
    for (int i = 0; i < count; i++) {
      int meter = i;
      connack.set(meter, -1);
      MqttClientOptions options = new MqttClientOptions().setClientId(meters.get(i)[0]).setUsername(meters.get(i)[0])
          .setPassword(meters.get(i)[1]).setCleanSession(false).setKeepAliveInterval(120);
      options.setConnectTimeout((int) waitMs);
      clients[i] = MqttClient.create(vertx, options);
      clients[i].connect(port, "127.0.0.1").onComplete(result -> {
        if (result.succeeded()) {
          connack.set(meter, (System.nanoTime() - started) / 1_000_000);
        } else {
          failures.add(meters.get(meter)[0] + ": " + result.cause());
        }
        done.countDown();
      });
    }
    boolean all = done.await(waitMs, TimeUnit.MILLISECONDS);
    long allMs = (System.nanoTime() - started) / 1_000_000;
    long[] times = new long[count];
    for (int i = 0; i < count; i++) {
      times[i] = connack.get(i);
    }
    long[] connected = Arrays.stream(times).filter(ms -> ms >= 0).sorted().toArray();
    int failed = failures.size() + (int) done.getCount();
    JsonArray first = new JsonArray();
    failures.stream().limit(10).forEach(first::add);
    if (!all) {
      first.add(done.getCount() + " meters without an answer after " + allMs + " ms");
    }
    System.out.println("RESULT " + new JsonObject()
        .put("all_ms", all && connected.length > 0 ? connected[connected.length - 1] : allMs)
        .put("p50_ms", percentile(connected, 50)).put("p99_ms", percentile(connected, 99))
        .put("max_ms", percentile(connected, 100)).put("failed", failed).put("failures", first).encode());
    System.out.flush();
    Runtime.getRuntime().halt(0);
  }

  private static long percentile(long[] sorted, int p) {
    return sorted.length == 0 ? -1 : sorted[Math.max(0, Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1))];
  }
}
