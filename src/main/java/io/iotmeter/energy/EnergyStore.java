package io.iotmeter.energy;

import io.iotmeter.store.Columns;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The SQL of the energy billing tables ({@code energy_period_state}, {@code energy_periods}) apart
 * from the marks ({@link EnergyMarks}): what is due, the versions written and read.
 * {@code energy_periods} is append-only (a trigger refuses UPDATE and DELETE).
 */
public final class EnergyStore {

  /** A meter's period due for compilation, with what the marks recorded about it. */
  public record Due(String deviceId, Instant periodStart, Instant dueAt, Long minDelayMs, boolean setBack,
                    List<Instant> resets, Instant markedAt) {

    String key() {
      return EnergyStore.key(deviceId, periodStart);
    }
  }

  static String key(String deviceId, Instant periodStart) {
    return deviceId + '|' + periodStart;
  }

  private static final String VERSION_COLUMNS = "change_id, device_id, period_start, version, period_end, consumption_point_id, "
      + "train_id, active_import_kwh, active_export_kwh, reactive_import_kvarh, reactive_export_kvarh, latitude, longitude, "
      + "location_age_s, coverage_pct, source, quality_time, quality_energy, quality_location, reason, compiled_at";

  private EnergyStore() {
  }

  // ---------------------------------------------------------------- compiling

  /** Up to {@code limit} periods whose compilation is due, the longest due first. */
  static Future<List<Due>> due(SqlClient client, int limit) {
    return client.preparedQuery("SELECT device_id, period_start, due_at, min_delay_ms, clock_set_back, resets, marked_at "
            + "FROM energy_period_state WHERE due_at <= now() ORDER BY due_at LIMIT $1")
        .execute(Tuple.of(limit))
        .map(rows -> {
          List<Due> due = new ArrayList<>(rows.size());
          for (Row r : rows) {
            due.add(new Due(r.getString(0), instant(r.getOffsetDateTime(1)), instant(r.getOffsetDateTime(2)), r.getLong(3),
                r.getBoolean(4), instants(r.getArrayOfOffsetDateTimes(5)), instant(r.getOffsetDateTime(6))));
          }
          return due;
        });
  }

  /**
   * The restarts recorded for these meters in their due periods and the periods next to them
   * (the samples a period is compiled from reach into its neighbours), by meter.
   */
  static Future<Map<String, List<Instant>>> resets(SqlClient client, List<Due> due, Duration period) {
    return client.preparedQuery("SELECT s.device_id, s.resets FROM energy_period_state s "
            + "JOIN unnest($1::text[], $2::timestamptz[]) AS u(d, p) ON s.device_id = u.d "
            + "AND s.period_start BETWEEN u.p - make_interval(secs => $3) AND u.p + make_interval(secs => $3) "
            + "WHERE cardinality(s.resets) > 0")
        .execute(Tuple.of(Columns.of(due, Due::deviceId, String[]::new), Columns.of(due, d -> odt(d.periodStart()),
            OffsetDateTime[]::new), (double) period.toSeconds()))
        .map(rows -> {
          Map<String, List<Instant>> resets = new HashMap<>();
          for (Row r : rows) {
            List<Instant> list = resets.computeIfAbsent(r.getString(0), id -> new ArrayList<>());
            instants(r.getArrayOfOffsetDateTimes(1)).stream().filter(t -> !list.contains(t)).forEach(list::add);
          }
          resets.values().forEach(list -> list.sort(null));
          return resets;
        });
  }

  /** The meters' metadata (consumption point, train, sampling cadence), by device id; absent for devices not registered. */
  static Future<Map<String, JsonObject>> metadata(SqlClient client, List<String> deviceIds) {
    return client.preparedQuery("SELECT device_id, metadata FROM devices WHERE device_id = ANY($1::text[])")
        .execute(Tuple.of((Object) deviceIds.toArray(String[]::new)))
        .map(rows -> {
          Map<String, JsonObject> metadata = new HashMap<>();
          rows.forEach(r -> metadata.put(r.getString(0), r.getJsonObject(1) == null ? new JsonObject() : r.getJsonObject(1)));
          return metadata;
        });
  }

  /** The latest version of each of these periods that has one, by {@link #key}. */
  static Future<Map<String, EnergyVersion>> latest(SqlClient client, List<Due> due) {
    return client.preparedQuery("SELECT DISTINCT ON (e.device_id, e.period_start) " + prefixed("e") + " FROM energy_periods e "
            + "JOIN unnest($1::text[], $2::timestamptz[]) AS u(d, p) ON e.device_id = u.d AND e.period_start = u.p "
            + "ORDER BY e.device_id, e.period_start, e.version DESC")
        // Tuple.from, not Tuple.of: of(a, b) would spread the second array as its varargs.
        .execute(Tuple.from(new Object[] {Columns.of(due, Due::deviceId, String[]::new),
            Columns.of(due, d -> odt(d.periodStart()), OffsetDateTime[]::new)}))
        .map(rows -> {
          Map<String, EnergyVersion> latest = new HashMap<>();
          rows.forEach(r -> {
            EnergyVersion v = version(r);
            latest.put(key(v.deviceId(), v.period().start()), v);
          });
          return latest;
        });
  }

  /**
   * Appends the new versions and clears what was compiled: a period marked again meanwhile (its
   * due_at moved) stays due. A version number another compiler took first is left as it is: the
   * primary key makes two compilers of one period write one version, never two. Returns the
   * versions written.
   */
  static Future<List<EnergyVersion>> commit(SqlClient tx, List<EnergyVersion> versions, List<Due> compiled) {
    Future<List<EnergyVersion>> written = versions.isEmpty() ? Future.succeededFuture(List.of()) : tx.preparedQuery("INSERT INTO energy_periods "
            + "(device_id, period_start, version, period_end, consumption_point_id, train_id, active_import_kwh, "
            + "active_export_kwh, reactive_import_kvarh, reactive_export_kvarh, latitude, longitude, location_age_s, coverage_pct, "
            + "source, quality_time, quality_energy, quality_location, reason) "
            + "SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::int[], $4::timestamptz[], $5::text[], $6::text[], "
            + "$7::float8[], $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::float8[], $13::float8[], $14::float8[], "
            + "$15::text[], $16::text[], $17::text[], $18::text[], $19::text[]) "
            + "ON CONFLICT (device_id, period_start, version) DO NOTHING RETURNING device_id, period_start")
        .execute(Tuple.from(new Object[] {
            Columns.of(versions, EnergyVersion::deviceId, String[]::new),
            Columns.of(versions, v -> odt(v.period().start()), OffsetDateTime[]::new),
            Columns.of(versions, EnergyVersion::version, Integer[]::new),
            Columns.of(versions, v -> odt(v.period().end()), OffsetDateTime[]::new),
            Columns.of(versions, EnergyVersion::consumptionPointId, String[]::new),
            Columns.of(versions, EnergyVersion::trainId, String[]::new),
            Columns.of(versions, v -> v.period().activeImportKwh(), Double[]::new),
            Columns.of(versions, v -> v.period().activeExportKwh(), Double[]::new),
            Columns.of(versions, v -> v.period().reactiveImportKvarh(), Double[]::new),
            Columns.of(versions, v -> v.period().reactiveExportKvarh(), Double[]::new),
            Columns.of(versions, v -> v.period().latitude(), Double[]::new),
            Columns.of(versions, v -> v.period().longitude(), Double[]::new),
            Columns.of(versions, v -> v.period().locationAgeS(), Double[]::new),
            Columns.of(versions, v -> v.period().coveragePct(), Double[]::new),
            Columns.of(versions, v -> v.period().source().wireName(), String[]::new),
            Columns.of(versions, v -> v.period().time().wireName(), String[]::new),
            Columns.of(versions, v -> v.period().energy().wireName(), String[]::new),
            Columns.of(versions, v -> v.period().location().wireName(), String[]::new),
            Columns.of(versions, EnergyVersion::reason, String[]::new)}))
        .map(rows -> {
          java.util.Set<String> keys = new java.util.HashSet<>();
          rows.forEach(r -> keys.add(key(r.getString(0), r.getOffsetDateTime(1).toInstant())));
          return versions.stream().filter(v -> keys.contains(key(v.deviceId(), v.period().start()))).toList();
        });
    return written.compose(done -> compiled.isEmpty() ? Future.succeededFuture(done) : tx.preparedQuery(
            "UPDATE energy_period_state s SET due_at = NULL FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) "
                + "AS u(d, p, due) WHERE s.device_id = u.d AND s.period_start = u.p AND s.due_at = u.due")
        .execute(Tuple.of(Columns.of(compiled, Due::deviceId, String[]::new),
            Columns.of(compiled, d -> odt(d.periodStart()), OffsetDateTime[]::new),
            Columns.of(compiled, d -> odt(d.dueAt()), OffsetDateTime[]::new)))
        .map(done));
  }

  /** Periods due now (for the compile lag gauge): how many, and since when the longest waits. */
  static Future<long[]> dueBacklog(SqlClient client) {
    return client.query("SELECT count(*), coalesce(extract(epoch FROM now() - min(due_at)), 0) FROM energy_period_state "
            + "WHERE due_at <= now()")
        .execute()
        .map(rows -> {
          Row r = rows.iterator().next();
          return new long[] {r.getLong(0), Math.round(r.getDouble(1) * 1000)};
        });
  }

  /**
   * Forgets the marks of periods compiled before {@code retention} (late data for them is marked
   * afresh), but never a meter's first: the completeness report counts from it. Returns how many went.
   */
  static Future<Integer> prune(SqlClient client, Duration retention) {
    return client.preparedQuery("DELETE FROM energy_period_state s WHERE s.due_at IS NULL "
            + "AND s.period_start < now() - make_interval(secs => $1) "
            + "AND s.period_start > (SELECT min(x.period_start) FROM energy_period_state x WHERE x.device_id = s.device_id)")
        .execute(Tuple.of((double) retention.toSeconds()))
        .map(rows -> rows.rowCount());
  }

  // ---------------------------------------------------------------- reading

  /** The latest version of each of a meter's periods starting in [from, to), oldest first, at most {@code limit}. */
  public static Future<List<EnergyVersion>> latestOf(SqlClient client, String deviceId, Instant from, Instant to, int limit) {
    return client.preparedQuery("SELECT DISTINCT ON (period_start) " + VERSION_COLUMNS + " FROM energy_periods "
            + "WHERE device_id = $1 AND period_start >= $2 AND period_start < $3 ORDER BY period_start, version DESC LIMIT $4")
        .execute(Tuple.of(deviceId, odt(from), odt(to), limit))
        .map(EnergyStore::versions);
  }

  /** Every version of one period, oldest first. */
  public static Future<List<EnergyVersion>> versionsOf(SqlClient client, String deviceId, Instant periodStart) {
    return client.preparedQuery("SELECT " + VERSION_COLUMNS + " FROM energy_periods WHERE device_id = $1 AND period_start = $2 "
            + "ORDER BY version")
        .execute(Tuple.of(deviceId, odt(periodStart)))
        .map(EnergyStore::versions);
  }

  /**
   * Every meter's periods starting in [from, to) at their latest version, by change id: with
   * {@code since}, only periods whose latest version came after that change (what changed since a
   * settlement system last fetched). At most {@code limit}.
   */
  public static Future<List<EnergyVersion>> export(SqlClient client, Instant from, Instant to, long since, int limit) {
    return client.preparedQuery("SELECT * FROM (SELECT DISTINCT ON (device_id, period_start) " + VERSION_COLUMNS
            + " FROM energy_periods WHERE period_start >= $1 AND period_start < $2 "
            + "ORDER BY device_id, period_start, version DESC) latest WHERE change_id > $3 ORDER BY change_id LIMIT $4")
        .execute(Tuple.of(odt(from), odt(to), since, limit))
        .map(EnergyStore::versions);
  }

  /** The latest versions of a train's periods in [from, to), by period start (the train as recorded at compilation). */
  public static Future<List<EnergyVersion>> train(SqlClient client, String trainId, Instant from, Instant to) {
    return client.preparedQuery("SELECT DISTINCT ON (period_start, device_id) " + VERSION_COLUMNS + " FROM energy_periods "
            + "WHERE train_id = $1 AND period_start >= $2 AND period_start < $3 ORDER BY period_start, device_id, version DESC")
        .execute(Tuple.of(trainId, odt(from), odt(to)))
        .map(EnergyStore::versions);
  }

  /** One meter's day for the completeness report. */
  public record DayCount(String deviceId, String consumptionPointId, Instant firstPeriod, long compiled,
                         Map<String, Long> energy, long timeInvalid, long locationNone) {
  }

  /**
   * Per meter in service (status active) that has ever had data: its first period, and its
   * periods of [from, to) compiled, by energy quality, with an invalid time and without a position.
   */
  public static Future<List<DayCount>> day(SqlClient client, Instant from, Instant to) {
    return client.preparedQuery("WITH latest AS (SELECT DISTINCT ON (device_id, period_start) device_id, period_start, "
            + "quality_energy, quality_time, quality_location FROM energy_periods WHERE period_start >= $1 AND period_start < $2 "
            + "ORDER BY device_id, period_start, version DESC), "
            // A meter's first period, by its index (one probe per meter, not a scan of every period).
            + "meters AS (SELECT d.device_id, d.metadata->>'consumption_point_id' AS cp, (SELECT min(s.period_start) "
            + "FROM energy_period_state s WHERE s.device_id = d.device_id) AS first FROM devices d WHERE d.status = 'active') "
            + "SELECT m.device_id, m.cp, m.first, count(l.period_start), "
            + "count(*) FILTER (WHERE l.quality_energy = 'measured'), count(*) FILTER (WHERE l.quality_energy = 'estimated'), "
            + "count(*) FILTER (WHERE l.quality_energy = 'incomplete'), count(*) FILTER (WHERE l.quality_energy = 'invalid'), "
            + "count(*) FILTER (WHERE l.quality_time = 'invalid'), count(*) FILTER (WHERE l.quality_location = 'none') "
            + "FROM meters m LEFT JOIN latest l ON l.device_id = m.device_id "
            + "WHERE m.first < $2 GROUP BY m.device_id, m.cp, m.first ORDER BY m.device_id")
        .execute(Tuple.of(odt(from), odt(to)))
        .map(rows -> {
          List<DayCount> days = new ArrayList<>();
          for (Row r : rows) {
            Map<String, Long> energy = new java.util.LinkedHashMap<>();
            energy.put("measured", r.getLong(4));
            energy.put("estimated", r.getLong(5));
            energy.put("incomplete", r.getLong(6));
            energy.put("invalid", r.getLong(7));
            String cp = r.getString(1);
            days.add(new DayCount(r.getString(0), cp == null ? r.getString(0) : cp, instant(r.getOffsetDateTime(2)),
                r.getLong(3), energy, r.getLong(8), r.getLong(9)));
          }
          return days;
        });
  }

  // ---------------------------------------------------------------- rows

  private static String prefixed(String alias) {
    return String.join(", ", java.util.Arrays.stream(VERSION_COLUMNS.split(", ")).map(c -> alias + "." + c).toList());
  }

  private static List<EnergyVersion> versions(io.vertx.sqlclient.RowSet<Row> rows) {
    List<EnergyVersion> versions = new ArrayList<>(rows.size());
    rows.forEach(r -> versions.add(version(r)));
    return versions;
  }

  private static EnergyVersion version(Row r) {
    EnergyPeriod period = new EnergyPeriod(instant(r.getOffsetDateTime("period_start")), instant(r.getOffsetDateTime("period_end")),
        r.getDouble("active_import_kwh"), r.getDouble("active_export_kwh"), r.getDouble("reactive_import_kvarh"),
        r.getDouble("reactive_export_kvarh"), r.getDouble("latitude"), r.getDouble("longitude"), r.getDouble("location_age_s"),
        r.getDouble("coverage_pct"), EnergyPeriod.Source.valueOf(upper(r.getString("source"))),
        EnergyPeriod.TimeQuality.valueOf(upper(r.getString("quality_time"))),
        EnergyPeriod.EnergyQuality.valueOf(upper(r.getString("quality_energy"))),
        EnergyPeriod.LocationQuality.valueOf(upper(r.getString("quality_location"))));
    return new EnergyVersion(r.getString("device_id"), r.getString("consumption_point_id"), r.getString("train_id"), period,
        r.getInteger("version"), r.getString("reason"), instant(r.getOffsetDateTime("compiled_at")), r.getLong("change_id"));
  }

  private static String upper(String wire) {
    return wire.toUpperCase(java.util.Locale.ROOT);
  }

  private static List<Instant> instants(OffsetDateTime[] times) {
    List<Instant> list = new ArrayList<>();
    if (times != null) {
      for (OffsetDateTime t : times) {
        list.add(t.toInstant());
      }
    }
    return list;
  }

  private static Instant instant(OffsetDateTime t) {
    return t == null ? null : t.toInstant();
  }

  static OffsetDateTime odt(Instant t) {
    return t == null ? null : OffsetDateTime.ofInstant(t, ZoneOffset.UTC);
  }
}
