package io.iotmeter.bench;

import io.iotmeter.archive.ObjectStore;
import io.iotmeter.archive.ObjectStores;
import io.iotmeter.archive.StoredObject;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What every store holds of one run's meters (device ids with the run's prefix), against what
 * the meters had acknowledged: the archive's records, the time series' points by their key
 * (device, metric, time) and the registry's (the de-duplication record of each message, and
 * each meter's last_seen). Lost = acknowledged but not there; doubled = there more than once.
 */
record StoreCount(long acked, long archiveRecords, long archiveDistinct, long points, long pointsDistinct,
                  long expectedPoints, long registryRows, long registryDistinct, long devicesSeen, int meters) {

  static StoreCount of(JsonObject config, String prefix, int meters, long acked, int pointsPerDatagram) throws Exception {
    long[] archive = archive(config.getJsonObject("s3"), prefix, meters);
    long[] points = points(config, prefix, true);
    long[] registry = registry(config.getJsonObject("postgres"), prefix);
    return new StoreCount(acked, archive[0], archive[1], points[0], points[1], acked * pointsPerDatagram, registry[0],
        registry[1], registry[2], meters);
  }

  /** "lost / doubled" of each store, as one table cell. */
  String describe() {
    return String.format("archive %d / %d, time series %d / %d points, registry %d / %d%s",
        Math.max(0, acked - archiveDistinct), archiveRecords - archiveDistinct,
        Math.max(0, expectedPoints - pointsDistinct), points - pointsDistinct,
        Math.max(0, acked - registryDistinct), registryRows - registryDistinct,
        devicesSeen == meters ? "" : String.format(" (last_seen of only %d of %d meters)", devicesSeen, meters));
  }

  /** Points of the run's meters now visible (QuestDB makes writes visible once it applied its WAL). */
  static long points(JsonObject config, String prefix) throws SQLException {
    return points(config, prefix, false)[0];
  }

  private static long[] points(JsonObject config, String prefix, boolean distinct) throws SQLException {
    JsonObject quest = config.getJsonObject("timeseries").getJsonObject("questdb");
    String where = " WHERE device_id LIKE '" + prefix + "%'";
    try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + quest.getInteger("pg_port") + "/qdb",
        quest.getString("user"), quest.getString("password")); var s = c.createStatement()) {
      long total;
      try (var rs = s.executeQuery("SELECT count() FROM iot_telemetry" + where)) {
        rs.next();
        total = rs.getLong(1);
      } catch (SQLException e) {
        if (String.valueOf(e.getMessage()).contains("does not exist")) {
          return new long[] {0, 0};
        }
        throw e;
      }
      if (!distinct) {
        return new long[] {total, total};
      }
      try (var rs = s.executeQuery("SELECT count() FROM (SELECT DISTINCT device_id, metric, timestamp FROM iot_telemetry"
          + where + ")")) {
        rs.next();
        return new long[] {total, rs.getLong(1)};
      }
    }
  }

  private static long[] registry(JsonObject postgres, String prefix) throws SQLException {
    try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + postgres.getInteger("port") + "/"
        + postgres.getString("database"), postgres.getString("user"), ""); var s = c.createStatement()) {
      long rows;
      long distinct;
      try (var rs = s.executeQuery("SELECT count(*), count(DISTINCT (device_id, seq)) FROM intake_seen WHERE device_id LIKE '"
          + prefix + "%'")) {
        rs.next();
        rows = rs.getLong(1);
        distinct = rs.getLong(2);
      }
      try (var rs = s.executeQuery("SELECT count(*) FROM devices WHERE device_id LIKE '" + prefix + "%' AND last_seen IS NOT NULL")) {
        rs.next();
        return new long[] {rows, distinct, rs.getLong(1)};
      }
    }
  }

  /** Every archived record of the run's meters, read back from S3: {records, distinct (device, seq)}. */
  private static long[] archive(JsonObject s3, String prefix, int meters) throws Exception {
    AtomicLong records = new AtomicLong();
    Set<String> distinct = ConcurrentHashMap.newKeySet();
    ExecutorService readers = Executors.newFixedThreadPool(4);
    try (ObjectStore store = ObjectStores.open(s3)) {
      List<Future<?>> reads = new ArrayList<>();
      for (int d = 0; d < meters; d++) {
        String device = prefix + d;
        for (StoredObject object : store.list(device + "/telemetry/", 10_000_000)) {
          reads.add(readers.submit(() -> {
            String content = new String(store.get(object.key()), StandardCharsets.UTF_8);
            for (String line : content.split("\n")) {
              records.incrementAndGet();
              distinct.add(device + "#" + LoadGenerator.seqOf(Buffer.buffer(line)));
            }
          }));
        }
      }
      for (Future<?> read : reads) {
        read.get();
      }
    } finally {
      readers.shutdown();
    }
    return new long[] {records.get(), distinct.size()};
  }
}
