package io.iotmeter.sink;

import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.protocol.Category;
import io.iotmeter.support.Datagrams;
import io.iotmeter.timeseries.MetricSample;
import io.iotmeter.timeseries.Point;
import io.iotmeter.timeseries.TimeSeriesStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The time-series writer against a fake store: every sample and the power derived from it is
 * written, in requests of at most {@code maxPoints}; a message that cannot be made into points is
 * refused by its journal id with nothing written; a store failure is a failure, not a refusal (it
 * is retried, never quarantined). Until now only the end-to-end tests (StoredDataTest,
 * StoreOutageTest) ran this class; mutation testing found none of its lines covered otherwise.
 */
@Timeout(20)
class TimeSeriesWriterTest {

  private final Vertx vertx = Vertx.vertx();
  private final WorkerExecutor workers = vertx.createSharedWorkerExecutor("time-series-writer-test", 1);
  private final List<List<Point>> requests = new CopyOnWriteArrayList<>();
  private volatile RuntimeException failure;

  private final TimeSeriesStore store = new TimeSeriesStore() {
    @Override
    public void write(List<Point> points) {
      if (failure != null) {
        throw failure;
      }
      requests.add(List.copyOf(points));
    }

    @Override
    public List<MetricSample> query(String deviceId, Instant start, Instant stop, Optional<String> metric, int maxRows) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void ping() {
    }

    @Override
    public void close() {
    }
  };

  @AfterEach
  void close() {
    workers.close().await();
    vertx.close().await();
  }

  private TimeSeriesWriter writer(int maxPoints) {
    return new TimeSeriesWriter(store, workers, maxPoints, new SimpleMeterRegistry().timer("test"), null, null);
  }

  private static AcceptedMessage message(long journalId, String deviceId, JsonObject payload) {
    return new AcceptedMessage(journalId, deviceId, Category.TELEMETRY, 0, payload.getLong("seq"), Datagrams.T0, Datagrams.T0,
        "iot/" + deviceId + "/telemetry", "endpoint", payload.encode());
  }

  @Test
  void everySampleAndItsDerivedPowerIsWrittenInRequestsOfAtMostMaxPoints() {
    // Each message: voltage and current, and the power derived from them.
    List<AcceptedMessage> batch = List.of(message(1, "dc-meter-001", Datagrams.telemetry("dc-meter-001", 1)),
        message(2, "dc-meter-002", Datagrams.telemetry("dc-meter-002", 2)));
    writer(4).write(batch).await();

    assertThat(requests).extracting(List::size).containsExactly(4, 2);
    List<Point> written = new ArrayList<>();
    requests.forEach(written::addAll);
    assertThat(written).extracting(Point::deviceId)
        .containsExactly("dc-meter-001", "dc-meter-001", "dc-meter-001", "dc-meter-002", "dc-meter-002", "dc-meter-002");
    assertThat(written).extracting(Point::metric).containsExactly("voltage_dc", "current_dc", "power_active",
        "voltage_dc", "current_dc", "power_active");
    assertThat(written.get(0).value()).isEqualTo(751.0);
    assertThat(written.get(2).value()).isEqualTo(751.0 * 301.0);
    assertThat(written.get(0).time()).isEqualTo(Datagrams.T0.plusSeconds(9));

    requests.clear();
    writer(6).write(batch).await();
    assertThat(requests).extracting(List::size).as("exactly maxPoints: one request").containsExactly(6);
  }

  @Test
  void aMessageThatCannotBeMadeIntoPointsIsRefusedByItsJournalIdAndNothingIsWritten() {
    AcceptedMessage good = message(1, "dc-meter-001", Datagrams.telemetry("dc-meter-001", 1));
    AcceptedMessage bad = new AcceptedMessage(2, "dc-meter-001", Category.TELEMETRY, 0, 2L, Datagrams.T0, Datagrams.T0,
        "iot/dc-meter-001/telemetry", "endpoint", "{not json");
    assertThatThrownBy(() -> writer(100).write(List.of(good, bad)).await())
        .isInstanceOfSatisfying(SinkRefusal.class, refusal -> assertThat(refusal.offenders()).containsOnlyKeys(2L));
    assertThat(requests).isEmpty();
  }

  @Test
  void telemetryWithoutMeasurementsWritesNoRequest() {
    JsonObject empty = Datagrams.telemetry("dc-meter-001", 1).put("measurements", new JsonArray());
    writer(100).write(List.of(message(1, "dc-meter-001", empty))).await();
    assertThat(requests).isEmpty();
  }

  @Test
  void aStoreThatFailsFailsTheWriteWithoutRefusingAnyMessage() {
    failure = new IllegalStateException("connection refused");
    assertThatThrownBy(() -> writer(100).write(List.of(message(1, "dc-meter-001", Datagrams.telemetry("dc-meter-001", 1)))).await())
        .isNotInstanceOf(SinkRefusal.class).hasMessageContaining("connection refused");
  }
}
