package io.iotmeter.sink;

import io.iotmeter.journal.AcceptedMessage;
import io.iotmeter.journal.Journal;
import io.iotmeter.journal.SinkKind;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.MigratedDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The production {@link FeedJournal} reads what the recovery scan and the backlog gauge need
 * from the real journal (JournalFeedTest drives the feed through the bus, where the recovery
 * scan rarely has anything to find; mutation testing showed a feed whose scan got nothing back
 * from here survived every test).
 */
@Timeout(60)
class FeedJournalReadsTest {

  @RegisterExtension
  final MigratedDatabase db = new MigratedDatabase("feed-journal-reads-test");

  @Test
  void theRecoveryScanAndTheBacklogSeeWhatIsPendingForTheSink() {
    Journal.Entry entry = new Journal.Entry("dc-meter-001", "telemetry", 0, 7L, Datagrams.T0, "iot/dc-meter-001/telemetry",
        Datagrams.telemetry("dc-meter-001", 7).encode(), 1, "endpoint", Datagrams.T0, (short) SinkKind.TIMESERIES.bit());
    long id = db.pool().withTransaction(conn -> Journal.append(conn, List.of(entry))).await().get(0);
    FeedJournal journal = FeedJournal.on(db.pool());

    List<AcceptedMessage> pending = journal.pending(SinkKind.TIMESERIES, Duration.ZERO, 10).await();
    assertThat(pending).extracting(AcceptedMessage::journalId).containsExactly(id);
    assertThat(pending.get(0).payload()).isEqualTo(entry.payload());
    assertThat(journal.pending(SinkKind.ARCHIVE, Duration.ZERO, 10).await()).isEmpty();
    assertThat(journal.backlog(SinkKind.TIMESERIES).await().messages()).isEqualTo(1);

    journal.clear(SinkKind.TIMESERIES, List.of(id)).await();
    assertThat(journal.pending(SinkKind.TIMESERIES, Duration.ZERO, 10).await()).isEmpty();
    assertThat(journal.backlog(SinkKind.TIMESERIES).await()).isEqualTo(new Journal.Backlog(0, null));
  }
}
