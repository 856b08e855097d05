package io.iotmeter.energy;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Compiles one meter's energy billing data for one period (five minutes aligned to UTC by
 * default) from the samples around it: a pure function, so that compiling the same data again
 * gives the same result — which is what keeps a recompilation from making a new version.
 *
 * <p>Energy comes from the meter's cumulative registers where it sends them: the difference of
 * the registers at the period's two boundaries, each boundary interpolated linearly between the
 * samples around it (extrapolated from the nearest two when the period's edge has no sample on
 * one side but one within twice the cadence: then the energy is {@code estimated}; further, the
 * register is held at its last sample and the energy is {@code incomplete}). A register that drops is a meter reset when
 * the caller says the meter restarted between the two samples (the register counts again from
 * zero), otherwise the energy is {@code invalid}. Without registers, energy is integrated from
 * the active power (trapezoid, as the derived energy is; the segment split where P changes sign)
 * and reactive energy from the reactive power, which the platform derives unsigned: it is
 * counted as imported.
 *
 * <p>Coverage: the part of the period between samples no further apart than twice the meter's
 * sampling cadence (a longer gap is not covered; the edges are covered up to one cadence from a
 * sample).
 */
public final class PeriodCompiler {

  /** Measurement types a meter may send for billing (protocol). */
  public static final String ACTIVE_IMPORT = "register_active_import";
  public static final String ACTIVE_EXPORT = "register_active_export";
  public static final String REACTIVE_IMPORT = "register_reactive_import";
  public static final String REACTIVE_EXPORT = "register_reactive_export";
  public static final String LATITUDE = "latitude";
  public static final String LONGITUDE = "longitude";

  /** A clock further off than this, or set back by more within the period, makes the period's time invalid. */
  static final long CLOCK_TOLERANCE_MS = 2_000;
  /** A position fix older than this at the period's end is stale. */
  static final Duration FIX_FRESH = Duration.ofSeconds(15);

  /** A value at an instant. */
  public record Point(Instant time, double value) {
  }

  /** A position fix. */
  public record Fix(Instant time, double latitude, double longitude) {
  }

  /**
   * What the platform saw of the meter's clock in the period ({@link EnergyMarks} gathers it from
   * the datagrams as they are stored).
   *
   * @param minDelayMs the smallest {@code received_at - ts} of the period's datagrams, null without
   *                   any: the network and a meter's buffer only ever add to a datagram's delay, so
   *                   the least delayed datagram shows the clock's offset — a whole period
   *                   delivered late (a meter flushing its buffer) is one whose clock the platform
   *                   could not confirm
   * @param setBack    a datagram's time lay more than 2 s before its predecessor's (same boot)
   */
  public record Clock(Long minDelayMs, boolean setBack) {

    public static final Clock UNKNOWN = new Clock(null, false);
  }

  /**
   * What the compiler needs of one meter around one period. Every list is sorted by time and may
   * reach beyond the period (the samples around its boundaries).
   *
   * @param registers the register series by type ({@link #ACTIVE_IMPORT}, ...); absent: not sent
   * @param activePower active power, W (signed: negative is fed back)
   * @param reactivePower reactive power, var (as derived: unsigned)
   * @param resets instants at which the meter restarted (its registers may start again from zero)
   * @param clock the meter's clock in the period
   */
  public record Inputs(Instant start, Instant end, Duration cadence, Map<String, List<Point>> registers,
                       List<Point> activePower, List<Point> reactivePower, List<Fix> fixes, List<Instant> resets,
                       Clock clock) {
  }

  private PeriodCompiler() {
  }

  public static EnergyPeriod compile(Inputs in) {
    double coverage = coverage(in);
    List<Point> importRegister = in.registers().get(ACTIVE_IMPORT);
    boolean fromRegisters = importRegister != null && spans(importRegister, in);
    double activeImport;
    double activeExport;
    double reactiveImport;
    double reactiveExport;
    EnergyPeriod.EnergyQuality energy;
    if (fromRegisters) {
      Delta ai = delta(importRegister, in);
      Delta ae = delta(in.registers().getOrDefault(ACTIVE_EXPORT, List.of()), in);
      Delta ri = delta(in.registers().getOrDefault(REACTIVE_IMPORT, List.of()), in);
      Delta re = delta(in.registers().getOrDefault(REACTIVE_EXPORT, List.of()), in);
      activeImport = ai.value();
      activeExport = ae.value();
      reactiveImport = ri.value();
      reactiveExport = re.value();
      boolean invalid = ai.backwards() || ae.backwards() || ri.backwards() || re.backwards();
      boolean held = ai.held() || ae.held() || ri.held() || re.held();
      boolean estimated = ai.extrapolated() || ae.extrapolated() || ri.extrapolated() || re.extrapolated()
          || ai.acrossReset() || ae.acrossReset() || ri.acrossReset() || re.acrossReset();
      energy = invalid ? EnergyPeriod.EnergyQuality.INVALID
          : held ? EnergyPeriod.EnergyQuality.INCOMPLETE
          : estimated ? EnergyPeriod.EnergyQuality.ESTIMATED : EnergyPeriod.EnergyQuality.MEASURED;
    } else {
      double maxGap = gapSeconds(in);
      activeImport = integrate(in.activePower(), in, maxGap, 1) / 3_600_000.0;
      activeExport = integrate(in.activePower(), in, maxGap, -1) / 3_600_000.0;
      reactiveImport = integrate(in.reactivePower(), in, maxGap, 1) / 3_600_000.0;
      reactiveExport = 0;
      energy = coverage < 100.0 ? EnergyPeriod.EnergyQuality.INCOMPLETE : EnergyPeriod.EnergyQuality.ESTIMATED;
    }
    Fix last = null;
    for (Fix fix : in.fixes()) {
      if (!fix.time().isBefore(in.start()) && fix.time().isBefore(in.end())) {
        last = fix;
      }
    }
    EnergyPeriod.LocationQuality location = last == null ? EnergyPeriod.LocationQuality.NONE
        : Duration.between(last.time(), in.end()).compareTo(FIX_FRESH) > 0
        ? EnergyPeriod.LocationQuality.STALE : EnergyPeriod.LocationQuality.VALID;
    // Rounded to what billing can use (a milliwatt-hour, a centimetre, a millisecond): the figures
    // read as data, not as floating-point noise, and a recompilation compares exactly.
    return new EnergyPeriod(in.start(), in.end(), round(activeImport, 6), round(activeExport, 6), round(reactiveImport, 6),
        round(reactiveExport, 6), last == null ? null : round(last.latitude(), 7), last == null ? null : round(last.longitude(), 7),
        last == null ? null : Duration.between(last.time(), in.end()).toMillis() / 1000.0,
        Math.round(coverage * 100) / 100.0, fromRegisters ? EnergyPeriod.Source.REGISTER : EnergyPeriod.Source.INTEGRATED,
        time(in), energy, location);
  }

  // ------------------------------------------------------------------ registers

  private record Delta(double value, boolean extrapolated, boolean held, boolean backwards, boolean acrossReset) {
  }

  /** A register series reaches the period when it has a sample in it or on both sides of it. */
  private static boolean spans(List<Point> series, Inputs in) {
    if (series.size() < 2) {
      return false;
    }
    boolean before = !series.get(0).time().isAfter(in.start());
    boolean after = !series.get(series.size() - 1).time().isBefore(in.end());
    boolean inside = series.stream().anyMatch(p -> p.time().isAfter(in.start()) && p.time().isBefore(in.end()));
    return inside || (before && after);
  }

  /**
   * The register's increase over the period: its value at the end minus its value at the start,
   * counted segment by segment between the samples so that a reset (a drop where the meter
   * restarted) adds what the register counted since it restarted.
   */
  private static Delta delta(List<Point> series, Inputs in) {
    if (series.size() < 2) {
      return new Delta(0, false, false, false, false);
    }
    Boundary from = at(series, in.start(), gapSeconds(in));
    Boundary to = at(series, in.end(), gapSeconds(in));
    double total = 0;
    boolean backwards = false;
    boolean reset = false;
    // The walk: start boundary, every sample strictly inside, end boundary.
    List<Point> walk = new ArrayList<>();
    walk.add(new Point(in.start(), from.value()));
    for (Point p : series) {
      if (p.time().isAfter(in.start()) && p.time().isBefore(in.end())) {
        walk.add(p);
      }
    }
    walk.add(new Point(in.end(), to.value()));
    for (int i = 1; i < walk.size(); i++) {
      double step = walk.get(i).value() - walk.get(i - 1).value();
      if (step >= 0) {
        total += step;
      } else if (restartedBetween(in.resets(), walk.get(i - 1).time(), walk.get(i).time())) {
        // Counting again from zero: what it shows now is what it counted since the restart.
        total += Math.max(0, walk.get(i).value());
        reset = true;
      } else if (step < -1e-9) {
        backwards = true;
      }
    }
    return new Delta(total, from.extrapolated() || to.extrapolated(), from.held() || to.held(), backwards, reset);
  }

  private static boolean restartedBetween(List<Instant> resets, Instant from, Instant to) {
    return resets.stream().anyMatch(r -> !r.isBefore(from) && !r.isAfter(to));
  }

  /**
   * A register's value at a boundary: interpolated, extrapolated (at most twice the cadence past
   * the last sample), or held at the nearest sample when that is further away — the meter stopped
   * sending, and what it counted after is unknown: the period is incomplete, not guessed.
   */
  private record Boundary(double value, boolean extrapolated, boolean held) {
  }

  /** The series' value at {@code t}: interpolated between the samples around it, else extrapolated from the nearest two. */
  private static Boundary at(List<Point> series, Instant t, double maxGapS) {
    int after = 0;
    while (after < series.size() && series.get(after).time().isBefore(t)) {
      after++;
    }
    if (after < series.size() && series.get(after).time().equals(t)) {
      return new Boundary(series.get(after).value(), false, false);
    }
    if (after > 0 && after < series.size()) {
      return new Boundary(line(series.get(after - 1), series.get(after), t), false, false);
    }
    // No sample on one side: the nearest two, on the side there is.
    Point a = after == 0 ? series.get(0) : series.get(series.size() - 2);
    Point b = after == 0 ? series.get(1) : series.get(series.size() - 1);
    Point nearest = after == 0 ? a : b;
    if (Math.abs(nanos(nearest.time(), t)) / 1e9 > maxGapS) {
      return new Boundary(nearest.value(), false, true);
    }
    return new Boundary(line(a, b, t), true, false);
  }

  private static double line(Point a, Point b, Instant t) {
    double span = nanos(a.time(), b.time());
    if (span == 0) {
      return b.value();
    }
    return a.value() + (b.value() - a.value()) * nanos(a.time(), t) / span;
  }

  // ------------------------------------------------------------------ integration and coverage

  private static double gapSeconds(Inputs in) {
    return 2 * in.cadence().toNanos() / 1e9;
  }

  /**
   * ∫ max(sign·P, 0) dt over the period, in joules (W·s): the trapezoid between neighbouring
   * samples no further apart than {@code maxGap}, clipped at the period's boundaries (the power
   * there interpolated).
   */
  private static double integrate(List<Point> power, Inputs in, double maxGap, int sign) {
    double joules = 0;
    for (int i = 1; i < power.size(); i++) {
      Point a = power.get(i - 1);
      Point b = power.get(i);
      double seconds = nanos(a.time(), b.time()) / 1e9;
      if (seconds <= 0 || seconds > maxGap || !b.time().isAfter(in.start()) || !a.time().isBefore(in.end())) {
        continue;
      }
      Instant from = a.time().isBefore(in.start()) ? in.start() : a.time();
      Instant to = b.time().isAfter(in.end()) ? in.end() : b.time();
      double va = from.equals(a.time()) ? a.value() : line(a, b, from);
      double vb = to.equals(b.time()) ? b.value() : line(a, b, to);
      joules += io.iotmeter.derived.EnergyIntegrator.joules(sign * va, sign * vb, nanos(from, to) / 1e9);
    }
    return joules;
  }

  /** Percent of the period within reach of the meter's samples (any series it sends). */
  static double coverage(Inputs in) {
    TreeSet<Instant> instants = new TreeSet<>();
    in.registers().values().forEach(series -> series.forEach(p -> instants.add(p.time())));
    in.activePower().forEach(p -> instants.add(p.time()));
    in.reactivePower().forEach(p -> instants.add(p.time()));
    if (instants.isEmpty()) {
      return 0;
    }
    double maxGap = gapSeconds(in);
    double reach = in.cadence().toNanos() / 1e9;
    double periodS = nanos(in.start(), in.end()) / 1e9;
    // Covered intervals: between neighbours no further apart than maxGap, and one cadence around each sample.
    List<double[]> covered = new ArrayList<>();
    Instant previous = null;
    for (Instant t : instants) {
      double at = nanos(in.start(), t) / 1e9;
      covered.add(new double[] {at - reach / 2, at + reach / 2});
      if (previous != null) {
        double gap = nanos(previous, t) / 1e9;
        if (gap <= maxGap) {
          covered.add(new double[] {at - gap, at});
        }
      }
      previous = t;
    }
    covered.sort((x, y) -> Double.compare(x[0], y[0]));
    double total = 0;
    double reached = 0;
    for (double[] interval : covered) {
      double from = Math.max(Math.max(interval[0], reached), 0);
      double to = Math.min(interval[1], periodS);
      if (to > from) {
        total += to - from;
      }
      reached = Math.max(reached, Math.min(interval[1], periodS));
    }
    return Math.min(100.0, 100.0 * total / periodS);
  }

  // ------------------------------------------------------------------ time

  /**
   * The meter's clock in the period: invalid when its least delayed datagram was more than 2 s
   * ahead of or behind the platform's clock, or when the clock was set back by more than 2 s.
   */
  private static EnergyPeriod.TimeQuality time(Inputs in) {
    Long delay = in.clock().minDelayMs();
    boolean off = delay != null && Math.abs(delay) > CLOCK_TOLERANCE_MS;
    return off || in.clock().setBack() ? EnergyPeriod.TimeQuality.INVALID : EnergyPeriod.TimeQuality.VALID;
  }

  private static double round(double value, int decimals) {
    return java.math.BigDecimal.valueOf(value).setScale(decimals, java.math.RoundingMode.HALF_EVEN).doubleValue();
  }

  private static double nanos(Instant from, Instant to) {
    return (double) Duration.between(from, to).toNanos();
  }
}
