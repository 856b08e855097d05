package io.iotmeter.energy;

import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.SharedStores;
import io.iotmeter.support.TestCluster;
import io.iotmeter.support.TestMeter;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two clustered nodes that both deploy the energy verticle, on shared stores: one compiles, the
 * other stands by, every period has one version; when the compiling node leaves, the other takes
 * over and late data makes version 2 — once.
 */
@Timeout(240)
class EnergyClusterTest {

  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Instant BASE = Instant.parse("2026-03-02T06:00:00Z");
  private static final List<String> METERS = List.of("ecl-1", "ecl-2", "ecl-3");

  private final TestCluster cluster = new TestCluster(2);
  private final List<RunningPlatform> nodes = new ArrayList<>();
  private SharedStores stores;
  private Vertx devices;

  @BeforeEach
  void setUp() {
    stores = new SharedStores();
    devices = Vertx.vertx();
  }

  @AfterEach
  void tearDown() {
    nodes.forEach(RunningPlatform::close);
    devices.close().await();
    stores.close();
  }

  private RunningPlatform start(int index) {
    JsonObject config = cluster.node(stores.apply(RunningPlatform.ingestConfig()), index, "ingest,api");
    config.getJsonObject("energy").put("period_s", 10).put("grace_s", 2).put("late_settle_s", 1).put("compile_interval_ms", 100);
    config.getJsonObject("sinks").getJsonObject("timeseries").put("linger_ms", 100);
    RunningPlatform node = RunningPlatform.start(config);
    nodes.add(node);
    return node;
  }

  private long rows(String sql) {
    return TestPostgres.count(stores.postgres(), sql);
  }

  /** Versions this node's energy verticle wrote, from its /metrics. */
  private static double compiledOn(RunningPlatform node) {
    return node.get("/metrics").body().lines().filter(l -> l.startsWith("iot_meter_energy_periods_compiled_total{"))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  private static void send(TestMeter meter, String deviceId, long seq, Instant from, Instant to) {
    TractionProfile profile = new TractionProfile(deviceId, BASE);
    List<Instant> times = TractionProfile.seconds(from, to);
    meter.send("iot/" + deviceId + "/telemetry", profile.datagram(seq, times.get(times.size() - 1).plusMillis(200), times, true, 10), 1);
  }

  @Test
  void oneNodeCompilesEachPeriodOnceAndTheOtherTakesOverWhenItLeaves() {
    RunningPlatform first = start(0);
    RunningPlatform second = start(1);
    // Three meters, each with three periods (and the edges of the one before and after).
    for (String id : METERS) {
      try (TestMeter meter = TestMeter.connect(devices, first.mqttPort(), id, true)) {
        send(meter, id, 1, BASE.minusSeconds(1), BASE.plusSeconds(9));
        send(meter, id, 2, BASE.plusSeconds(9), BASE.plusSeconds(19));
        send(meter, id, 3, BASE.plusSeconds(19), BASE.plusSeconds(31));
      }
    }
    String inRange = "FROM energy_periods WHERE device_id LIKE 'ecl-%' AND period_start >= '" + BASE + "' AND period_start < '"
        + BASE.plusSeconds(30) + "'";
    Eventually.within(WAIT, () -> assertThat(rows("SELECT count(DISTINCT (device_id, period_start)) " + inRange)).isEqualTo(9));
    // Both nodes had the chance to compile the same periods: still one version each.
    assertThat(rows("SELECT count(*) " + inRange)).isEqualTo(9);
    assertThat(rows("SELECT count(*) FROM (SELECT 1 FROM energy_periods GROUP BY device_id, period_start HAVING count(*) > 1) d"))
        .isZero();
    double onFirst = compiledOn(first);
    double onSecond = compiledOn(second);
    assertThat(onFirst * onSecond).as("one node compiles, the other stands by (%s, %s)", onFirst, onSecond).isZero();
    assertThat(onFirst + onSecond).isGreaterThanOrEqualTo(9);

    // The compiling node leaves; the other takes over the lock, and late data for a compiled
    // period (a second's reading it had not had: the register reading at 4.5 s) makes version 2.
    RunningPlatform holder = onFirst > 0 ? first : second;
    RunningPlatform other = holder == first ? second : first;
    nodes.remove(holder);
    holder.close();
    try (TestMeter meter = TestMeter.connect(devices, other.mqttPort(), "ecl-1", true)) {
      TractionProfile profile = new TractionProfile("ecl-1", BASE);
      Instant late = BASE.plusMillis(4_500);
      JsonObject datagram = profile.datagram(4, BASE.plusSeconds(40), List.of(late), true, 10);
      // An extra reading in the middle does not change registers' difference: make it a position fix as well.
      datagram.getJsonArray("measurements").add(TractionProfile.sample(BASE.plusSeconds(9).plusMillis(500), "latitude", 48.1, "deg"))
          .add(TractionProfile.sample(BASE.plusSeconds(9).plusMillis(500), "longitude", 11.5, "deg"));
      meter.send("iot/ecl-1/telemetry", datagram, 1);
    }
    Eventually.within(WAIT, () -> {
      JsonArray versions = other.get("/api/devices/ecl-1/energy-periods/" + BASE + "/versions").array();
      assertThat(versions).hasSize(2);
      assertThat(versions.getJsonObject(1).getString("reason")).isEqualTo("late_data");
      assertThat(versions.getJsonObject(1).getDouble("latitude")).isEqualTo(48.1);
    });
    assertThat(rows("SELECT count(*) " + inRange)).isEqualTo(10);
    assertThat(compiledOn(other)).isGreaterThanOrEqualTo(1);
  }
}
