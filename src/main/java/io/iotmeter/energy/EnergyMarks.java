package io.iotmeter.energy;

import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.protocol.Category;
import io.iotmeter.protocol.Measurement;
import io.iotmeter.store.Columns;
import io.vertx.core.Future;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Marks the periods a batch of stored telemetry falls in as due for compilation
 * ({@code energy_period_state}), and records there what the time series alone cannot tell: how
 * the meter's clock compared with the platform's and where the meter restarted. The time-series
 * sink calls it once a batch's points are stored, so a period is only ever compiled from points
 * the store holds.
 *
 * <p>A meter's period is written when it is first seen, when it arrives late (its compilation was
 * due already: it is due again {@code late_settle_s} after the last late datagram), and when its
 * clock observation changes — not for every datagram: at a fleet's cadence that would be a row
 * update per message. What this process has written is remembered per meter (bounded); after a
 * restart the first datagram of each meter writes again, which the upsert absorbs.
 */
public final class EnergyMarks {

  /** Measurements a period is compiled from: registers, the power's inputs, the position. */
  private static final Set<String> BILLING_INPUTS = Set.of(PeriodCompiler.ACTIVE_IMPORT, PeriodCompiler.ACTIVE_EXPORT,
      PeriodCompiler.REACTIVE_IMPORT, PeriodCompiler.REACTIVE_EXPORT, PeriodCompiler.LATITUDE, PeriodCompiler.LONGITUDE,
      "voltage_dc", "current_dc", "voltage_ac", "current_ac", "pf");

  /** A clock observation that moves by less than this is not written again. */
  private static final long DELAY_STEP_MS = 250;

  /** Meters remembered; beyond, the longest unseen is forgotten (it writes again when it comes back). */
  static final int MAX_TRACKED = 200_000;

  /** What one batch says about one meter's period. */
  record Mark(String deviceId, Instant periodStart, Instant dueAt, long minDelayMs, boolean setBack, List<Instant> resets) {
  }

  /** What was last written for a meter, and its last datagram (for the clock and restarts). */
  private static final class Track {
    Integer epoch;
    Long seq;
    Instant deviceTs;
    Instant period;
    long minDelayMs = Long.MAX_VALUE;
    boolean setBack;
  }

  private final EnergySettings settings;
  private final Map<String, Track> tracks = new LinkedHashMap<>(1024, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Track> eldest) {
      return size() > MAX_TRACKED;
    }
  };

  public EnergyMarks(EnergySettings settings) {
    this.settings = settings;
  }

  /** Writes the marks of a stored batch (in the sink's order); succeeds without a statement when nothing is new. */
  public Future<Void> record(SqlClient client, List<AcceptedMessage> batch) {
    List<Mark> marks = marksOf(batch, Instant.now());
    if (marks.isEmpty()) {
      return Future.succeededFuture();
    }
    return client.preparedQuery("INSERT INTO energy_period_state AS s (device_id, period_start, due_at, min_delay_ms, "
            + "clock_set_back, resets, marked_at) "
            + "SELECT d, p, due, delay, back, CASE WHEN r = '' THEN '{}'::timestamptz[] ELSE string_to_array(r, ',')::timestamptz[] END, "
            + "now() FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::bigint[], $5::bool[], $6::text[]) "
            + "AS u(d, p, due, delay, back, r) "
            + "ON CONFLICT (device_id, period_start) DO UPDATE SET "
            + "due_at = CASE WHEN s.due_at IS NULL OR EXCLUDED.due_at > s.due_at THEN EXCLUDED.due_at ELSE s.due_at END, "
            + "min_delay_ms = least(s.min_delay_ms, EXCLUDED.min_delay_ms), "
            + "clock_set_back = s.clock_set_back OR EXCLUDED.clock_set_back, "
            + "resets = ARRAY(SELECT DISTINCT x FROM unnest(s.resets || EXCLUDED.resets) AS x ORDER BY x), "
            + "marked_at = now()")
        .execute(Tuple.from(new Object[] {
            Columns.of(marks, Mark::deviceId, String[]::new),
            Columns.of(marks, m -> odt(m.periodStart()), OffsetDateTime[]::new),
            Columns.of(marks, m -> odt(m.dueAt()), OffsetDateTime[]::new),
            Columns.of(marks, Mark::minDelayMs, Long[]::new),
            Columns.of(marks, Mark::setBack, Boolean[]::new),
            Columns.of(marks, m -> String.join(",", m.resets().stream().map(Instant::toString).toList()), String[]::new)}))
        .mapEmpty();
  }

  /**
   * The marks a batch makes, one per meter and period at most (a statement may not update a row
   * twice), updating what is remembered. Package-private for its tests.
   */
  List<Mark> marksOf(List<AcceptedMessage> batch, Instant now) {
    Map<String, Mark> marks = new LinkedHashMap<>();
    for (AcceptedMessage message : batch) {
      if (message.category() != Category.TELEMETRY || message.deviceTs() == null) {
        continue;
      }
      TreeSet<Instant> periods = new TreeSet<>();
      Instant first = null;
      for (Measurement m : message.parse().measurements()) {
        if (BILLING_INPUTS.contains(m.type())) {
          periods.add(settings.periodOf(m.ts()));
          first = first == null || m.ts().isBefore(first) ? m.ts() : first;
        }
      }
      if (periods.isEmpty()) {
        continue;
      }
      Track track = tracks.computeIfAbsent(message.deviceId(), id -> new Track());
      long delayMs = message.receivedAt().toEpochMilli() - message.deviceTs().toEpochMilli();
      boolean restarted = track.epoch != null && message.epoch() != null && !message.epoch().equals(track.epoch);
      // The clock set back: a later datagram (same boot, higher seq) whose time lies before the last one's.
      boolean setBack = !restarted && track.seq != null && message.seq() != null && message.seq() > track.seq
          && track.deviceTs.toEpochMilli() - message.deviceTs().toEpochMilli() > PeriodCompiler.CLOCK_TOLERANCE_MS;
      if (track.seq == null || message.seq() == null || restarted || message.seq() > track.seq) {
        track.epoch = message.epoch();
        track.seq = message.seq();
        track.deviceTs = message.deviceTs();
      }
      for (Instant period : periods) {
        Instant end = period.plus(settings.period());
        boolean late = !now.isBefore(end.plus(settings.grace()));
        boolean fresh = !period.equals(track.period);
        boolean clockNews = fresh || delayMs <= track.minDelayMs - DELAY_STEP_MS || (setBack && !track.setBack);
        List<Instant> resets = restarted && period.equals(settings.periodOf(first)) ? List.of(first) : List.of();
        if (!late && !clockNews && resets.isEmpty()) {
          continue;
        }
        if (!period.isBefore(track.period == null ? period : track.period)) {
          if (fresh) {
            track.period = period;
            track.minDelayMs = Long.MAX_VALUE;
            track.setBack = false;
          }
          track.minDelayMs = Math.min(track.minDelayMs, delayMs);
          track.setBack |= setBack;
        }
        Instant due = late ? now.plus(settings.settle()) : end.plus(settings.grace());
        marks.merge(message.deviceId() + '|' + period, new Mark(message.deviceId(), period, due, delayMs, setBack, resets),
            EnergyMarks::merge);
      }
    }
    return new ArrayList<>(marks.values());
  }

  private static Mark merge(Mark a, Mark b) {
    List<Instant> resets = new ArrayList<>(a.resets());
    b.resets().stream().filter(r -> !resets.contains(r)).forEach(resets::add);
    return new Mark(a.deviceId(), a.periodStart(), a.dueAt().isAfter(b.dueAt()) ? a.dueAt() : b.dueAt(),
        Math.min(a.minDelayMs(), b.minDelayMs()), a.setBack() || b.setBack(), resets);
  }

  private static OffsetDateTime odt(Instant t) {
    return OffsetDateTime.ofInstant(t, ZoneOffset.UTC);
  }
}
