package io.iotmeter.timeseries;

import com.influxdb.query.FluxRecord;
import com.influxdb.query.FluxTable;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The production store: InfluxDB 2.x through its v2 HTTP API, with token authentication.
 * Writes are line protocol at nanosecond precision, gzip-compressed unless the server is on this
 * machine ({@code timeseries.influxdb.gzip}); queries are Flux.
 */
public final class InfluxDbStore implements TimeSeriesStore {

  static final Comparator<MetricSample> TIME_THEN_METRIC =
      Comparator.comparing(MetricSample::time).thenComparing(MetricSample::metric);

  private final InfluxV2Endpoint endpoint;
  private final String org;
  private final String bucket;

  /**
   * Creates the client; nothing is sent until the first call.
   *
   * @param url    for example {@code http://influxdb:8086}
   * @param org    {@code iot-org} in the reference setup
   * @param bucket {@code iot-metrics} in the reference setup
   * @param token  an API token with write and read permission on the bucket
   * @param gzip   compress writes (worth it over a network; on loopback it only costs CPU on both sides)
   */
  public InfluxDbStore(String url, String org, String bucket, String token, boolean gzip) {
    this.endpoint = new InfluxV2Endpoint("InfluxDB", url, org, bucket, token, gzip);
    this.org = org;
    this.bucket = bucket;
  }

  @Override
  public void write(List<Point> points) {
    endpoint.write(points);
  }

  @Override
  public List<MetricSample> query(String deviceId, Instant start, Instant stop, Optional<String> metric, int maxRows) {
    String flux = FluxQuery.forDevice(bucket, deviceId, start, stop, metric, maxRows);
    List<FluxTable> tables;
    try {
      tables = endpoint.client().getQueryApi().query(flux, org);
    } catch (RuntimeException e) {
      throw endpoint.failure("Querying " + deviceId + " in bucket " + bucket, e);
    }
    List<MetricSample> samples = new ArrayList<>();
    for (FluxTable table : tables) {
      for (FluxRecord record : table.getRecords()) {
        samples.add(sample(record, deviceId));
      }
    }
    // One table per series, each in time order: merge them (TimSort runs in linear time here).
    samples.sort(TIME_THEN_METRIC);
    // The query cut the whole answer at maxRows; a server that did not is cut here.
    return samples.size() > maxRows ? new ArrayList<>(samples.subList(0, maxRows)) : samples;
  }

  private static MetricSample sample(FluxRecord record, String deviceId) {
    if (record.getValue() instanceof Number value && record.getValueByKey("metric") instanceof String metric
        && record.getTime() != null) {
      return new MetricSample(record.getTime(), deviceId, metric, value.doubleValue());
    }
    throw new TimeSeriesException("InfluxDB returned a row without _time, numeric _value and metric: "
        + record.getValues(), false, null);
  }

  @Override
  public void ping() {
    endpoint.ping();
  }

  @Override
  public void close() {
    endpoint.close();
  }
}
