package io.iotmeter.journal;

import io.iotmeter.support.MigratedDatabase;
import io.iotmeter.support.TestPostgres;
import io.vertx.sqlclient.Pool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Edges of the journal that mutation testing (PIT, README "Mutation testing") found unguarded:
 * a batch with nothing to append (all copies) and every column of a row as read back. Real
 * PostgreSQL, a fresh database each.
 */
@Timeout(60)
class JournalBoundariesTest {

  private static final Instant T = Instant.parse("2026-12-01T10:00:00Z");

  @RegisterExtension
  final MigratedDatabase db = new MigratedDatabase("journal-boundaries-test");

  private Pool pool() {
    return db.pool();
  }

  private long append(Journal.Entry entry) {
    return pool().withTransaction(conn -> Journal.append(conn, List.of(entry))).await().get(0);
  }

  @Test
  void aBatchOfOnlyCopiesAppendsNothingAndStillCommits() {
    // The intake appends an empty list when every message of a batch was a copy; the
    // transaction must go on to commit so that the copies are answered as duplicates.
    List<Long> ids = pool().withTransaction(conn -> Journal.append(conn, List.of())).await();
    assertThat(ids).isEmpty();
    assertThat(TestPostgres.count(db.postgres(), "SELECT count(*) FROM journal")).isZero();
  }

  @Test
  void aRowReadBackHoldsEveryColumnAsAppended() {
    Journal.Entry entry = new Journal.Entry("dc-meter-007", "hello", 3, 42L, T.plusSeconds(5), "iot/dc-meter-007/hello",
        "{\"seq\":42}", 2, "broker:127.0.0.1:1883", T, (short) (SinkKind.ARCHIVE.bit() | SinkKind.REGISTRY.bit()));
    long id = append(entry);
    assertThat(Journal.read(pool(), id).await()).contains(entry);
  }
}
