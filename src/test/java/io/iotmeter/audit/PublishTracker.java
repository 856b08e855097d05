package io.iotmeter.audit;

import java.util.HashMap;
import java.util.Map;

/**
 * Matches one MQTT client's acknowledgements with the messages it published, into an
 * {@link AckLedger}. The client reports a publish's packet id through the publish future and
 * its acknowledgement through the completion handler, and either may run first: a PUBACK can be
 * handled before the callback that learns the packet id. Whichever comes second records the
 * acknowledgement, so none is dropped — a dropped one would hide a loss.
 *
 * <p>Packet ids are only unique within one connection: {@link #connectionLost} forgets the
 * publishes still waiting (never acknowledged on this path), so that an id reused on the next
 * connection cannot be matched with an old message.
 */
public final class PublishTracker {

  private record Sent(MessageKey key, long sentAtMs) {
  }

  private final AckLedger ledger;
  private final String path;
  private final Map<Integer, Sent> waiting = new HashMap<>();
  /** Acknowledgements that arrived before their publish's callback: packet id → when. */
  private final Map<Integer, Long> early = new HashMap<>();

  public PublishTracker(AckLedger ledger, String path) {
    this.ledger = ledger;
    this.path = path;
  }

  public String path() {
    return path;
  }

  /** The client is about to publish {@code key}. */
  public void sending(MessageKey key) {
    ledger.published(path, key);
  }

  /** The publish of {@code key}, sent at {@code sentAtMs}, got {@code packetId}. */
  public synchronized void published(int packetId, MessageKey key, long sentAtMs) {
    Long ackedAt = early.remove(packetId);
    if (ackedAt != null) {
      ledger.acked(path, key, sentAtMs, ackedAt);
    } else {
      waiting.put(packetId, new Sent(key, sentAtMs));
    }
  }

  /** The broker acknowledged {@code packetId} (PUBACK, or PUBCOMP at QoS 2). */
  public synchronized void acknowledged(int packetId) {
    long now = System.currentTimeMillis();
    Sent sent = waiting.remove(packetId);
    if (sent != null) {
      ledger.acked(path, sent.key(), sent.sentAtMs(), now);
    } else if (early.put(packetId, now) != null) {
      // A second acknowledgement of an id whose publish never reported: the broker acked twice.
      ledger.unmatchedAck(path, packetId);
    }
  }

  /** How many publishes still wait for their acknowledgement. */
  public synchronized int waiting() {
    return waiting.size();
  }

  /** The connection is gone: what waits was not acknowledged on this path; early acks without a publish are defects. */
  public synchronized void connectionLost() {
    waiting.clear();
    early.keySet().forEach(id -> ledger.unmatchedAck(path, id));
    early.clear();
  }
}
