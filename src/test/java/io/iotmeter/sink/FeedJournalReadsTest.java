package io.iotmeter.sink;

import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.journal.Journal;
import io.iotmeter.journal.SinkKind;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.MigratedDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The production {@link FeedJournal} onto the real journal: what a feed reads after its cursor,
 * the payloads it loads, its lease and its backlog (JournalFeedFailureTest drives the feed
 * through a fake of this seam; mutation testing showed that a seam answering nothing survived
 * every test that went through the bus alone).
 */
@Timeout(60)
class FeedJournalReadsTest {

  private static final Duration LEASE = Duration.ofSeconds(30);

  @RegisterExtension
  final MigratedDatabase db = new MigratedDatabase("feed-journal-reads-test");

  @Test
  void aFeedReadsLoadsAndMovesItsCursorThroughTheRealJournal() {
    Journal.Entry entry = new Journal.Entry("dc-meter-001", "telemetry", 0, 7L, Datagrams.T0, "iot/dc-meter-001/telemetry",
        Datagrams.telemetry("dc-meter-001", 7).encode(), 1, "endpoint", Datagrams.T0, (short) SinkKind.TIMESERIES.bit());
    long id = db.pool().withTransaction(conn -> Journal.append(conn, List.of(entry))).await().get(0);
    FeedJournal journal = FeedJournal.on(db.pool());

    Journal.Claim claim = journal.claim(SinkKind.TIMESERIES, "node-a", LEASE).await().orElseThrow();
    assertThat(claim.cursor()).isEqualTo(Journal.Position.START);
    assertThat(journal.claim(SinkKind.TIMESERIES, "node-b", LEASE).await()).isEmpty();
    List<Journal.Position> next = journal.next(SinkKind.TIMESERIES, claim.cursor(), null, 10).await();
    assertThat(next).extracting(Journal.Position::id).containsExactly(id);
    assertThat(journal.next(SinkKind.ARCHIVE, claim.cursor(), null, 10).await()).isEmpty();
    Map<Long, AcceptedMessage> loaded = journal.messages(List.of(id)).await();
    assertThat(loaded.get(id).payload()).isEqualTo(entry.payload());
    assertThat(journal.backlog(SinkKind.TIMESERIES).await().messages()).isEqualTo(1);

    assertThat(journal.beginBatch(SinkKind.TIMESERIES, "node-a", next.get(0), LEASE).await()).isTrue();
    assertThat(journal.advance(SinkKind.TIMESERIES, "node-a", next.get(0), LEASE).await()).isTrue();
    assertThat(journal.next(SinkKind.TIMESERIES, next.get(0), null, 10).await()).isEmpty();
    assertThat(journal.backlog(SinkKind.TIMESERIES).await()).isEqualTo(new Journal.Backlog(0, null));
    journal.release(SinkKind.TIMESERIES, "node-a").await();
    assertThat(journal.claim(SinkKind.TIMESERIES, "node-b", LEASE).await())
        .contains(new Journal.Claim(next.get(0), null));
    journal.ping().await();
  }
}
