package io.iotmeter.quarantine;

import io.iotmeter.Main;
import io.iotmeter.bus.BusAddress;
import io.iotmeter.intake.IntakeVerticle;
import io.iotmeter.journal.Journal;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.MigratedDatabase;
import io.iotmeter.support.Profiles;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Tuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The SQL of {@link QuarantineStore} where it decides something: what prune deletes, a journal
 * row quarantined twice, and two replays of one message at once. Real PostgreSQL (the decisions
 * are the SQL's), a fresh database per test; {@code reliability.QuarantineTest} runs the whole
 * platform around them.
 */
@Timeout(60)
class QuarantineStoreTest {

  private static final Duration REJECTED_RETENTION = Duration.ofHours(24);
  private static final Duration REPLAYED_RETENTION = Duration.ofHours(168);

  @RegisterExtension
  final MigratedDatabase db = new MigratedDatabase("quarantine-store-test");

  private long count(String sql) {
    return TestPostgres.count(db.postgres(), sql);
  }

  /**
   * A row of {@code kind} with the given ages (a PostgreSQL interval before now; null for never).
   * Returns its id.
   */
  private long row(String kind, String archivedAgo, String replayedAgo) {
    return db.pool().preparedQuery("INSERT INTO message_quarantine (kind, sink, error_type, reason, device_id, topic, payload, qos, "
            + "source, received_at, created_at, archived_at, replayed_at) VALUES ($1, CASE WHEN $1 = 'quarantined' THEN 'timeseries' END, "
            + "'invalid_payload', 'test', 'dc-meter-001', 'iot/dc-meter-001/telemetry', '\\x7b7d'::bytea, 1, 'endpoint', "
            + "now() - interval '1000 hours', now() - interval '1000 hours', now() - $2::interval, now() - $3::interval) RETURNING id")
        .execute(Tuple.of(kind, archivedAgo, replayedAgo))
        .await().iterator().next().getLong(0);
  }

  private List<Long> remaining() {
    List<Long> ids = new ArrayList<>();
    db.pool().query("SELECT id FROM message_quarantine ORDER BY id").execute().await().forEach(r -> ids.add(r.getLong(0)));
    return ids;
  }

  @Test
  void pruneDeletesArchivedRejectedAndReplayedQuarantinedRowsPastTheirRetentionAndKeepsTheRest() {
    long rejectedArchivedLongAgo = row("rejected", "24 hours 1 minute", null);
    long rejectedArchivedRecently = row("rejected", "23 hours 59 minutes", null);
    long rejectedNotArchived = row("rejected", null, null);
    long replayedLongAgo = row("quarantined", "1000 hours", "168 hours 1 minute");
    long replayedRecently = row("quarantined", "1000 hours", "167 hours 59 minutes");
    // Archived long ago, never replayed: it waits for an operator however old it is.
    long waitingForReplay = row("quarantined", "1000 hours", null);

    int pruned = QuarantineStore.prune(db.pool(), REJECTED_RETENTION, REPLAYED_RETENTION).await();

    assertThat(pruned).isEqualTo(2);
    assertThat(remaining()).containsExactly(rejectedArchivedRecently, rejectedNotArchived, replayedRecently, waitingForReplay);
    assertThat(remaining()).doesNotContain(rejectedArchivedLongAgo, replayedLongAgo);
  }

  @Test
  void pruneDeletesABoundedChunkAtATime() {
    TestPostgres.execute(db.postgres(), "INSERT INTO message_quarantine (kind, error_type, reason, topic, payload, qos, source, "
        + "received_at, archived_at) SELECT 'rejected', 'json_decode', 'test', 't', '\\x00'::bytea, 0, 'endpoint', now(), "
        + "now() - interval '48 hours' FROM generate_series(1, 10005)");

    assertThat(QuarantineStore.prune(db.pool(), REJECTED_RETENTION, REPLAYED_RETENTION).await()).isEqualTo(10_000);
    assertThat(QuarantineStore.prune(db.pool(), REJECTED_RETENTION, REPLAYED_RETENTION).await()).isEqualTo(5);
    assertThat(QuarantineStore.prune(db.pool(), REJECTED_RETENTION, REPLAYED_RETENTION).await()).isZero();
    assertThat(count("SELECT count(*) FROM message_quarantine")).isZero();
  }

  /** Appends a telemetry message of dc-meter-001 (a known device) for the archive and the time series; returns it with its id. */
  private long journalRow(Journal.Entry entry) {
    TestPostgres.execute(db.postgres(), "INSERT INTO devices (device_id, device_name) VALUES ('dc-meter-001', 'dc-meter-001') "
        + "ON CONFLICT DO NOTHING");
    return db.pool().withTransaction(conn -> Journal.append(conn, List.of(entry))).await().get(0);
  }

  private static Journal.Entry entry() {
    return new Journal.Entry("dc-meter-001", "telemetry", 0, 7L, Datagrams.T0, "iot/dc-meter-001/telemetry",
        Datagrams.telemetry("dc-meter-001", 7).encode(), 1, "endpoint", Datagrams.T0, (short) 3);
  }

  private boolean quarantine(long journalId, Journal.Entry entry, String sink, String reason) {
    return db.pool().withTransaction(conn -> QuarantineStore.quarantine(conn, journalId, entry, sink, reason)).await();
  }

  @Test
  void quarantiningTheSameJournalRowTwiceForOneSinkKeepsTheFirstRowAndReportsFalse() {
    Journal.Entry entry = entry();
    long journalId = journalRow(entry);

    assertThat(quarantine(journalId, entry, "timeseries", "first")).isTrue();
    assertThat(quarantine(journalId, entry, "timeseries", "second")).as("quarantined for this sink already").isFalse();
    // Another sink that cannot store the same message keeps its own row.
    assertThat(quarantine(journalId, entry, "archive", "the archive's")).isTrue();

    assertThat(count("SELECT count(*) FROM message_quarantine")).isEqualTo(2);
    assertThat(count("SELECT count(*) FROM message_quarantine WHERE journal_id = " + journalId
        + " AND sink = 'timeseries' AND reason = 'first'")).isEqualTo(1);
    assertThat(count("SELECT count(*) FROM message_quarantine WHERE journal_id = " + journalId
        + " AND sink = 'archive' AND reason = 'the archive''s'")).isEqualTo(1);
  }

  @Test
  void twoReplaysOfOneQuarantinedMessageAtOncePutItBackInTheJournalOnce() throws Exception {
    Journal.Entry entry = entry();
    long journalId = journalRow(entry);
    assertThat(quarantine(journalId, entry, "timeseries", "value is NaN")).isTrue();
    long quarantinedId = count("SELECT id FROM message_quarantine");

    // The intake answers replays (POST /api/quarantine/{id}/replay goes to it over the bus).
    JsonObject config = Profiles.load("embedded");
    config.getJsonObject("postgres").mergeIn(db.postgres());
    config.getJsonObject("security").put("enabled", false).put("allow_default_secrets", true);
    Vertx intake = Main.createVertx(config).await();
    try {
      intake.deployVerticle(new IntakeVerticle(), new DeploymentOptions().setConfig(config)).await();
      List<Future<Message<JsonObject>>> replies = new ArrayList<>();
      // The test holds the row, so both replays are under way before either can decide: each
      // waits for the row (or, were the row not locked for the replay, for marking it replayed).
      try (Connection holder = DriverManager.getConnection(TestPostgres.jdbcUrl(db.postgres().getString("database")),
          "postgres", io.iotmeter.support.TestPostgres.password())) {
        holder.setAutoCommit(false);
        try (PreparedStatement lock = holder.prepareStatement("SELECT id FROM message_quarantine WHERE id = ? FOR UPDATE")) {
          lock.setLong(1, quarantinedId);
          lock.executeQuery().close();
        }
        for (int i = 0; i < 2; i++) {
          replies.add(intake.eventBus().request(BusAddress.QUARANTINE_REPLAY.address(), new JsonObject().put("id", quarantinedId)));
        }
        Eventually.within(Duration.ofSeconds(20), () -> assertThat(count("SELECT count(*) FROM pg_stat_activity "
            + "WHERE datname = current_database() AND wait_event_type = 'Lock'")).isEqualTo(2));
        holder.commit();
      }
      Future.join(replies).otherwiseEmpty().await();

      List<Long> replayedAs = new ArrayList<>();
      List<Integer> refused = new ArrayList<>();
      for (Future<Message<JsonObject>> reply : replies) {
        if (reply.succeeded()) {
          replayedAs.add(reply.result().body().getLong("journal_id"));
        } else {
          refused.add(((ReplyException) reply.cause()).failureCode());
        }
      }
      assertThat(replayedAs).hasSize(1);
      assertThat(refused).containsExactly(409);
      assertThat(count("SELECT count(*) FROM journal WHERE id <> " + journalId)).isEqualTo(1);
      assertThat(count("SELECT id FROM journal WHERE id <> " + journalId)).isEqualTo(replayedAs.get(0));
      assertThat(count("SELECT replay_journal_id FROM message_quarantine WHERE id = " + quarantinedId)).isEqualTo(replayedAs.get(0));
    } finally {
      intake.close().await();
    }
  }
}
