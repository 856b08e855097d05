package io.iotmeter.sink;

import io.iotmeter.journal.SinkKind;
import io.iotmeter.support.MigratedDatabase;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The quarantine transaction of {@link FeedJournal#on} (the production side of the seam that
 * {@link JournalFeedFailureTest} fakes) in PostgreSQL, where another node was faster: the row
 * was quarantined already, or pruned.
 */
@Timeout(60)
class FeedJournalTest {

  @RegisterExtension
  final MigratedDatabase db = new MigratedDatabase("feed-journal-test");

  /** A journal row pending for the archive and the time series (bits 1 | 2); returns its id. */
  private long journalRow() {
    JsonObject postgres = db.postgres();
    TestPostgres.execute(postgres, "INSERT INTO devices (device_id, device_name) VALUES ('dc-meter-001', 'dc-meter-001') "
        + "ON CONFLICT DO NOTHING");
    TestPostgres.execute(postgres, "INSERT INTO journal (id, device_id, category, epoch, seq, device_ts, topic, payload, "
        + "qos, source, received_at, sinks) VALUES (nextval('journal_id_seq'), 'dc-meter-001', 'telemetry', 0, 7, now(), "
        + "'iot/dc-meter-001/telemetry', '{}', 1, 'endpoint', now(), 3)");
    return TestPostgres.count(postgres, "SELECT max(id) FROM journal");
  }

  private long count(String sql) {
    return TestPostgres.count(db.postgres(), sql);
  }

  @Test
  void aRowQuarantinedByAnotherNodeFirstIsNotQuarantinedAgain() {
    long id = journalRow();
    TestPostgres.execute(db.postgres(), "INSERT INTO message_quarantine (kind, sink, error_type, reason, device_id, category, "
        + "topic, payload, qos, source, received_at, journal_id) VALUES ('quarantined', 'timeseries', 'quarantined', "
        + "'the other node''s reason', 'dc-meter-001', 'telemetry', 'iot/dc-meter-001/telemetry', '{}', 1, 'endpoint', now(), "
        + id + ")");

    boolean quarantined = FeedJournal.on(db.pool()).quarantine(SinkKind.TIMESERIES, id, "this node's reason").await();

    assertThat(quarantined).isFalse();
    assertThat(count("SELECT count(*) FROM message_quarantine")).isEqualTo(1);
    assertThat(count("SELECT count(*) FROM message_quarantine WHERE reason = 'the other node''s reason'")).isEqualTo(1);
    assertThat(count("SELECT count(*) FROM device_alerts")).isZero();
  }

  @Test
  void aRowThatIsGoneQuarantinesNothing() {
    long id = journalRow();
    TestPostgres.execute(db.postgres(), "DELETE FROM journal WHERE id = " + id);

    boolean quarantined = FeedJournal.on(db.pool()).quarantine(SinkKind.TIMESERIES, id, "refused").await();

    assertThat(quarantined).isFalse();
    assertThat(count("SELECT count(*) FROM message_quarantine")).isZero();
    assertThat(count("SELECT count(*) FROM device_alerts")).isZero();
  }

  @Test
  void aRowIsQuarantinedWithItsReasonAndStaysInTheJournalForTheOtherSinks() {
    long id = journalRow();

    boolean quarantined = FeedJournal.on(db.pool()).quarantine(SinkKind.TIMESERIES, id, "value is NaN").await();

    assertThat(quarantined).isTrue();
    assertThat(count("SELECT count(*) FROM message_quarantine WHERE kind = 'quarantined' AND sink = 'timeseries' "
        + "AND journal_id = " + id + " AND reason = 'value is NaN' AND seq = 7")).isEqualTo(1);
    assertThat(count("SELECT sinks FROM journal WHERE id = " + id)).as("appended once, never changed").isEqualTo(3);
  }
}
