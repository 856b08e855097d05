package io.iotmeter.sink;

import io.iotmeter.derived.DerivedPower;
import io.iotmeter.intake.AcceptedMessage;
import io.iotmeter.protocol.Measurement;
import io.iotmeter.timeseries.Point;
import io.iotmeter.timeseries.TimeSeriesStore;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Writes every measurement of the accepted telemetry as a point (measurement
 * {@code iot_telemetry}, tags device_id / metric / unit, field value, time = the sample's ts),
 * together with the power derived from it ({@link DerivedPower}), in requests of at most
 * {@code maxPoints} lines. Idempotent by the store's nature: a point is
 * identified by (device_id, metric, time), so writing it again overwrites it.
 */
final class TimeSeriesWriter implements SinkWriter {

  private final TimeSeriesStore store;
  private final WorkerExecutor workers;
  private final int maxPoints;
  private final Timer writeTimer;

  TimeSeriesWriter(TimeSeriesStore store, WorkerExecutor workers, int maxPoints, Timer writeTimer) {
    this.store = store;
    this.workers = workers;
    this.maxPoints = maxPoints;
    this.writeTimer = writeTimer;
  }

  @Override
  public Future<Void> write(List<AcceptedMessage> batch) {
    List<Point> points = new ArrayList<>();
    for (AcceptedMessage message : batch) {
      List<Measurement> samples = message.parse().measurements();
      for (Measurement m : samples) {
        points.add(new Point(message.deviceId(), m.type(), m.unit(), m.value(), m.ts()));
      }
      for (Measurement m : DerivedPower.of(samples)) {
        points.add(new Point(message.deviceId(), m.type(), m.unit(), m.value(), m.ts()));
      }
    }
    if (points.isEmpty()) {
      return Future.succeededFuture();
    }
    return workers.executeBlocking(() -> {
      for (int from = 0; from < points.size(); from += maxPoints) {
        long start = System.nanoTime();
        store.write(points.subList(from, Math.min(points.size(), from + maxPoints)));
        writeTimer.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
      }
      return null;
    }, true);
  }
}
