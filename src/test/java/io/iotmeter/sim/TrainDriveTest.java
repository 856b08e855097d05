package io.iotmeter.sim;

import io.iotmeter.derived.EnergyIntegrator;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The simulated train: a driving cycle that draws and feeds back, registers that match the power it reports, a moving position. */
class TrainDriveTest {

  private static Map<String, Double> values(List<JsonObject> entries) {
    Map<String, Double> values = new HashMap<>();
    entries.forEach(e -> values.put(e.getString("type"), e.getDouble("val")));
    return values;
  }

  @Test
  void eachLegAcceleratesCruisesCoastsBrakesWithRegenerationAndStands() {
    // The second leg (from 240 s): 180 s of cruising, 90 s at the station.
    double leg = 240;
    assertThat(TrainDrive.trainWatts(leg + 30)).isGreaterThan(2e6);
    assertThat(TrainDrive.trainWatts(leg + 150)).isBetween(0.7e6, 1.1e6);
    assertThat(TrainDrive.speed(leg + 150)).isEqualTo(44.0);
    assertThat(TrainDrive.trainWatts(leg + 266)).isBetween(0.0, 0.1e6);
    assertThat(TrainDrive.trainWatts(leg + 298)).isLessThan(-1e6);
    assertThat(TrainDrive.trainWatts(leg + 373)).isBetween(0.0, 0.1e6);
    assertThat(TrainDrive.speed(leg + 373)).isZero();
    // Continuous through the whole timetable and back to its start: no step a real train could not make.
    for (double s = 0.5; s <= TrainDrive.CYCLE_S; s += 0.5) {
      assertThat(Math.abs(TrainDrive.trainWatts(s) - TrainDrive.trainWatts(s - 0.5))).as("at %s s", s).isLessThan(0.3e6);
    }
  }

  @Test
  void fiveMinutePeriodsHoldDifferentPartsOfTheTimetable() {
    java.util.Set<Long> energies = new java.util.HashSet<>();
    for (int period = 0; period < 9; period++) {
      double joules = 0;
      for (int s = period * 300; s < period * 300 + 300; s++) {
        joules += Math.max(0, TrainDrive.trainWatts(s));
      }
      energies.add(Math.round(joules / 3.6e6));
    }
    assertThat(energies).as("kWh drawn in nine periods in a row").hasSizeGreaterThan(5);
  }

  @Test
  void theRegistersCountTheEnergyOfThePowerTheMeterReportsAndThePositionMoves() {
    TrainDrive drive = new TrainDrive("ICE-4711", 1, 2);
    Instant start = Instant.parse("2026-12-05T10:00:00Z");
    Map<String, Double> first = values(drive.sample(start, start.toString()));
    Map<String, Double> previous = first;
    double imported = 0;
    double exported = 0;
    boolean moved = false;
    for (int s = 1; s <= 600; s++) {
      Instant t = start.plusSeconds(s);
      Map<String, Double> now = values(drive.sample(t, t.toString()));
      double a = previous.get("voltage_dc") * previous.get("current_dc");
      double b = now.get("voltage_dc") * now.get("current_dc");
      imported += EnergyIntegrator.joules(a, b, 1) / 3_600_000;
      exported += EnergyIntegrator.joules(-a, -b, 1) / 3_600_000;
      assertThat(now.get("register_active_import")).isGreaterThanOrEqualTo(previous.get("register_active_import"));
      assertThat(now.get("register_active_export")).isGreaterThanOrEqualTo(previous.get("register_active_export"));
      moved |= !now.get("latitude").equals(previous.get("latitude"));
      previous = now;
    }
    assertThat(previous.get("register_active_import") - first.get("register_active_import")).isCloseTo(imported, within(1e-4));
    assertThat(previous.get("register_active_export") - first.get("register_active_export")).isCloseTo(exported, within(1e-4));
    assertThat(imported).as("two cycles draw energy").isGreaterThan(10);
    assertThat(exported).as("and feed some back").isGreaterThan(1);
    assertThat(moved).isTrue();
    assertThat(previous.get("latitude")).isBetween(52.5, 53.6);
    assertThat(previous.get("longitude")).isBetween(10.0, 13.4);
  }

  @Test
  void theMetersOfOneTrainAreAtTheSamePlaceInTheSameCycle() {
    Instant t = Instant.parse("2026-12-05T10:02:03Z");
    Map<String, Double> one = values(new TrainDrive("RE-1", 1, 2).sample(t, t.toString()));
    Map<String, Double> two = values(new TrainDrive("RE-1", 2, 2).sample(t, t.toString()));
    assertThat(one.get("latitude")).isEqualTo(two.get("latitude"));
    assertThat(Math.signum(one.get("current_dc"))).isEqualTo(Math.signum(two.get("current_dc")));
  }
}
