package io.iotmeter.intake;

import io.iotmeter.ops.IngestMetrics;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Raises a {@code sequence_gap} alert for each gap that stayed open longer than the delay
 * (copies through other brokers usually fill a gap within milliseconds, so an immediate alert
 * would mostly be noise). The alert states how many messages are still missing.
 *
 * <p>Due devices are claimed with {@code FOR UPDATE SKIP LOCKED}: several intake instances or
 * nodes may scan at once, and each gap is alerted exactly once.
 */
final class GapAlerts {

  private final Pool pool;
  private final Duration delay;
  private final IngestMetrics metrics;

  GapAlerts(Pool pool, Duration delay, IngestMetrics metrics) {
    this.pool = pool;
    this.delay = delay;
    this.metrics = metrics;
  }

  /** Alerts what is due; the future holds the number of alerts raised. */
  Future<Integer> scan() {
    Instant now = Instant.now();
    List<String> devices = new ArrayList<>();
    List<String> messages = new ArrayList<>();
    return pool.withTransaction(conn -> conn.preparedQuery("SELECT device_id, missing, gap_count FROM device_seq_tracking "
                + "WHERE gap_alert_due <= $1 ORDER BY device_id LIMIT 200 FOR UPDATE SKIP LOCKED")
            .execute(Tuple.of(IntakeStore.odt(now)))
            .compose(rows -> {
              List<String> ids = new ArrayList<>();
              List<String> missing = new ArrayList<>();
              List<Integer> gapCounts = new ArrayList<>();
              List<java.time.OffsetDateTime> due = new ArrayList<>();
              for (Row row : rows) {
                SequenceState state = new SequenceState();
                state.loadMissing((JsonArray) row.getValue("missing"));
                int alerted = 0;
                for (int i = 0; i < state.missing.size(); i++) {
                  GapRange range = state.missing.get(i);
                  if (!range.alerted() && !range.since().plus(delay).isAfter(now)) {
                    devices.add(row.getString("device_id"));
                    messages.add(describe(range));
                    state.missing.set(i, range.markAlerted());
                    alerted++;
                  }
                }
                state.recomputeAlertDue(delay);
                ids.add(row.getString("device_id"));
                missing.add(state.missingJson().encode());
                gapCounts.add(row.getInteger("gap_count") + alerted);
                due.add(IntakeStore.odt(state.gapAlertDue));
              }
              if (ids.isEmpty()) {
                return Future.succeededFuture();
              }
              return conn.preparedQuery("UPDATE device_seq_tracking t SET missing = u.missing::jsonb, gap_count = u.gap_count, "
                      + "gap_alert_due = u.due FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[]) "
                      + "AS u(device_id, missing, gap_count, due) WHERE t.device_id = u.device_id")
                  .execute(Tuple.of(ids.toArray(String[]::new), missing.toArray(String[]::new),
                      gapCounts.toArray(Integer[]::new), due.toArray(java.time.OffsetDateTime[]::new)))
                  .compose(v -> devices.isEmpty() ? Future.succeededFuture()
                      : io.iotmeter.registry.RegistryWrites.sequenceGapAlerts(conn, devices.toArray(String[]::new),
                          messages.toArray(String[]::new)));
            }))
        .map(v -> {
          devices.forEach(d -> metrics.sequenceGap());
          return devices.size();
        });
  }

  static String describe(GapRange range) {
    long n = range.size();
    String which = n == 1 ? "seq " + range.from() : "seq " + range.from() + " to " + range.to();
    return "Sequence gap: " + n + (n == 1 ? " message" : " messages") + " missing (" + which + ")";
  }
}
