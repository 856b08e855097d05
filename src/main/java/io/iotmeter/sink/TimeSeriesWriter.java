package io.iotmeter.sink;

import io.iotmeter.derived.DerivedPower;
import io.iotmeter.energy.EnergyMarks;
import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.protocol.Measurement;
import io.iotmeter.timeseries.Point;
import io.iotmeter.timeseries.TimeSeriesException;
import io.iotmeter.timeseries.TimeSeriesStore;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import io.vertx.sqlclient.SqlClient;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Writes every measurement of the accepted telemetry as a point (measurement
 * {@code iot_telemetry}, tags device_id / metric / unit, field value, time = the sample's ts),
 * together with the power derived from it ({@link DerivedPower}), in requests of at most
 * {@code maxPoints} lines; then marks the energy billing periods the batch falls in
 * ({@link EnergyMarks}). Idempotent by the store's nature: a point is
 * identified by (device_id, metric, time), so writing it again overwrites it.
 */
final class TimeSeriesWriter implements SinkWriter {

  private final TimeSeriesStore store;
  private final WorkerExecutor workers;
  private final int maxPoints;
  private final Timer writeTimer;
  /** Marks the energy billing periods of what was stored (null: energy billing off). */
  private final EnergyMarks energyMarks;
  private final SqlClient journalDb;

  TimeSeriesWriter(TimeSeriesStore store, WorkerExecutor workers, int maxPoints, Timer writeTimer, EnergyMarks energyMarks,
                   SqlClient journalDb) {
    this.store = store;
    this.workers = workers;
    this.maxPoints = maxPoints;
    this.writeTimer = writeTimer;
    this.energyMarks = energyMarks;
    this.journalDb = journalDb;
  }

  @Override
  public Future<Void> write(List<AcceptedMessage> batch) {
    List<Point> points = new ArrayList<>();
    Map<Long, String> refused = new LinkedHashMap<>();
    for (AcceptedMessage message : batch) {
      try {
        points.addAll(pointsOf(message));
      } catch (RuntimeException e) {
        // The intake's validation should make this impossible; if it happens, only this message stops.
        refused.put(message.journalId(), "cannot be written as points: " + e.getMessage());
      }
    }
    if (!refused.isEmpty()) {
      return Future.failedFuture(new SinkRefusal(refused.size() + " messages cannot be written as points", refused));
    }
    if (points.isEmpty()) {
      return Future.succeededFuture();
    }
    Future<Void> stored = workers.executeBlocking(() -> {
      for (int from = 0; from < points.size(); from += maxPoints) {
        long start = System.nanoTime();
        try {
          store.write(points.subList(from, Math.min(points.size(), from + maxPoints)));
        } catch (TimeSeriesException e) {
          // Points already written are written again on the retry: the same points, no copies.
          throw e.refusedData() ? new SinkRefusal(e.getMessage(), Map.of()) : e;
        }
        writeTimer.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
      }
      return null;
    }, true);
    // The periods are marked once their points are stored, so a period is compiled only from what
    // the store holds; a failed mark fails the batch, which is written again (the same points).
    return energyMarks == null ? stored : stored.compose(v -> energyMarks.record(journalDb, batch));
  }

  /** A message's samples and the power derived from them, as points. */
  static List<Point> pointsOf(AcceptedMessage message) {
    List<Measurement> samples = message.parse().measurements();
    List<Measurement> derived = DerivedPower.of(samples);
    List<Point> points = new ArrayList<>(samples.size() + derived.size());
    for (Measurement m : samples) {
      points.add(new Point(message.deviceId(), m.type(), m.unit(), m.value(), m.ts()));
    }
    for (Measurement m : derived) {
      points.add(new Point(message.deviceId(), m.type(), m.unit(), m.value(), m.ts()));
    }
    return points;
  }
}
