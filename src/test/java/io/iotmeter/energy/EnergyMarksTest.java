package io.iotmeter.energy;

import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.protocol.Category;
import io.iotmeter.support.MigratedDatabase;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Which periods a stored batch marks as due, and what it records of the meter's clock and
 * restarts; then the marks and versions in a real database (append-only, one version per key).
 */
class EnergyMarksTest {

  @RegisterExtension
  final MigratedDatabase db = new MigratedDatabase("energy-marks-test");

  private static final EnergySettings SETTINGS = new EnergySettings(true, Duration.ofSeconds(300), Duration.ofSeconds(60),
      Duration.ofSeconds(10), Duration.ofSeconds(5), 500, Duration.ofDays(35));
  private static final Instant P0 = Instant.parse("2026-05-04T10:00:00Z");

  /** A datagram with one current sample per instant, stamped at its last sample, received {@code delayMs} later. */
  private static AcceptedMessage datagram(String device, int epoch, long seq, long delayMs, Instant... samples) {
    io.vertx.core.json.JsonArray measurements = new io.vertx.core.json.JsonArray();
    for (Instant t : samples) {
      measurements.add(new JsonObject().put("ts", t.toString()).put("type", "current_dc").put("val", 1.0).put("unit", "A"));
    }
    Instant ts = samples[samples.length - 1];
    String payload = new JsonObject().put("v", 2).put("device_id", device).put("ts", ts.toString()).put("seq", seq)
        .put("msg_type", "telemetry").put("measurements", measurements).encode();
    return new AcceptedMessage(seq, device, Category.TELEMETRY, epoch, seq, ts, ts.plusMillis(delayMs),
        "iot/" + device + "/telemetry", "endpoint", payload);
  }

  @Test
  void aMetersPeriodIsMarkedOnceDueAtItsEndPlusTheGraceNotForEveryDatagram() {
    EnergyMarks marks = new EnergyMarks(SETTINGS);
    Instant now = P0.plusSeconds(20);
    List<EnergyMarks.Mark> first = marks.marksOf(List.of(datagram("m", 0, 1, 80, P0.plusSeconds(1), P0.plusSeconds(2)),
        datagram("m", 0, 2, 90, P0.plusSeconds(12))), now);
    assertThat(first).hasSize(1);
    assertThat(first.get(0).periodStart()).isEqualTo(P0);
    assertThat(first.get(0).dueAt()).isEqualTo(P0.plusSeconds(360));
    assertThat(first.get(0).minDelayMs()).isEqualTo(80);
    assertThat(marks.marksOf(List.of(datagram("m", 0, 3, 85, P0.plusSeconds(22))), now)).as("nothing new").isEmpty();
    assertThat(marks.marksOf(List.of(datagram("m", 0, 4, -2_500, P0.plusSeconds(32))), now))
        .as("a clock observation that changed").singleElement().extracting(EnergyMarks.Mark::minDelayMs).isEqualTo(-2_500L);
    // A datagram across a boundary: the period already marked is not written again, the next one is new.
    assertThat(marks.marksOf(List.of(datagram("m", 0, 5, 80, P0.plusSeconds(299), P0.plusSeconds(301))), now))
        .extracting(EnergyMarks.Mark::periodStart).containsExactly(P0.plusSeconds(300));
    assertThat(new EnergyMarks(SETTINGS).marksOf(List.of(datagram("n", 0, 1, 80, P0.plusSeconds(299), P0.plusSeconds(301))), now))
        .extracting(EnergyMarks.Mark::periodStart).containsExactly(P0, P0.plusSeconds(300));
  }

  @Test
  void lateDataMarksItsPeriodDueSoonAfterItArrivedEveryTime() {
    EnergyMarks marks = new EnergyMarks(SETTINGS);
    Instant now = P0.plusSeconds(3_600);
    List<EnergyMarks.Mark> late = marks.marksOf(List.of(datagram("m", 0, 1, 3_000_000, P0.plusSeconds(5))), now);
    assertThat(late).singleElement().satisfies(m -> assertThat(m.dueAt()).isEqualTo(now.plusSeconds(10)));
    assertThat(marks.marksOf(List.of(datagram("m", 0, 2, 3_000_000, P0.plusSeconds(6))), now.plusSeconds(1)))
        .as("each late datagram moves the compilation on").singleElement()
        .satisfies(m -> assertThat(m.dueAt()).isEqualTo(now.plusSeconds(11)));
  }

  @Test
  void aRestartIsRecordedAtTheFirstSampleOfTheNewEpochAndAClockSetBackIsNoted() {
    EnergyMarks marks = new EnergyMarks(SETTINGS);
    Instant now = P0.plusSeconds(30);
    marks.marksOf(List.of(datagram("m", 0, 7, 80, P0.plusSeconds(10))), now);
    List<EnergyMarks.Mark> restarted = marks.marksOf(List.of(datagram("m", 1, 1, 80, P0.plusSeconds(14), P0.plusSeconds(15))), now);
    assertThat(restarted).singleElement().satisfies(m -> {
      assertThat(m.resets()).containsExactly(P0.plusSeconds(14));
      assertThat(m.setBack()).as("an earlier time in a new epoch is not a clock set back").isFalse();
    });
    List<EnergyMarks.Mark> setBack = marks.marksOf(List.of(datagram("m", 1, 2, 80, P0.plusSeconds(11))), now);
    assertThat(setBack).singleElement().satisfies(m -> assertThat(m.setBack()).isTrue());
    assertThat(marks.marksOf(List.of(datagram("m", 1, 3, 80, P0.plusSeconds(12))), now)).as("noted once").isEmpty();
  }

  @Test
  void messagesWithoutBillingInputsMarkNothing() {
    EnergyMarks marks = new EnergyMarks(SETTINGS);
    String payload = new JsonObject().put("v", 2).put("device_id", "m").put("ts", P0.toString()).put("seq", 1)
        .put("msg_type", "telemetry").put("measurements", new io.vertx.core.json.JsonArray().add(new JsonObject()
            .put("ts", P0.toString()).put("type", "temperature").put("val", 21.5))).encode();
    AcceptedMessage temperature = new AcceptedMessage(1, "m", Category.TELEMETRY, 0, 1L, P0, P0, "iot/m/telemetry", "endpoint", payload);
    assertThat(marks.marksOf(List.of(temperature), P0)).isEmpty();
  }

  @Test
  void pruningForgetsOldCompiledMarksButNeverAMetersFirstNorOneStillDue() {
    Instant old = Instant.parse("2020-01-01T00:00:00Z");
    EnergyMarks marks = new EnergyMarks(SETTINGS);
    marks.record(db.pool(), List.of(datagram("m", 0, 1, 80, old), datagram("m", 0, 2, 80, old.plusSeconds(300)),
        datagram("m", 0, 3, 80, old.plusSeconds(600)))).await();
    // The first two compiled, the third still due.
    db.pool().query("UPDATE energy_period_state SET due_at = NULL WHERE period_start < '2020-01-01T00:10:00Z'").execute().await();
    assertThat(EnergyStore.prune(db.pool(), Duration.ofDays(35)).await()).isEqualTo(1);
    assertThat(TestPostgres.count(db.postgres(), "SELECT count(*) FROM energy_period_state WHERE device_id = 'm'")).isEqualTo(2);
    assertThat(TestPostgres.count(db.postgres(), "SELECT count(*) FROM energy_period_state WHERE period_start = '" + old + "'"))
        .as("the meter's first period stays").isEqualTo(1);
  }

  @Test
  void marksMergeInTheDatabaseAndVersionsAreAppendOnlyWithOneRowPerNumber() {
    EnergyMarks marks = new EnergyMarks(SETTINGS);
    marks.record(db.pool(), List.of(datagram("m", 0, 1, 500, P0.plusSeconds(1)))).await();
    new EnergyMarks(SETTINGS).record(db.pool(), List.of(datagram("m", 0, 2, 120, P0.plusSeconds(2)))).await();
    assertThat(TestPostgres.count(db.postgres(), "SELECT min_delay_ms FROM energy_period_state WHERE device_id = 'm'")).isEqualTo(120);

    EnergyPeriod period = new EnergyPeriod(P0, P0.plusSeconds(300), 1.5, 0.25, 0, 0, null, null, null, 100.0,
        EnergyPeriod.Source.REGISTER, EnergyPeriod.TimeQuality.VALID, EnergyPeriod.EnergyQuality.MEASURED,
        EnergyPeriod.LocationQuality.NONE);
    EnergyVersion v1 = new EnergyVersion("m", "m", null, period, 1, EnergyVersion.INITIAL, Instant.now(), 0);
    List<EnergyStore.Due> due = EnergyStore.due(db.pool(), 10).await();
    assertThat(due).isEmpty(); // due at the period's end plus the grace, in 2026: not yet
    assertThat(db.pool().withTransaction(tx -> EnergyStore.commit(tx, List.of(v1), List.of())).await()).containsExactly(v1);
    // A second compiler with the same version number writes nothing.
    assertThat(db.pool().withTransaction(tx -> EnergyStore.commit(tx, List.of(v1), List.of())).await()).isEmpty();
    assertThat(EnergyStore.versionsOf(db.pool(), "m", P0).await()).singleElement()
        .satisfies(v -> assertThat(v.sameAs("m", null, period)).isTrue());
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> db.pool().query("UPDATE energy_periods SET active_import_kwh = 0")
        .execute().await()).hasMessageContaining("append-only");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> db.pool().query("DELETE FROM energy_periods").execute().await())
        .hasMessageContaining("append-only");
  }
}
