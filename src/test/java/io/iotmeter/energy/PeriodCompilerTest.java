package io.iotmeter.energy;

import io.iotmeter.energy.EnergyPeriod.EnergyQuality;
import io.iotmeter.energy.EnergyPeriod.LocationQuality;
import io.iotmeter.energy.EnergyPeriod.Source;
import io.iotmeter.energy.EnergyPeriod.TimeQuality;
import io.iotmeter.energy.PeriodCompiler.Fix;
import io.iotmeter.energy.PeriodCompiler.Inputs;
import io.iotmeter.energy.PeriodCompiler.Point;
import io.iotmeter.energy.PeriodCompiler.Clock;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.Map;
import java.util.function.DoubleUnaryOperator;
import java.util.function.IntPredicate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * A meter with a known power profile: the energy of a five-minute period against the analytic
 * one — within 0.1 % from the registers, within 1 % integrated from power sampled at 1 Hz — and
 * the quality flags for gaps, resets, clock jumps and positions.
 */
class PeriodCompilerTest {

  private static final Instant START = Instant.parse("2026-12-05T10:00:00Z");
  private static final Instant END = START.plusSeconds(300);
  private static final Duration CADENCE = Duration.ofSeconds(1);
  /** A traction profile: 120 s cycles of drawing (up to 1.2 MW) and regenerating, as sin(2πt/120). */
  private static final double PEAK_W = 1_200_000;
  private static final double CYCLE_S = 120;
  private static final DoubleUnaryOperator POWER = t -> PEAK_W * Math.sin(2 * Math.PI * t / CYCLE_S);

  /** ∫ max(±P, 0) from the period's start to {@code t} seconds into it, in kWh (each half cycle holds P·T/π joules). */
  private static double analytic(double t, int sign) {
    double joules = 0;
    double step = 0.001;
    for (double s = 0; s < t; s += step) {
      joules += Math.max(0, sign * POWER.applyAsDouble(s + step / 2)) * step;
    }
    return joules / 3_600_000;
  }

  private static final double IMPORT_KWH = 3 * PEAK_W * CYCLE_S / Math.PI / 3_600_000; // 2.5 cycles: 3 positive halves
  private static final double EXPORT_KWH = 2 * PEAK_W * CYCLE_S / Math.PI / 3_600_000;

  /** Samples every second from 10 s before the period to 10 s after it, except where {@code skip} says. */
  private static List<Point> sampled(DoubleUnaryOperator value, IntPredicate skip) {
    List<Point> points = new ArrayList<>();
    for (int s = -10; s <= 310; s++) {
      if (!skip.test(s)) {
        points.add(new Point(START.plusSeconds(s), value.applyAsDouble(s)));
      }
    }
    return points;
  }

  /** Registers as a meter keeps them: the energy counted since an arbitrary reading (kWh). */
  private static Map<String, List<Point>> registers(IntPredicate skip) {
    double offsetImport = 15_000.123;
    double offsetExport = 4_000.5;
    // analytic(t) for every second once, cumulatively (the integral from -10 s on).
    double[] imports = new double[321];
    double[] exports = new double[321];
    for (int i = 1; i < 321; i++) {
      double a = i - 11;
      imports[i] = imports[i - 1] + analyticStep(a, 1);
      exports[i] = exports[i - 1] + analyticStep(a, -1);
    }
    return Map.of(PeriodCompiler.ACTIVE_IMPORT, sampled(s -> offsetImport + imports[(int) s + 10], skip),
        PeriodCompiler.ACTIVE_EXPORT, sampled(s -> offsetExport + exports[(int) s + 10], skip));
  }

  private static double analyticStep(double from, int sign) {
    double joules = 0;
    double step = 0.0005;
    for (double s = from; s < from + 1; s += step) {
      joules += Math.max(0, sign * POWER.applyAsDouble(s + step / 2)) * step;
    }
    return joules / 3_600_000;
  }

  private static Inputs inputs(Map<String, List<Point>> registers, List<Point> power, List<Fix> fixes, List<Instant> resets,
                               Clock clock) {
    return new Inputs(START, END, CADENCE, registers, power, List.of(), fixes, resets, clock);
  }

  /** Datagrams arriving 80 ms after their time: a clock in step with the platform's. */
  private static Clock onTime() {
    return new Clock(80L, false);
  }

  @Test
  void theAnalyticEnergyIsTheOneWeCompareWith() {
    assertThat(analytic(300, 1)).isCloseTo(IMPORT_KWH, within(IMPORT_KWH * 1e-4));
    assertThat(analytic(300, -1)).isCloseTo(EXPORT_KWH, within(EXPORT_KWH * 1e-4));
  }

  @Test
  void fromRegistersTheEnergyIsWithinATenthOfAPercentAndMeasured() {
    EnergyPeriod period = PeriodCompiler.compile(inputs(registers(s -> false), sampled(POWER, s -> false), List.of(),
        List.of(), onTime()));
    assertThat(period.source()).isEqualTo(Source.REGISTER);
    assertThat(period.activeImportKwh()).isCloseTo(IMPORT_KWH, within(IMPORT_KWH * 0.001));
    assertThat(period.activeExportKwh()).isCloseTo(EXPORT_KWH, within(EXPORT_KWH * 0.001));
    assertThat(period.energy()).isEqualTo(EnergyQuality.MEASURED);
    assertThat(period.time()).isEqualTo(TimeQuality.VALID);
    assertThat(period.coveragePct()).isEqualTo(100.0);
  }

  @Test
  void registersSentEveryTenSecondsAreInterpolatedAtTheBoundaries() {
    // Samples at 7, 17, 27 ... s: no sample on either boundary.
    EnergyPeriod period = PeriodCompiler.compile(new Inputs(START, END, Duration.ofSeconds(10), registers(s -> (s + 3) % 10 != 0),
        List.of(), List.of(), List.of(), List.of(), onTime()));
    assertThat(period.energy()).isEqualTo(EnergyQuality.MEASURED);
    // Linear between samples 10 s apart misses the curve's bend at the two ends only.
    assertThat(period.activeImportKwh()).isCloseTo(IMPORT_KWH, within(IMPORT_KWH * 0.02));
  }

  @Test
  void integratedFromPowerAt1HzTheEnergyIsWithinOnePercentAndEstimated() {
    EnergyPeriod period = PeriodCompiler.compile(inputs(Map.of(), sampled(POWER, s -> false), List.of(), List.of(), onTime()));
    assertThat(period.source()).isEqualTo(Source.INTEGRATED);
    assertThat(period.activeImportKwh()).isCloseTo(IMPORT_KWH, within(IMPORT_KWH * 0.01));
    assertThat(period.activeExportKwh()).isCloseTo(EXPORT_KWH, within(EXPORT_KWH * 0.01));
    assertThat(period.energy()).isEqualTo(EnergyQuality.ESTIMATED);
    assertThat(period.coveragePct()).isEqualTo(100.0);
  }

  @Test
  void aGapInThePowerIsNotCoveredAndTheEnergyIsIncomplete() {
    // Nothing from 100 s to 199 s: a gap of 101 s, far beyond twice the cadence.
    EnergyPeriod period = PeriodCompiler.compile(inputs(Map.of(), sampled(POWER, s -> s >= 100 && s < 200), List.of(),
        List.of(), onTime()));
    assertThat(period.energy()).isEqualTo(EnergyQuality.INCOMPLETE);
    assertThat(period.coveragePct()).isBetween(66.0, 67.5);
    assertThat(period.activeImportKwh()).as("the gap's energy is not invented").isLessThan(IMPORT_KWH * 0.9);
  }

  @Test
  void registersBridgeAGapInTheSamples() {
    IntPredicate gap = s -> s >= 100 && s < 200;
    EnergyPeriod period = PeriodCompiler.compile(inputs(registers(gap), sampled(POWER, gap), List.of(), List.of(), onTime()));
    assertThat(period.coveragePct()).isLessThan(70.0);
    assertThat(period.energy()).as("the registers counted through the gap").isEqualTo(EnergyQuality.MEASURED);
    assertThat(period.activeImportKwh()).isCloseTo(IMPORT_KWH, within(IMPORT_KWH * 0.001));
  }

  @Test
  void aBoundaryJustPastTheLastSampleIsExtrapolatedAndOneFurtherIsIncompleteNotGuessed() {
    EnergyPeriod close = PeriodCompiler.compile(inputs(registers(s -> s > 298), List.of(), List.of(), List.of(), onTime()));
    assertThat(close.source()).isEqualTo(Source.REGISTER);
    assertThat(close.energy()).as("2 s past the last sample: extrapolated").isEqualTo(EnergyQuality.ESTIMATED);
    assertThat(close.activeImportKwh()).as("an estimate").isCloseTo(IMPORT_KWH, within(IMPORT_KWH * 0.01));
    // The meter stopped 10 s before the end: what it counted after is unknown; the period holds what it counted until then.
    EnergyPeriod stopped = PeriodCompiler.compile(inputs(registers(s -> s > 290), List.of(), List.of(), List.of(), onTime()));
    assertThat(stopped.energy()).isEqualTo(EnergyQuality.INCOMPLETE);
    assertThat(stopped.activeImportKwh()).isCloseTo(analytic(290, 1), within(analytic(290, 1) * 0.001));
  }

  @Test
  void aRegisterThatDropsAtAMeterResetCountsOnFromZeroAndOtherwiseIsInvalid() {
    Map<String, List<Point>> before = registers(s -> false);
    // The meter restarts at 150.5 s: its registers count again from zero.
    double atReset = interpolate(before.get(PeriodCompiler.ACTIVE_IMPORT), START.plusMillis(150_500));
    List<Point> reset = before.get(PeriodCompiler.ACTIVE_IMPORT).stream()
        .map(p -> p.time().isAfter(START.plusMillis(150_500)) ? new Point(p.time(), p.value() - atReset) : p).toList();
    Map<String, List<Point>> registers = Map.of(PeriodCompiler.ACTIVE_IMPORT, reset,
        PeriodCompiler.ACTIVE_EXPORT, before.get(PeriodCompiler.ACTIVE_EXPORT));
    EnergyPeriod restarted = PeriodCompiler.compile(inputs(registers, List.of(), List.of(), List.of(START.plusMillis(150_500)),
        onTime()));
    assertThat(restarted.energy()).isEqualTo(EnergyQuality.ESTIMATED);
    // What the meter counted from 150 s to the restart is lost with the restart: at most that second's energy.
    assertThat(restarted.activeImportKwh()).isCloseTo(IMPORT_KWH, within(PEAK_W / 3_600_000));
    EnergyPeriod unexplained = PeriodCompiler.compile(inputs(registers, List.of(), List.of(), List.of(), onTime()));
    assertThat(unexplained.energy()).isEqualTo(EnergyQuality.INVALID);
  }

  private static double interpolate(List<Point> series, Instant t) {
    for (int i = 1; i < series.size(); i++) {
      Point a = series.get(i - 1);
      Point b = series.get(i);
      if (!t.isBefore(a.time()) && !t.isAfter(b.time())) {
        double f = Duration.between(a.time(), t).toNanos() / (double) Duration.between(a.time(), b.time()).toNanos();
        return a.value() + (b.value() - a.value()) * f;
      }
    }
    throw new IllegalArgumentException();
  }

  @Test
  void aClockOffOrSetBackByMoreThanTwoSecondsMakesThePeriodsTimeInvalid() {
    Function<Clock, TimeQuality> time = clock -> PeriodCompiler.compile(inputs(Map.of(), sampled(POWER, s -> false),
        List.of(), List.of(), clock)).time();
    assertThat(time.apply(new Clock(3_000L, false))).as("every datagram 3 s late: the clock is behind").isEqualTo(TimeQuality.INVALID);
    assertThat(time.apply(new Clock(-2_500L, false))).as("a datagram 2.5 s ahead of its arrival").isEqualTo(TimeQuality.INVALID);
    assertThat(time.apply(new Clock(1_900L, false))).isEqualTo(TimeQuality.VALID);
    assertThat(time.apply(new Clock(-1_900L, false))).isEqualTo(TimeQuality.VALID);
    assertThat(time.apply(new Clock(80L, true))).as("set back within the period").isEqualTo(TimeQuality.INVALID);
    assertThat(time.apply(Clock.UNKNOWN)).as("no datagram judged").isEqualTo(TimeQuality.VALID);
  }

  @Test
  void theLastFixInThePeriodWithItsAge() {
    // A fix at the end instant is the next period's first: periods are [start, end).
    List<Fix> fixes = List.of(new Fix(START.plusSeconds(100), 52.1, 4.3), new Fix(END.minusSeconds(5), 52.2, 4.4),
        new Fix(END, 52.25, 4.45), new Fix(END.plusSeconds(1), 52.3, 4.5));
    EnergyPeriod fresh = PeriodCompiler.compile(inputs(Map.of(), sampled(POWER, s -> false), fixes, List.of(), onTime()));
    assertThat(fresh.latitude()).isEqualTo(52.2);
    assertThat(fresh.longitude()).isEqualTo(4.4);
    assertThat(fresh.locationAgeS()).isEqualTo(5.0);
    assertThat(fresh.location()).isEqualTo(LocationQuality.VALID);
    EnergyPeriod stale = PeriodCompiler.compile(inputs(Map.of(), sampled(POWER, s -> false), fixes.subList(0, 1), List.of(),
        onTime()));
    assertThat(stale.location()).isEqualTo(LocationQuality.STALE);
    assertThat(stale.locationAgeS()).isEqualTo(200.0);
    EnergyPeriod none = PeriodCompiler.compile(inputs(Map.of(), sampled(POWER, s -> false), List.of(), List.of(), onTime()));
    assertThat(none.location()).isEqualTo(LocationQuality.NONE);
    assertThat(none.latitude()).isNull();
  }

  @Test
  void compilingTheSameDataAgainGivesTheSameResult() {
    Inputs inputs = inputs(registers(s -> s % 7 == 0), sampled(POWER, s -> s % 7 == 0), List.of(new Fix(END.minusSeconds(3), 1, 2)),
        List.of(), onTime());
    assertThat(PeriodCompiler.compile(inputs)).isEqualTo(PeriodCompiler.compile(inputs));
  }

  @Test
  void theQualityCodesOfSettlementSystems() {
    assertThat(EnergyQuality.MEASURED.code()).isEqualTo("7F");
    assertThat(EnergyQuality.ESTIMATED.code()).isEqualTo("2E");
    assertThat(EnergyQuality.INVALID.code()).isEqualTo("3D");
    assertThat(TimeQuality.VALID.code()).isEqualTo("7F");
    assertThat(LocationQuality.VALID.code()).isEqualTo("7F");
  }
}
