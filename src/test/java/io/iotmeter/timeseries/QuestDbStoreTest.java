package io.iotmeter.timeseries;

import io.iotmeter.embedded.EmbeddedQuestDb;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.FreePorts;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The embedded profile's store against a real QuestDB in this JVM. Each test writes its own
 * device, so tests share one server without seeing each other's points.
 */
@Timeout(120)
class QuestDbStoreTest {

  /** QuestDB applies its write-ahead log asynchronously: a write becomes visible within this. */
  private static final Duration VISIBLE_WITHIN = Duration.ofSeconds(10);
  private static final Instant T0 = Instant.parse("2026-02-12T10:00:00Z");

  @TempDir
  static Path dataDir;
  private static EmbeddedQuestDb questDb;
  private static QuestDbStore store;

  @BeforeAll
  static void startQuestDb() {
    questDb = EmbeddedQuestDb.start(dataDir.resolve("questdb"), FreePorts.next(), FreePorts.next());
    store = open(questDb);
  }

  @AfterAll
  static void stopQuestDb() {
    store.close();
    questDb.close();
  }

  @Test
  void returnsExactlyTheWrittenBatchInTimeOrder() {
    List<Point> batch = new ArrayList<>(dcDatagram("dc-meter-101", 0));
    batch.add(new Point("dc-meter-101", "pf", null, 0.97, T0.plusMillis(4_500)));

    store.write(batch);

    List<MetricSample> samples = awaitCount("dc-meter-101", 21);
    assertThat(samples).containsExactlyElementsOf(expectedSamples(batch));
    assertThat(samples.get(0)).isEqualTo(new MetricSample(T0, "dc-meter-101", "current_dc", 300.0));
    assertThat(samples.get(1)).isEqualTo(new MetricSample(T0, "dc-meter-101", "voltage_dc", 750.3));
    assertThat(samples.get(10)).isEqualTo(new MetricSample(T0.plusMillis(4_500), "dc-meter-101", "pf", 0.97));
  }

  @Test
  void filtersOnTheMetric() {
    List<Point> batch = dcDatagram("dc-meter-102", 0);
    store.write(batch);
    awaitCount("dc-meter-102", 20);

    List<MetricSample> current = store.query("dc-meter-102", T0, T0.plusSeconds(60), Optional.of("current_dc"));

    assertThat(current).hasSize(10).allSatisfy(s -> assertThat(s.metric()).isEqualTo("current_dc"));
    assertThat(current).extracting(MetricSample::value)
        .containsExactly(300.0, 301.25, 302.5, 303.75, 305.0, 306.25, 307.5, 308.75, 310.0, 311.25);
    assertThat(store.query("dc-meter-102", T0, T0.plusSeconds(60), Optional.of("voltage_ac"))).isEmpty();
  }

  @Test
  void keepsStartAndLeavesOutStop() {
    String device = "dc-meter-103";
    Instant stop = T0.plusSeconds(5);
    store.write(List.of(
        new Point(device, "voltage_dc", "V", 1, T0.minusNanos(1_000)),
        new Point(device, "voltage_dc", "V", 2, T0),
        new Point(device, "voltage_dc", "V", 3, stop.minusNanos(1_000)),
        new Point(device, "voltage_dc", "V", 4, stop)));
    awaitCount(device, 4);

    assertThat(store.query(device, T0, stop, Optional.empty())).extracting(MetricSample::value).containsExactly(2.0, 3.0);
    // Bounds finer than the stored microseconds still split exactly (rounding them to the
    // nearest microsecond, as the JDBC driver would, gets both of these wrong).
    assertThat(store.query(device, T0.minusNanos(999), stop.minusNanos(999), Optional.empty()))
        .extracting(MetricSample::value).containsExactly(2.0, 3.0);
    assertThat(store.query(device, T0.minusNanos(1_001), stop.minusNanos(1_001), Optional.empty()))
        .extracting(MetricSample::value).containsExactly(1.0, 2.0);
  }

  @Test
  void writingTheSameBatchAgainKeepsOnePointPerDeviceMetricAndTime() {
    String device = "dc-meter-104";
    List<Point> batch = dcDatagram(device, 0);
    store.write(batch);
    store.write(batch);
    // The log is applied in order: once this later write is visible, so are both batches.
    Point marker = new Point(device, "marker", null, 1, T0.plusSeconds(59));
    store.write(List.of(marker));

    List<MetricSample> samples = awaitMarker(device);
    assertThat(samples).hasSize(21);
    assertThat(samples.subList(0, 20)).containsExactlyElementsOf(expectedSamples(batch));

    // A repeated point with a new value replaces the old one (upsert).
    store.write(dcDatagram(device, 1_000));
    List<MetricSample> replaced = Eventually.value(VISIBLE_WITHIN, () -> queryAll(device),
        s -> s.get(0).value() == 1_300.0);
    assertThat(replaced).hasSize(21);
    assertThat(replaced.subList(0, 20)).containsExactlyElementsOf(expectedSamples(dcDatagram(device, 1_000)));
  }

  @Test
  void aTableThatAnEarlierWriteCreatedGetsDeduplicationToo(@TempDir Path dir) {
    List<Point> batch = dcDatagram("dc-meter-107", 0);
    try (EmbeddedQuestDb server = EmbeddedQuestDb.start(dir, 0, 0)) {
      // Line protocol creates the table itself when it is missing, without deduplication.
      try (InfluxV2Endpoint lineProtocol = new InfluxV2Endpoint("QuestDB", "http://127.0.0.1:" + server.httpPort(),
          "iot-org", "iot-metrics", "unused", false)) {
        lineProtocol.write(batch);
      }
      try (QuestDbStore late = open(server)) {
        late.write(batch);
        late.write(List.of(new Point("dc-meter-107", "marker", null, 1, T0.plusSeconds(59))));

        // Counted once the marker, written last, is visible: the log is applied in order, so both batches are too.
        List<MetricSample> samples = Eventually.value(VISIBLE_WITHIN, () -> queryAll(late, "dc-meter-107"), QuestDbStoreTest::hasMarker);
        assertThat(samples).hasSize(21);
        assertThat(samples.subList(0, 20)).containsExactlyElementsOf(expectedSamples(batch));
      }
    }
  }

  @Test
  void parametersAreBoundNotPastedIntoTheSql() {
    String quoted = "it's-meter-7";
    store.write(List.of(new Point(quoted, "voltage_dc", "V", 700, T0)));
    awaitCount(quoted, 1);

    assertThat(queryAll(quoted)).containsExactly(new MetricSample(T0, quoted, "voltage_dc", 700.0));
    assertThat(store.query("x' OR '1'='1", T0, T0.plusSeconds(60), Optional.empty())).isEmpty();
    assertThat(store.query(quoted, T0, T0.plusSeconds(60), Optional.of("v' OR '1'='1"))).isEmpty();
  }

  @Test
  void aRestartOnTheSameDirectoryFindsTheData(@TempDir Path dir) {
    List<Point> batch = dcDatagram("dc-meter-105", 0);
    try (EmbeddedQuestDb first = EmbeddedQuestDb.start(dir, 0, 0); QuestDbStore firstStore = open(first)) {
      firstStore.write(batch);
      assertThat(Eventually.value(VISIBLE_WITHIN, () -> queryAll(firstStore, "dc-meter-105"), s -> s.size() == 20)).hasSize(20);
    }

    try (EmbeddedQuestDb second = EmbeddedQuestDb.start(dir, 0, 0); QuestDbStore secondStore = open(second)) {
      assertThat(queryAll(secondStore, "dc-meter-105")).containsExactlyElementsOf(expectedSamples(batch));
    }
  }

  @Test
  void aStoppedServerFailsQuicklyWithATimeSeriesException(@TempDir Path dir) {
    EmbeddedQuestDb server = EmbeddedQuestDb.start(dir, 0, 0);
    try (QuestDbStore stranded = open(server)) {
      stranded.ping();
      server.close();

      long start = System.nanoTime();
      assertThatThrownBy(() -> stranded.write(dcDatagram("dc-meter-106", 0)))
          .isInstanceOfSatisfying(TimeSeriesException.class, e -> assertThat(e.retryable()).isTrue())
          .hasMessageStartingWith("QuestDB at http://127.0.0.1:" + server.httpPort() + ": Writing 20 points")
          .hasMessageContaining("Connection refused");
      assertThatThrownBy(() -> stranded.query("dc-meter-106", T0, T0.plusSeconds(60), Optional.empty()))
          .isInstanceOfSatisfying(TimeSeriesException.class, e -> assertThat(e.retryable()).isTrue())
          .hasMessageStartingWith("QuestDB at jdbc:postgresql://127.0.0.1:" + server.pgPort() + "/qdb: Querying dc-meter-106 failed");
      assertThatThrownBy(stranded::ping).isInstanceOf(TimeSeriesException.class);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
    }
  }

  @Test
  void measuresTheWriteRate() {
    String device = "dc-meter-rate";
    int calls = 10;
    int perCall = 5_000;
    List<List<Point>> batches = new ArrayList<>();
    for (int call = 0; call < calls; call++) {
      List<Point> batch = new ArrayList<>(perCall);
      for (int i = 0; i < perCall; i++) {
        int n = call * perCall + i;
        batch.add(new Point(device, n % 2 == 0 ? "voltage_dc" : "current_dc", n % 2 == 0 ? "V" : "A", 700 + n % 100,
            T0.plusMillis(n / 2 * 100L)));
      }
      batches.add(batch);
    }

    long start = System.nanoTime();
    batches.forEach(store::write);
    long writeNanos = System.nanoTime() - start;
    List<MetricSample> all = Eventually.value(Duration.ofSeconds(30),
        () -> store.query(device, T0, T0.plus(Duration.ofHours(2)), Optional.empty()), s -> s.size() == calls * perCall);
    long visibleNanos = System.nanoTime() - start;

    System.out.printf("QuestDB write rate: %,.0f points/s (%,d points in %d calls of %,d: %d ms; all queryable after %d ms)%n",
        calls * perCall / (writeNanos / 1e9), calls * perCall, calls, perCall, writeNanos / 1_000_000, visibleNanos / 1_000_000);
    assertThat(all).hasSize(calls * perCall);
    assertThat(all).isSortedAccordingTo(InfluxDbStore.TIME_THEN_METRIC);
  }

  /** A default DC datagram: 10 voltage and 10 current samples one second apart. */
  private static List<Point> dcDatagram(String device, double offset) {
    List<Point> points = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      points.add(new Point(device, "voltage_dc", "V", offset + 750.3 + i * 0.5, T0.plusSeconds(i)));
      points.add(new Point(device, "current_dc", "A", offset + 300 + i * 1.25, T0.plusSeconds(i)));
    }
    return points;
  }

  private static List<MetricSample> expectedSamples(List<Point> points) {
    return points.stream()
        .map(p -> new MetricSample(p.time(), p.deviceId(), p.metric(), p.value()))
        .sorted(Comparator.comparing(MetricSample::time).thenComparing(MetricSample::metric))
        .toList();
  }

  private static boolean hasMarker(List<MetricSample> samples) {
    return samples.stream().anyMatch(s -> s.metric().equals("marker"));
  }

  /**
   * The device's points once the {@code marker} point, written after everything else, is visible:
   * QuestDB applies its log in order, so every earlier write is applied too and the count is exact
   * (waiting for a count would stop at the first sample that reached it, before a second copy).
   */
  private static List<MetricSample> awaitMarker(String device) {
    List<MetricSample> samples = Eventually.value(VISIBLE_WITHIN, () -> queryAll(device), QuestDbStoreTest::hasMarker);
    assertThat(samples).as("the marker of %s visible within %s", device, VISIBLE_WITHIN).anyMatch(s -> s.metric().equals("marker"));
    return samples;
  }

  /**
   * The device's points once {@code count} are visible — for a test that wrote them in one call:
   * one write is one transaction of the log, visible whole or not at all, so nothing more can
   * follow. (A test that writes more than once waits for a marker written last: {@link #awaitMarker}.)
   */
  private static List<MetricSample> awaitCount(String device, int count) {
    Predicate<List<MetricSample>> complete = s -> s.size() >= count;
    List<MetricSample> samples = Eventually.value(VISIBLE_WITHIN, () -> queryAll(device), complete);
    assertThat(samples).as("points of %s visible within %s", device, VISIBLE_WITHIN).hasSize(count);
    return samples;
  }

  private static List<MetricSample> queryAll(String device) {
    return queryAll(store, device);
  }

  private static List<MetricSample> queryAll(TimeSeriesStore from, String device) {
    return from.query(device, T0.minusSeconds(60), T0.plusSeconds(60), Optional.empty());
  }

  private static QuestDbStore open(EmbeddedQuestDb server) {
    return QuestDbStore.open("127.0.0.1", server.httpPort(), server.pgPort(), server.user(), server.password());
  }
}
