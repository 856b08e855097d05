package io.iotmeter.protocol;

import java.nio.charset.StandardCharsets;

/**
 * A program, not a test: the time to parse one usual 20-sample telemetry datagram, by the
 * streaming reader and by the general parser (a JSON tree), in one JVM, five rounds each.
 * {@code mvn -B -q test-compile exec:java -Dexec.mainClass=io.iotmeter.protocol.ParseBenchmark}
 */
public final class ParseBenchmark {

  private ParseBenchmark() {
  }

  public static void main(String[] args) {
    StringBuilder json = new StringBuilder("{\"v\":2,\"device_id\":\"dc-meter-001\",\"ts\":\"2026-02-12T10:00:00Z\",\"seq\":7,"
        + "\"msg_type\":\"telemetry\",\"measurements\":[");
    for (int i = 0; i < 20; i++) {
      json.append(i == 0 ? "" : ",").append("{\"ts\":\"2026-02-12T10:00:00.123Z\",\"type\":\"metric_").append(i)
          .append("\",\"val\":").append(230.5 + i).append(",\"unit\":\"V\"}");
    }
    byte[] bytes = json.append("]}").toString().getBytes(StandardCharsets.UTF_8);
    DeviceTopic topic = DeviceTopic.parse("iot/dc-meter-001/telemetry").orElseThrow();
    int n = 200_000;
    System.out.printf("one telemetry datagram, %d bytes, 20 samples; µs per parse over %,d parses%n", bytes.length, n);
    for (int round = 1; round <= 5; round++) {
      long sink = 0;
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        sink += DeviceMessage.parse(topic.topic(), bytes).measurements().size();
      }
      long t1 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        sink += DeviceMessage.parseGeneral(topic, bytes).measurements().size();
      }
      long t2 = System.nanoTime();
      System.out.printf("round %d: streaming %.2f µs, general (JSON tree) %.2f µs%s%n", round, (t1 - t0) / 1e3 / n,
          (t2 - t1) / 1e3 / n, sink == 0 ? "!" : "");
    }
  }
}
