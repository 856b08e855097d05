package io.iotmeter.audit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Acknowledgements reach the ledger whichever of the publish callback and the PUBACK comes first. */
class PublishTrackerTest {

  private final AckLedger ledger = new AckLedger();
  private final PublishTracker tracker = new PublishTracker(ledger, "broker A");
  private final MessageKey key = new MessageKey("m-1", 7);

  @Test
  void anAckAfterItsPublishCallbackIsRecorded() {
    tracker.sending(key);
    tracker.published(3, key, 100);
    tracker.acknowledged(3);
    assertThat(ledger.acked("broker A")).containsOnlyKeys(key);
    assertThat(ledger.acked("broker A").get(key).sentAtMs()).isEqualTo(100);
    assertThat(tracker.waiting()).isZero();
  }

  @Test
  void anAckBeforeItsPublishCallbackIsRecordedToo() {
    tracker.sending(key);
    tracker.acknowledged(3); // the PUBACK handler ran first
    assertThat(ledger.acked()).isEmpty();
    tracker.published(3, key, 100);
    assertThat(ledger.acked("broker A")).containsOnlyKeys(key);
    assertThat(ledger.unmatchedAcks()).isZero();
  }

  @Test
  void aPublishNeverAcknowledgedIsPublishedNotAcked() {
    tracker.sending(key);
    tracker.published(3, key, 100);
    tracker.connectionLost();
    tracker.acknowledged(3); // an id of the next connection: it must not be matched with the old message
    assertThat(ledger.acked()).isEmpty();
    assertThat(ledger.published()).containsExactly(key);
  }

  @Test
  void anAckThatNeverMeetsItsPublishIsCountedAsUnmatched() {
    tracker.acknowledged(9);
    tracker.connectionLost();
    assertThat(ledger.unmatchedAcks()).isEqualTo(1);
  }

  @Test
  void pathsKeepTheirOwnAcknowledgements() {
    PublishTracker other = new PublishTracker(ledger, "broker B");
    tracker.published(1, key, 100);
    tracker.acknowledged(1);
    MessageKey second = new MessageKey("m-1", 8);
    other.published(1, second, 200);
    other.acknowledged(1);
    assertThat(ledger.acked("broker A")).containsOnlyKeys(key);
    assertThat(ledger.acked("broker B")).containsOnlyKeys(second);
    assertThat(ledger.acked()).containsExactlyInAnyOrder(key, second);
    assertThat(ledger.newestAckedSend()).containsEntry("m-1", 200L);
  }

  @Test
  void aLedgerWrittenToAFileReadsBackTheSame(@TempDir Path dir) {
    Path file = dir.resolve("ledger.txt");
    try (AckLedger written = AckLedger.recordingTo(file)) {
      PublishTracker t = new PublishTracker(written, "endpoint");
      t.sending(key);
      t.sending(new MessageKey("m-1", 8));
      t.published(1, key, 100);
      t.acknowledged(1);
      t.acknowledged(2);
      t.connectionLost();
    }
    AckLedger read = AckLedger.read(file);
    assertThat(read.acked("endpoint")).containsOnlyKeys(key);
    assertThat(read.published()).containsExactlyInAnyOrder(key, new MessageKey("m-1", 8));
    assertThat(read.unmatchedAcks()).isEqualTo(1);
  }

  @Test
  void theRegistrysBoundIsTheFirstSendOfTheNewestMessage() {
    // Each message through connection a, then its copy through b once a acknowledged it: the copy is
    // a duplicate the platform drops, so only the first send bounds last_seen.
    MessageKey second = new MessageKey("m-1", 8);
    ledger.acked("a", key, 100, 110);
    ledger.acked("b", key, 120, 130);
    ledger.acked("a", second, 140, 150);
    ledger.acked("b", second, 160, 170);
    assertThat(ledger.firstSends()).containsEntry(key, 100L).containsEntry(second, 140L);
    assertThat(ledger.newestAckedSend()).containsExactly(java.util.Map.entry("m-1", 140L));
  }
}
