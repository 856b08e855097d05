package io.iotmeter.bench;

import io.iotmeter.audit.LoadLayout;
import io.iotmeter.protocol.Category;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What the benchmark's meters send ({@link LoadGenerator}), seq by seq, and so what the store
 * audit expects of them: telemetry only, written as text directly (the load generator should
 * spend its CPU on the wire, not on JSON trees).
 *
 * <ul>
 *   <li>{@code DC}: 10 sample instants 1 s apart from BASE + 10·seq s, a voltage and a current
 *       at each (20 measurements), and the active power derived at each: 30 points.</li>
 *   <li>{@code METRIC}: 20 consecutive 1 Hz voltage samples from BASE + 20·seq s (a day of 1 Hz
 *       data for the API suite): 20 points.</li>
 * </ul>
 */
enum BenchLayout implements LoadLayout {
  DC(10, 10), METRIC(20, 20);

  private static final Instant BASE = Instant.parse("2026-01-01T00:00:00Z");
  private static final String[] DC_METRICS = {"voltage_dc", "current_dc", "power_active"};

  /** Seconds of data a datagram covers, and its sample instants. */
  private final int span;
  private final int instants;

  BenchLayout(int span, int instants) {
    this.span = span;
    this.instants = instants;
  }

  @Override
  public Category category(long seq) {
    return Category.TELEMETRY;
  }

  @Override
  public byte[] payload(String device, long seq) {
    return text(device, seq).getBytes(StandardCharsets.UTF_8);
  }

  /** The datagram as text. */
  String text(String device, long n) {
    StringBuilder json = new StringBuilder(1400);
    json.append("{\"v\":2,\"device_id\":\"").append(device).append("\",\"seq\":").append(n)
        .append(",\"msg_type\":\"telemetry\",\"measurements\":[");
    Instant ts = BASE.plusSeconds(span * n);
    for (int i = 0; i < instants; i++) {
      String at = ts.plusSeconds(i).toString();
      json.append(i == 0 ? "" : ",").append("{\"ts\":\"").append(at).append("\",\"type\":\"voltage_dc\",\"val\":")
          .append(700 + (n + i) % 100).append(",\"unit\":\"V\"}");
      if (this == DC) {
        json.append(",{\"ts\":\"").append(at).append("\",\"type\":\"current_dc\",\"val\":").append(200 + (n * 7 + i) % 200)
            .append(",\"unit\":\"A\"}");
      }
    }
    json.append("],\"ts\":\"").append(ts.plusSeconds(span)).append("\"}");
    return json.toString();
  }

  /** Points per datagram: measurements and derived power. */
  int pointsPerDatagram() {
    return this == DC ? instants * DC_METRICS.length : instants;
  }

  @Override
  public List<PointKey> points(long seq) {
    List<PointKey> points = new ArrayList<>(pointsPerDatagram());
    Instant ts = BASE.plusSeconds(span * seq);
    for (int i = 0; i < instants; i++) {
      if (this == DC) {
        for (String metric : DC_METRICS) {
          points.add(new PointKey(metric, ts.plusSeconds(i)));
        }
      } else {
        points.add(new PointKey("voltage_dc", ts.plusSeconds(i)));
      }
    }
    return points;
  }

  @Override
  public long seqAt(Instant time) {
    long offset = time.getEpochSecond() - BASE.getEpochSecond();
    return time.getNano() != 0 || offset < 0 ? -1 : offset / span;
  }

  /** By arithmetic: the audit asks this for every point it reads back (millions in the scale run). */
  @Override
  public int pointIndex(long seq, String metric, Instant time) {
    long i = time.getEpochSecond() - BASE.getEpochSecond() - span * seq;
    if (time.getNano() != 0 || i < 0 || i >= instants) {
      return -1;
    }
    if (this == METRIC) {
      return metric.equals("voltage_dc") ? (int) i : -1;
    }
    for (int m = 0; m < DC_METRICS.length; m++) {
      if (DC_METRICS[m].equals(metric)) {
        return (int) i * DC_METRICS.length + m;
      }
    }
    return -1;
  }
}
