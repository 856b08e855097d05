package io.iotmeter.sim;

import io.iotmeter.derived.EnergyIntegrator;
import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A traction energy meter on a train in service: the train runs a timetable of legs between
 * stations — accelerate, cruise, coast, brake with regeneration, stand at the station — back and
 * forth along a route (Berlin to Hamburg, as the crow flies), and the meter reports, every sample, its line
 * voltage and current, its position, and its cumulative active energy registers (drawn and fed
 * back), which it counts from the very values it reports: the platform's power integrated from
 * them and the registers' differences agree.
 *
 * <p>Deterministic in the wall-clock time: the meters of one train share its timetable (the train's
 * id sets where in it the train is) and run at the same place. Public for tests and tools that
 * replay a train's past (the samples of any instant, registers counted on from the last call).
 */
public final class TrainDrive {

  /** A leg between two stations: how long the train cruises, and how long it then stands, seconds. */
  private record Leg(double cruiseS, double standS) {

    /** Accelerating (66 s), cruising, coasting (42 s), braking (40 s), standing. */
    double seconds() {
      return 66 + cruiseS + 42 + 40 + standS;
    }
  }

  /**
   * The timetable, repeated: legs of different lengths, so that the five-minute periods hold
   * different parts of them (a period with a station stop and regeneration, one cruising).
   */
  private static final List<Leg> LEGS = List.of(new Leg(52, 40), new Leg(180, 90), new Leg(120, 60), new Leg(300, 60),
      new Leg(62, 60), new Leg(180, 60), new Leg(360, 90));
  /** The timetable's length, seconds. */
  static final int CYCLE_S = (int) LEGS.stream().mapToDouble(Leg::seconds).sum();
  private static final double ROUTE_M = 255_000;
  private static final double FROM_LAT = 52.5251;
  private static final double FROM_LON = 13.3694;
  private static final double TO_LAT = 53.5526;
  private static final double TO_LON = 10.0067;
  /** Line voltage of a 3 kV DC system with no load; it sags under traction and rises under regeneration. */
  private static final double NO_LOAD_V = 3_300;
  private static final double SAG_V_PER_W = 5e-5;

  private final int offsetS;
  private final int meters;
  private final double share;
  private double importKwh;
  private double exportKwh;
  private double lastWatts = Double.NaN;
  private Instant last;

  /**
   * @param trainId  the train: where in its timetable it is, and where its registers start
   * @param car      which of the train's {@code meters} this is (from 1): cars draw slightly different shares
   */
  public TrainDrive(String trainId, int car, int meters) {
    int hash = Math.floorMod(trainId.hashCode(), 100_000);
    this.offsetS = hash % CYCLE_S;
    this.meters = meters;
    this.share = (1.0 + 0.04 * (car - (meters + 1) / 2.0)) / meters;
    this.importKwh = 120_000 + hash % 1_000 + car * 10;
    this.exportKwh = 30_000 + hash % 500 + car * 5;
  }

  /** The train's traction power at second {@code s} of its timetable, W (negative: fed back). */
  static double trainWatts(double s) {
    double t = s % CYCLE_S;
    for (Leg leg : LEGS) {
      if (t < leg.seconds()) {
        return legWatts(t, leg);
      }
      t -= leg.seconds();
    }
    return 0.06e6;
  }

  /** Power at second {@code t} of a leg: megawatts, linear between the points of each phase. */
  private static double legWatts(double t, Leg leg) {
    double cruiseEnd = 66 + leg.cruiseS();
    double[][] points = {
        {0, 0}, {10, 3.0}, {60, 2.2},                         // accelerating: the tractive effort falls off with speed
        {66, 0.9}, {cruiseEnd, 0.9},                          // cruising (with the gradients, below)
        {cruiseEnd + 5, 0.06}, {cruiseEnd + 42, 0.06},        // coasting: auxiliaries only
        {cruiseEnd + 47, -2.2}, {cruiseEnd + 77, -0.5},       // braking: regeneration builds up, then fades with the speed
        {cruiseEnd + 82, 0.06}, {leg.seconds(), 0.06}};       // standing at a station
    for (int i = 1; i < points.length; i++) {
      if (t < points[i][0]) {
        double[] a = points[i - 1];
        double[] b = points[i];
        double mw = a[1] + (b[1] - a[1]) * (t - a[0]) / (b[0] - a[0]);
        if (t >= 66 && t < cruiseEnd) {
          mw += 0.1 * Math.sin(2 * Math.PI * (t - 66) / leg.cruiseS());
        }
        return mw * 1e6;
      }
    }
    return 0.06e6;
  }

  /** The train's speed at second {@code s} of its timetable, m/s. */
  static double speed(double s) {
    double t = s % CYCLE_S;
    for (Leg leg : LEGS) {
      if (t < leg.seconds()) {
        double cruiseEnd = 66 + leg.cruiseS();
        if (t < 60) {
          return 44.0 * t / 60;
        } else if (t < cruiseEnd) {
          return 44.0;
        } else if (t < cruiseEnd + 42) {
          return 44.0 - 4.0 * (t - cruiseEnd) / 42;
        } else if (t < cruiseEnd + 82) {
          return 40.0 * (1 - (t - cruiseEnd - 42) / 40);
        }
        return 0;
      }
      t -= leg.seconds();
    }
    return 0;
  }

  /** Metres travelled from the timetable's start, by whole second (a table, so a sample costs a lookup). */
  private static final double[] TRAVELLED = travelled();

  private static double[] travelled() {
    double[] metres = new double[CYCLE_S + 1];
    for (int s = 1; s <= CYCLE_S; s++) {
      metres[s] = metres[s - 1] + (speed(s - 1) + speed(s - 0.5) * 4 + speed(s - 1e-9)) / 6;
    }
    return metres;
  }

  /** Metres travelled from the timetable's start to second {@code s} of it. */
  static double distanceInCycle(double s) {
    int whole = (int) Math.floor(s);
    return whole >= CYCLE_S ? TRAVELLED[CYCLE_S] : TRAVELLED[whole] + speed(s) * (s - whole);
  }

  private static final double CYCLE_M = TRAVELLED[CYCLE_S];

  /** The samples of one instant: voltage, current, the two registers, the position. */
  public List<JsonObject> sample(Instant now, String ts) {
    double seconds = now.toEpochMilli() / 1000.0 + offsetS;
    double inCycle = seconds % CYCLE_S;
    double watts = trainWatts(inCycle) * share;
    double volts = round(NO_LOAD_V - SAG_V_PER_W * watts * meters, 10);
    double amps = round(watts / volts, 10);
    // The registers count what the reported values say, as the platform will integrate them.
    double reported = volts * amps;
    if (last != null) {
      double dt = (now.toEpochMilli() - last.toEpochMilli()) / 1000.0;
      if (dt > 0 && dt < 60) {
        importKwh += EnergyIntegrator.joules(lastWatts, reported, dt) / 3_600_000;
        exportKwh += EnergyIntegrator.joules(-lastWatts, -reported, dt) / 3_600_000;
      }
    }
    last = now;
    lastWatts = reported;
    double along = (Math.floor(seconds / CYCLE_S) * CYCLE_M + distanceInCycle(inCycle)) % (2 * ROUTE_M);
    double fraction = (along <= ROUTE_M ? along : 2 * ROUTE_M - along) / ROUTE_M;
    List<JsonObject> entries = new ArrayList<>(ENTRIES_PER_SAMPLE);
    entries.add(entry(ts, "voltage_dc", volts, "V"));
    entries.add(entry(ts, "current_dc", amps, "A"));
    entries.add(entry(ts, "register_active_import", round(importKwh, 1_000_000), "kWh"));
    entries.add(entry(ts, "register_active_export", round(exportKwh, 1_000_000), "kWh"));
    entries.add(entry(ts, "latitude", round(FROM_LAT + (TO_LAT - FROM_LAT) * fraction, 1e7), "deg"));
    entries.add(entry(ts, "longitude", round(FROM_LON + (TO_LON - FROM_LON) * fraction, 1e7), "deg"));
    return entries;
  }

  static final int ENTRIES_PER_SAMPLE = 6;

  private static JsonObject entry(String ts, String type, double value, String unit) {
    return new JsonObject().put("ts", ts).put("type", type).put("val", value).put("unit", unit);
  }

  private static double round(double value, double scale) {
    return Math.round(value * scale) / scale;
  }
}
