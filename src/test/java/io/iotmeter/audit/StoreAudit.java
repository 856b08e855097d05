package io.iotmeter.audit;

import io.iotmeter.archive.ObjectStore;
import io.iotmeter.archive.ObjectStores;
import io.iotmeter.archive.StoredObject;
import io.iotmeter.protocol.Category;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * The one store audit of the fault suite, the benchmark and every test that claims "stored
 * exactly once": given the exact set of {@code (device, seq)} the meters saw acknowledged (an
 * {@link AckLedger}) and what each seq was ({@link LoadLayout}), it reads every store back and
 * reports per store, per key and without clamping: what is missing, what is held twice, and what
 * is held but was never acknowledged ({@link AuditReport}).
 *
 * <ul>
 *   <li><b>Archive</b>: every record of every object under each device's prefix, by the seq in
 *       its {@code data}.</li>
 *   <li><b>Time series</b>: every point of every metric of each device, by (device, metric,
 *       time); each point is attributed to the datagram that carried it, so a datagram with one
 *       point missing is missing, and a point held twice is doubled. A store with an upsert key
 *       (QuestDB's {@code DEDUP}) cannot hold two, so the points the sink <em>sent</em> are
 *       counted too, by a {@link PointSends} recorder between the platform and the store: a point
 *       sent again shows as a rewrite.</li>
 *   <li><b>Registry</b>: what the registry sink writes, against the messages that carry it: each
 *       device's {@code last_seen} is no older than the send of its newest acknowledged message;
 *       its firmware version is that of its newest acknowledged hello or a later one; every
 *       acknowledged command ack has set its command's result; every acknowledged OTA report is
 *       one row of progress.</li>
 * </ul>
 *
 * <p>Call {@link #awaitSettled} first: the audit counts once, exactly, after the stores are quiet.
 */
public final class StoreAudit {

  /** Where QuestDB answers: SQL over PG-wire. */
  public record QuestDb(String host, int pgPort, String user, String password) {

    /** From a {@code timeseries.questdb} configuration section. */
    public static QuestDb of(JsonObject questdb) {
      return new QuestDb(questdb.getString("host", "127.0.0.1"), questdb.getInteger("pg_port"),
          questdb.getString("user", "admin"), questdb.getString("password", "quest"));
    }

    Connection connect() throws SQLException {
      return DriverManager.getConnection("jdbc:postgresql://" + host + ":" + pgPort + "/qdb", user, password);
    }
  }

  /** Points the time-series sink sent and the store accepted, counted by a recorder in front of the store. */
  public interface PointSends {
    /** Points sent again after the store had accepted them once. */
    long rewrites();
  }

  public static final String ARCHIVE = "archive";
  public static final String TIME_SERIES = "time series";
  public static final String REGISTRY = "registry";

  private static final Pattern SAFE_ID = Pattern.compile("[A-Za-z0-9._-]+");
  private static final String TABLE = "iot_telemetry";

  private final AckLedger ledger;
  private final LoadLayout layout;
  private final List<String> devices;
  private JsonObject s3;
  private QuestDb questdb;
  private PointSends sends;
  private JsonObject postgres;

  private StoreAudit(AckLedger ledger, LoadLayout layout, Collection<String> devices) {
    this.ledger = ledger;
    this.layout = layout;
    this.devices = List.copyOf(devices);
    this.devices.forEach(StoreAudit::checkId);
  }

  /** An audit of what {@code devices} sent by {@code layout}, against what {@code ledger} says was acknowledged. */
  public static StoreAudit of(AckLedger ledger, LoadLayout layout, Collection<String> devices) {
    return new StoreAudit(ledger, layout, devices);
  }

  /** Audits the archive (an {@code s3} configuration section). */
  public StoreAudit archive(JsonObject s3) {
    this.s3 = s3;
    return this;
  }

  /** Audits the time series held by QuestDB; {@code sends} (may be null) counts what the sink sent. */
  public StoreAudit timeSeries(QuestDb questdb, PointSends sends) {
    this.questdb = questdb;
    this.sends = sends;
    return this;
  }

  /** Audits the registry (a {@code postgres} configuration section). */
  public StoreAudit registry(JsonObject postgres) {
    this.postgres = postgres;
    return this;
  }

  /** Reads every store once and reports. */
  public AuditReport run() {
    Set<MessageKey> acked = ledger.acked();
    Set<MessageKey> published = ledger.published();
    List<StoreFinding> findings = new ArrayList<>();
    try {
      if (s3 != null) {
        findings.add(archive(acked, published));
      }
      if (questdb != null) {
        findings.add(timeSeries(acked, published));
      }
      if (postgres != null) {
        findings.add(registry(acked));
      }
    } catch (Exception e) {
      throw new IllegalStateException("Auditing the stores failed: " + e, e);
    }
    return new AuditReport(acked.size(), published.size(), ledger.unmatchedAcks(), findings);
  }

  // ---------------------------------------------------------------- archive

  private StoreFinding archive(Set<MessageKey> acked, Set<MessageKey> published) throws Exception {
    Map<MessageKey, Integer> records = new ConcurrentHashMap<>();
    AtomicLong withoutSeq = new AtomicLong();
    AtomicLong misfiled = new AtomicLong();
    ExecutorService readers = Executors.newFixedThreadPool(4);
    try (ObjectStore store = ObjectStores.open(s3)) {
      List<Future<?>> reads = new ArrayList<>();
      for (String device : devices) {
        for (StoredObject object : store.list(device + "/", Integer.MAX_VALUE)) {
          reads.add(readers.submit(() -> {
            for (String line : new String(store.get(object.key()), StandardCharsets.UTF_8).split("\n")) {
              if (line.isBlank()) {
                continue; // an empty object, or one a test emptied: no record in it
              }
              JsonObject record = new JsonObject(line);
              JsonObject data = record.getJsonObject("data");
              if (!device.equals(record.getString("device_id"))) {
                misfiled.incrementAndGet();
              } else if (data == null || data.getValue("seq") == null) {
                withoutSeq.incrementAndGet(); // a status message: it carries no seq
              } else {
                records.merge(new MessageKey(device, data.getLong("seq")), 1, Integer::sum);
              }
            }
            return null;
          }));
        }
      }
      for (Future<?> read : reads) {
        read.get();
      }
    } finally {
      readers.shutdown();
    }
    List<String> notes = new ArrayList<>();
    if (withoutSeq.get() > 0) {
      notes.add(String.format("%,d records without a seq (status messages)", withoutSeq.get()));
    }
    if (misfiled.get() > 0) {
      notes.add(String.format("! %,d records under another device's prefix", misfiled.get()));
    }
    return finding(ARCHIVE, acked, published, records, -1, notes);
  }

  // ---------------------------------------------------------------- time series

  private StoreFinding timeSeries(Set<MessageKey> acked, Set<MessageKey> published) throws SQLException {
    // Per telemetry message, one bit per expected point: set when read, a second read is a second copy.
    Map<MessageKey, long[]> seen = new HashMap<>();
    long foreign = 0;
    long extraPoints = 0;
    SortedSet<MessageKey> doubled = new TreeSet<>();
    try (Connection c = questdb.connect(); var s = c.createStatement()) {
      if (!tableExists(s)) {
        return finding(TIME_SERIES, telemetry(acked), published, Map.of(), rewrites(), List.of("no points at all"));
      }
      for (int from = 0; from < devices.size(); from += 50) {
        List<String> chunk = devices.subList(from, Math.min(devices.size(), from + 50));
        String in = String.join("','", chunk);
        try (ResultSet rows = s.executeQuery("SELECT device_id, metric, timestamp FROM " + TABLE + " WHERE device_id IN ('" + in
            + "')")) {
          while (rows.next()) {
            String device = rows.getString(1);
            Instant time = rows.getObject(3, OffsetDateTime.class).toInstant();
            long seq = layout.seqAt(time);
            int index = seq < 0 ? -1 : layout.pointIndex(seq, rows.getString(2), time);
            if (index < 0) {
              foreign++;
              continue;
            }
            MessageKey key = new MessageKey(device, seq);
            long[] bits = seen.computeIfAbsent(key, k -> new long[1]);
            if ((bits[0] & (1L << index)) != 0) {
              doubled.add(key);
              extraPoints++;
            }
            bits[0] |= 1L << index;
          }
        }
      }
    }
    Map<MessageKey, Integer> complete = new HashMap<>();
    SortedSet<MessageKey> partial = new TreeSet<>();
    seen.forEach((key, bits) -> {
      int expected = layout.points(key.seq()).size();
      if (bits[0] == (expected == 64 ? -1L : (1L << expected) - 1)) {
        complete.put(key, 1);
      } else {
        partial.add(key);
      }
    });
    List<String> notes = new ArrayList<>();
    if (foreign > 0) {
      notes.add(String.format("! %,d points no message of the load carries", foreign));
    }
    if (!partial.isEmpty()) {
      notes.add(String.format("%,d messages with only some of their points", partial.size()));
    }
    StoreFinding base = finding(TIME_SERIES, telemetry(acked), published, complete, rewrites(), notes);
    // A doubled point: the message is there (once), and one of its points twice.
    return new StoreFinding(base.store(), base.expected(), base.stored(), base.missing(), doubled, extraPoints, base.unacked(),
        base.rewrites(), base.notes());
  }

  private long rewrites() {
    return sends == null ? -1 : sends.rewrites();
  }

  private Set<MessageKey> telemetry(Set<MessageKey> keys) {
    Set<MessageKey> telemetry = new java.util.HashSet<>();
    keys.forEach(k -> {
      if (layout.category(k.seq()) == Category.TELEMETRY) {
        telemetry.add(k);
      }
    });
    return telemetry;
  }

  private static boolean tableExists(java.sql.Statement s) throws SQLException {
    try (ResultSet rows = s.executeQuery("SELECT count() FROM tables() WHERE table_name = '" + TABLE + "'")) {
      rows.next();
      return rows.getLong(1) > 0;
    }
  }

  // ---------------------------------------------------------------- registry

  private StoreFinding registry(Set<MessageKey> acked) throws SQLException {
    Set<MessageKey> expected = new java.util.HashSet<>();
    Map<MessageKey, Integer> held = new HashMap<>();
    SortedSet<MessageKey> unacked = new TreeSet<>();
    Map<String, Long> newestSend = ledger.newestAckedSend();
    // The newest acknowledged message of each device (by its first send) and its newest acknowledged hello.
    Map<String, MessageKey> newest = new HashMap<>();
    Map<String, Long> newestHello = new HashMap<>();
    ledger.firstSends().forEach((key, sent) -> {
      if (sent.longValue() == newestSend.get(key.device())) {
        newest.merge(key.device(), key, (a, b) -> a.seq() >= b.seq() ? a : b);
      }
      if (layout.category(key.seq()) == Category.HELLO) {
        newestHello.merge(key.device(), key.seq(), Math::max);
      }
    });
    Map<UUID, MessageKey> ackOf = new HashMap<>();
    for (MessageKey key : ledger.published()) {
      if (layout.category(key.seq()) == Category.COMMAND_ACK) {
        ackOf.put(layout.commandOf(key.device(), key.seq()), key);
      }
    }
    List<String> notes = new ArrayList<>();
    try (Connection c = jdbc(postgres)) {
      java.sql.Array ids = c.createArrayOf("text", devices.toArray());
      // last_seen and the firmware version: a device with no row has neither, so its facts are missing
      newest.values().forEach(expected::add);
      newestHello.forEach((device, seq) -> expected.add(new MessageKey(device, seq)));
      try (PreparedStatement s = c.prepareStatement("SELECT device_id, last_seen, fw_version FROM devices WHERE device_id = ANY(?)")) {
        s.setArray(1, ids);
        try (ResultSet rows = s.executeQuery()) {
          while (rows.next()) {
            String device = rows.getString(1);
            Timestamp lastSeen = rows.getTimestamp(2);
            MessageKey key = newest.get(device);
            if (key != null && lastSeen != null && lastSeen.getTime() >= newestSend.get(device)) {
              held.put(key, 1);
            }
            Long hello = newestHello.get(device);
            if (hello != null && firmwareSeq(rows.getString(3)) >= hello) {
              held.put(new MessageKey(device, hello), 1);
            }
          }
        }
      }
      // command results
      try (PreparedStatement s = c.prepareStatement("SELECT cmd_id, status FROM device_commands WHERE device_id = ANY(?) "
          + "AND cmd <> 'ota_update'")) {
        s.setArray(1, ids);
        try (ResultSet rows = s.executeQuery()) {
          while (rows.next()) {
            MessageKey key = ackOf.get(rows.getObject(1, UUID.class));
            if (key != null && "accepted".equals(rows.getString(2))) {
              held.put(key, 1);
            }
          }
        }
      }
      acked.stream().filter(k -> layout.category(k.seq()) == Category.COMMAND_ACK).forEach(expected::add);
      // OTA progress: one row per report, keyed by the device time it reported
      long foreign = 0;
      try (PreparedStatement s = c.prepareStatement("SELECT c.device_id, p.reported_at, count(*) FROM device_command_progress p "
          + "JOIN device_commands c ON c.cmd_id = p.cmd_id WHERE c.device_id = ANY(?) GROUP BY c.device_id, p.reported_at")) {
        s.setArray(1, ids);
        try (ResultSet rows = s.executeQuery()) {
          while (rows.next()) {
            long seq = layout.seqOfReport(rows.getObject(2, OffsetDateTime.class).toInstant());
            if (seq < 0) {
              foreign++;
            } else {
              held.put(new MessageKey(rows.getString(1), seq), (int) rows.getLong(3));
            }
          }
        }
      }
      acked.stream().filter(k -> layout.category(k.seq()) == Category.OTA_STATUS).forEach(expected::add);
      if (foreign > 0) {
        notes.add(String.format("! %,d OTA progress rows no report of the load carries", foreign));
      }
    }
    SortedSet<MessageKey> missing = new TreeSet<>();
    expected.forEach(k -> {
      if (!held.containsKey(k)) {
        missing.add(k);
      }
    });
    SortedSet<MessageKey> doubled = new TreeSet<>();
    long extra = 0;
    for (Map.Entry<MessageKey, Integer> e : held.entrySet()) {
      if (e.getValue() > 1) {
        doubled.add(e.getKey());
        extra += e.getValue() - 1;
      }
      if (!acked.contains(e.getKey())) {
        unacked.add(e.getKey());
      }
    }
    return new StoreFinding(REGISTRY, expected.size(), held.size(), missing, doubled, extra, unacked, -1, notes);
  }

  /** The seq a hello's firmware version names ("1.<seq>.0", {@link MixedLayout}), or -1. */
  private long firmwareSeq(String version) {
    if (version == null) {
      return -1;
    }
    String[] parts = version.split("\\.");
    try {
      long seq = Long.parseLong(parts[1]);
      return layout.category(seq) == Category.HELLO && layout.helloFirmware(seq).equals(version) ? seq : -1;
    } catch (RuntimeException e) {
      return -1;
    }
  }

  // ---------------------------------------------------------------- shared

  private static StoreFinding finding(String store, Set<MessageKey> expected, Set<MessageKey> published,
                                      Map<MessageKey, Integer> held, long rewrites, List<String> notes) {
    SortedSet<MessageKey> missing = new TreeSet<>();
    for (MessageKey key : expected) {
      if (!held.containsKey(key)) {
        missing.add(key);
      }
    }
    SortedSet<MessageKey> doubled = new TreeSet<>();
    SortedSet<MessageKey> unacked = new TreeSet<>();
    long extra = 0;
    long strangers = 0;
    for (Map.Entry<MessageKey, Integer> e : held.entrySet()) {
      if (e.getValue() > 1) {
        doubled.add(e.getKey());
        extra += e.getValue() - 1;
      }
      if (!expected.contains(e.getKey())) {
        if (published.contains(e.getKey())) {
          unacked.add(e.getKey());
        } else {
          strangers++;
        }
      }
    }
    List<String> all = new ArrayList<>(notes);
    if (strangers > 0) {
      all.add(String.format("! %,d messages the load never published", strangers));
    }
    return new StoreFinding(store, expected.size(), held.size(), missing, doubled, extra, unacked, rewrites, all);
  }

  private static void checkId(String device) {
    if (!SAFE_ID.matcher(device).matches()) {
      throw new IllegalArgumentException("not a device id the audit can query: " + device);
    }
  }

  // ---------------------------------------------------------------- before and after a load

  /**
   * Creates the devices and the commands the layout's acks and OTA reports refer to (delivered
   * already, so that no redelivery or time-out touches them).
   */
  public static void prepare(JsonObject postgres, LoadLayout layout, Collection<String> devices) {
    try (Connection c = jdbc(postgres)) {
      try (PreparedStatement d = c.prepareStatement("INSERT INTO devices (device_id, device_name, device_type) VALUES (?, ?, "
          + "'power_meter_dc') ON CONFLICT DO NOTHING");
           PreparedStatement cmd = c.prepareStatement("INSERT INTO device_commands (cmd_id, device_id, cmd, status, delivered_at) "
               + "VALUES (?, ?, ?, 'pending', now()) ON CONFLICT DO NOTHING")) {
        for (String device : devices) {
          d.setString(1, device);
          d.setString(2, "Audited meter " + device);
          d.addBatch();
          for (LoadLayout.PreparedCommand command : layout.commands(device)) {
            cmd.setObject(1, command.cmdId());
            cmd.setString(2, device);
            cmd.setString(3, command.cmd());
            cmd.addBatch();
          }
        }
        d.executeBatch();
        cmd.executeBatch();
      }
    } catch (SQLException e) {
      throw new IllegalStateException("Preparing the registry for the audit failed", e);
    }
  }

  /**
   * Waits until the stores are quiet — no journal row waits for a sink, QuestDB has applied
   * every write it took — and stay quiet for {@code settle} (a late copy would show in that
   * time); then the audit counts once, exactly.
   */
  public static void awaitSettled(JsonObject postgres, QuestDb questdb, Duration settle, Duration limit) {
    long deadline = System.nanoTime() + limit.toNanos();
    String last = null;
    while (System.nanoTime() < deadline) {
      String state = quietState(postgres, questdb);
      if (state != null && state.equals(last)) {
        return;
      }
      last = state;
      sleep(state == null ? Duration.ofMillis(200) : settle);
    }
    throw new AssertionError("The stores did not settle within " + limit + ": " + describe(postgres, questdb));
  }

  /** A fingerprint of a quiet state (journal empty of pending rows, WAL applied), or null while not quiet. */
  private static String quietState(JsonObject postgres, QuestDb questdb) {
    try (Connection c = jdbc(postgres); var s = c.createStatement();
         ResultSet rows = s.executeQuery("SELECT (SELECT count(*) FROM journal_waiting), (SELECT coalesce(max(id), 0) FROM journal)")) {
      rows.next();
      if (rows.getLong(1) != 0) {
        return null;
      }
      String journal = "journal " + rows.getLong(2);
      return questdb == null ? journal : walApplied(questdb) ? journal + " wal " + walTxn(questdb) : null;
    } catch (SQLException e) {
      return null;
    }
  }

  private static boolean walApplied(QuestDb questdb) throws SQLException {
    try (Connection c = questdb.connect(); var s = c.createStatement();
         ResultSet rows = s.executeQuery("SELECT writerTxn, sequencerTxn, suspended FROM wal_tables() WHERE name = '" + TABLE + "'")) {
      if (!rows.next()) {
        return true; // no table yet: nothing to apply
      }
      if (rows.getBoolean(3)) {
        throw new IllegalStateException("QuestDB suspended the WAL of " + TABLE + ": it will never apply the rest");
      }
      return rows.getLong(1) == rows.getLong(2);
    }
  }

  private static long walTxn(QuestDb questdb) throws SQLException {
    try (Connection c = questdb.connect(); var s = c.createStatement();
         ResultSet rows = s.executeQuery("SELECT sequencerTxn FROM wal_tables() WHERE name = '" + TABLE + "'")) {
      return rows.next() ? rows.getLong(1) : 0;
    }
  }

  private static String describe(JsonObject postgres, QuestDb questdb) {
    try (Connection c = jdbc(postgres); var s = c.createStatement();
         ResultSet rows = s.executeQuery("SELECT sink, count(*) FROM journal_waiting GROUP BY sink")) {
      StringBuilder text = new StringBuilder("journal rows waiting by sink:");
      while (rows.next()) {
        text.append(' ').append(rows.getString(1)).append('=').append(rows.getLong(2));
      }
      return text.toString();
    } catch (SQLException e) {
      return "journal unreadable: " + e.getMessage();
    }
  }

  static Connection jdbc(JsonObject postgres) throws SQLException {
    return DriverManager.getConnection("jdbc:postgresql://" + postgres.getString("host", "127.0.0.1") + ":"
        + postgres.getInteger("port") + "/" + postgres.getString("database"), postgres.getString("user", "postgres"),
        postgres.getString("password", ""));
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
