package io.iotmeter.timeseries;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The time-series store: measurement {@code iot_telemetry} with tags {@code device_id},
 * {@code metric}, {@code unit} and field {@code value}.
 *
 * <p>Every method blocks on network I/O: call it from a worker thread, never an event loop.
 * Implementations are safe for concurrent use. Failures are {@link TimeSeriesException}s.
 */
public interface TimeSeriesStore extends AutoCloseable {

  /**
   * Stores a batch (up to about 5,000 points per call is what InfluxDB recommends; larger
   * batches are sent in several requests). Idempotent: a point whose device, metric and time are
   * already stored replaces the stored value, so a failed batch can simply be written again.
   */
  void write(List<Point> points);

  /**
   * The device's points with {@code start <= time < stop}, in time order and, at the same time,
   * by metric name; all metrics unless one is named.
   */
  default List<MetricSample> query(String deviceId, Instant start, Instant stop, Optional<String> metric) {
    return query(deviceId, start, stop, metric, Integer.MAX_VALUE);
  }

  /** The same, at most the first {@code maxRows} of them: what a reader holds in memory is bounded. */
  List<MetricSample> query(String deviceId, Instant start, Instant stop, Optional<String> metric, int maxRows);

  /**
   * Returns once every write that returned before this call can be read back (at most after
   * {@code max}; false then). InfluxDB answers a write once it is readable; a store that applies
   * writes later (QuestDB's WAL) waits here.
   */
  default boolean awaitWrites(java.time.Duration max) {
    return true;
  }

  /** Returns when the store answers; throws {@link TimeSeriesException} when it does not. */
  void ping();

  @Override
  void close();
}
