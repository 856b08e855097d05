package io.iotmeter.timeseries;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;

/**
 * The store of the {@code embedded} profile: QuestDB, written through the same InfluxDB client
 * and line protocol as production (QuestDB's {@code /api/v2/write}), read with SQL over its
 * PostgreSQL wire protocol with bound parameters.
 *
 * <p>The table is created up front as a WAL table with {@code DEDUP UPSERT KEYS(timestamp,
 * device_id, metric)}: that is what makes a repeated write replace instead of add, as InfluxDB
 * does by itself. Its WAL is applied asynchronously, so a query right after a write may not see
 * the write yet (typically for well under a second).
 */
public final class QuestDbStore implements TimeSeriesStore {

  private static final String TABLE = LineProtocol.MEASUREMENT;

  // "timestamp" is the name QuestDB gives the designated timestamp of a table that line protocol
  // creates, so a table auto-created by an earlier write has the same shape and key.
  private static final String CREATE_TABLE = "CREATE TABLE IF NOT EXISTS " + TABLE + " ("
      + "device_id SYMBOL, metric SYMBOL, unit SYMBOL, value DOUBLE, timestamp TIMESTAMP"
      + ") TIMESTAMP(timestamp) PARTITION BY DAY WAL DEDUP UPSERT KEYS(timestamp, device_id, metric)";
  // For a table that exists without deduplication; a no-op when it is already on.
  private static final String ENABLE_DEDUP = "ALTER TABLE " + TABLE + " DEDUP ENABLE UPSERT KEYS(timestamp, device_id, metric)";

  private static final String SELECT = "SELECT timestamp, metric, value FROM " + TABLE
      + " WHERE device_id = ? AND timestamp >= ? AND timestamp < ?";
  private static final String ORDER = " ORDER BY timestamp, metric";

  /** Seconds. Without a socket timeout (the driver's default) a hung server would hold a query forever. */
  private static final int CONNECT_TIMEOUT_S = 3;
  private static final int SOCKET_TIMEOUT_S = 30;

  private final InfluxV2Endpoint endpoint;
  private final String jdbcUrl;
  private final Properties jdbcProperties;

  private QuestDbStore(InfluxV2Endpoint endpoint, String jdbcUrl, Properties jdbcProperties) {
    this.endpoint = endpoint;
    this.jdbcUrl = jdbcUrl;
    this.jdbcProperties = jdbcProperties;
  }

  /**
   * Connects to a QuestDB server and creates the table when missing.
   *
   * @param httpPort its HTTP port (line protocol writes, ping)
   * @param pgPort   its PostgreSQL wire port (queries, table creation)
   * @throws TimeSeriesException when the server cannot be reached or refuses the table
   */
  public static QuestDbStore open(String host, int httpPort, int pgPort, String user, String password) {
    Properties properties = new Properties();
    properties.setProperty("user", user);
    properties.setProperty("password", password);
    properties.setProperty("connectTimeout", String.valueOf(CONNECT_TIMEOUT_S));
    properties.setProperty("loginTimeout", String.valueOf(CONNECT_TIMEOUT_S));
    properties.setProperty("socketTimeout", String.valueOf(SOCKET_TIMEOUT_S));
    properties.setProperty("ApplicationName", "iot-meter");
    String jdbcUrl = "jdbc:postgresql://" + host + ":" + pgPort + "/qdb";
    // QuestDB ignores the token, org and bucket; the client needs some. No gzip: the server is
    // local, compressing would only cost CPU on both sides.
    InfluxV2Endpoint endpoint = new InfluxV2Endpoint("QuestDB", "http://" + host + ":" + httpPort,
        "iot-org", "iot-metrics", "unused", false);
    QuestDbStore store = new QuestDbStore(endpoint, jdbcUrl, properties);
    try {
      store.createTable();
      return store;
    } catch (RuntimeException e) {
      store.close();
      throw e;
    }
  }

  private void createTable() {
    try (Connection connection = connect(); Statement statement = connection.createStatement()) {
      statement.execute(CREATE_TABLE);
      statement.execute(ENABLE_DEDUP);
    } catch (SQLException e) {
      throw failure("Creating table " + TABLE, e);
    }
  }

  @Override
  public void write(List<Point> points) {
    endpoint.write(points);
  }

  @Override
  public List<MetricSample> query(String deviceId, Instant start, Instant stop, Optional<String> metric, int maxRows) {
    // An int literal, not text of the caller's: LIMIT takes no bound parameter here.
    String sql = SELECT + (metric.isPresent() ? " AND metric = ?" : "") + ORDER
        + (maxRows < Integer.MAX_VALUE ? " LIMIT " + Math.max(0, maxRows) : "");
    List<MetricSample> samples = new ArrayList<>();
    // A connection per query: queries are few (REST calls), a local connect takes about a
    // millisecond, and no pooled connection can go stale across a server restart.
    try (Connection connection = connect(); PreparedStatement statement = connection.prepareStatement(sql)) {
      statement.setString(1, deviceId);
      statement.setObject(2, storedInstantAtOrAfter(start));
      statement.setObject(3, storedInstantAtOrAfter(stop));
      if (metric.isPresent()) {
        statement.setString(4, metric.get());
      }
      try (ResultSet rows = statement.executeQuery()) {
        while (rows.next()) {
          Instant time = rows.getObject(1, OffsetDateTime.class).toInstant();
          samples.add(new MetricSample(time, deviceId, rows.getString(2), rows.getDouble(3)));
        }
      }
    } catch (SQLException e) {
      throw failure("Querying " + deviceId, e);
    }
    return samples;
  }

  /**
   * Waits until QuestDB's WAL has applied every transaction committed so far (its writer has
   * reached the sequencer's number as read at the start): what a reader sees is then at least
   * what was written before. Polls every 20 ms: a worker's call, as every method of the store is.
   */
  @Override
  public boolean awaitWrites(java.time.Duration max) {
    long deadline = System.nanoTime() + max.toNanos();
    try (Connection connection = connect();
         PreparedStatement statement = connection.prepareStatement(
             "SELECT sequencerTxn, writerTxn FROM wal_tables() WHERE name = '" + TABLE + "'")) {
      long target = -1;
      while (true) {
        try (ResultSet rows = statement.executeQuery()) {
          if (!rows.next()) {
            return true;
          }
          target = target < 0 ? rows.getLong(1) : target;
          if (rows.getLong(2) >= target) {
            return true;
          }
        }
        if (System.nanoTime() > deadline) {
          return false;
        }
        Thread.sleep(20);
      }
    } catch (SQLException e) {
      throw failure("Reading the WAL's progress", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * Stored times are whole microseconds, and the driver rounds a bound instant to microseconds
   * (possibly down): rounding the bounds up keeps {@code start <= time < stop} exact.
   */
  private static OffsetDateTime storedInstantAtOrAfter(Instant bound) {
    Instant micros = bound.truncatedTo(ChronoUnit.MICROS);
    Instant up = micros.equals(bound) ? bound : micros.plus(1, ChronoUnit.MICROS);
    return up.atOffset(ZoneOffset.UTC);
  }

  /** Both paths the store uses: HTTP for writes, PG-wire for queries. */
  @Override
  public void ping() {
    endpoint.ping();
    try (Connection connection = connect(); Statement statement = connection.createStatement()) {
      statement.execute("SELECT 1");
    } catch (SQLException e) {
      throw failure("Ping over PG-wire", e);
    }
  }

  @Override
  public void close() {
    endpoint.close();
  }

  private Connection connect() throws SQLException {
    return DriverManager.getConnection(jdbcUrl, jdbcProperties);
  }

  private TimeSeriesException failure(String action, SQLException e) {
    // SQL state class 08 is "connection exception": the server is down or unreachable.
    boolean unreachable = e.getSQLState() != null && e.getSQLState().startsWith("08");
    return new TimeSeriesException("QuestDB at " + jdbcUrl + ": " + action + " failed: " + e.getMessage(), unreachable, e);
  }
}
