package io.iotmeter.mqtt;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One client's MQTT session (spec 3.1.2.4): its subscriptions, the QoS 2 messages it sent us
 * that await PUBREL, and our QoS 1/2 messages to it — queued while it is offline, in flight
 * until acknowledged. The session is its own lock: every field is read and written only while
 * holding it ({@link BrokerState}).
 */
final class Session {

  final String clientId;
  /** Replaced by a new session or ended: to whoever still holds it, it is no session any more. */
  boolean ended;
  /** How long the session outlives its connection (seconds); 0: it ends with it (MQTT 3.1.1 clean session). */
  long expirySeconds;
  /** The identity (device id) that created the session; null with security off. */
  String owner;
  /** The bus address of the connection that holds the client, null while offline. */
  String connection;
  Instant disconnectedAt;
  /** By filter as the client gave it (a shared one with its {@code $share/<group>/} prefix). */
  final Map<String, Subscription> subscriptions = new LinkedHashMap<>();
  /** Packet ids of QoS 2 messages we answered with PUBREC (spec 4.3.3, method B). */
  final Set<Integer> awaitingRelease = new HashSet<>();
  /** Our messages not yet sent (client offline, or its in-flight window full). */
  final Deque<Publication> queued = new ArrayDeque<>();
  /** Bytes of {@link #queued} ({@link Publication#size()}, bounded by {@code max_queued_bytes}). */
  long queuedBytes;
  /** Our messages sent and not yet acknowledged, by packet id. */
  final Map<Integer, Publication> inFlight = new LinkedHashMap<>();
  /** Our QoS 2 messages the client has PUBREC'd (by packet id): PUBREL sent, PUBCOMP awaited. */
  final Map<Integer, Publication> released = new LinkedHashMap<>();
  private int lastPacketId;

  Session(String clientId) {
    this.clientId = clientId;
  }

  /** The next packet id not in use by this session (1..65535). */
  int nextPacketId() {
    for (int i = 0; i < 65535; i++) {
      lastPacketId = lastPacketId % 65535 + 1;
      if (!inFlight.containsKey(lastPacketId) && !released.containsKey(lastPacketId)) {
        return lastPacketId;
      }
    }
    throw new IllegalStateException("no free packet id");
  }

  /**
   * One subscription and its MQTT 5 options (spec 3.8.3.1); a 3.1.1 client's have none set.
   *
   * @param identifier     the subscription identifier, 0: none
   * @param retainHandling 0: retained messages on every SUBSCRIBE, 1: only if the subscription is new, 2: never
   */
  record Subscription(int qos, boolean noLocal, boolean retainAsPublished, int retainHandling, int identifier) {
    static Subscription of(int qos) {
      return new Subscription(qos, false, false, 0, 0);
    }
  }

  /** What a publication makes of this session's non-shared subscriptions: see {@link #match}. */
  record Match(int qos, boolean retainAsPublished, List<Integer> subscriptionIds) {
  }

  /**
   * The session's non-shared subscriptions matching {@code topic}, published by {@code publisher}
   * (a client id, null for the platform): one delivery at the highest QoS among them, carrying
   * every matching subscription identifier (spec 3.3.4); null when none matches — or only those
   * that asked not to receive their own client's messages (no local).
   */
  Match match(String topic, String publisher) {
    int qos = -1;
    boolean asPublished = false;
    List<Integer> ids = List.of();
    for (Map.Entry<String, Subscription> entry : subscriptions.entrySet()) {
      Subscription subscription = entry.getValue();
      if (TopicFilter.isShared(entry.getKey()) || !TopicFilter.matches(entry.getKey(), topic)
          || (subscription.noLocal() && clientId.equals(publisher))) {
        continue;
      }
      qos = Math.max(qos, subscription.qos());
      asPublished |= subscription.retainAsPublished();
      if (subscription.identifier() > 0) {
        ids = ids.isEmpty() ? new ArrayList<>() : ids;
        ids.add(subscription.identifier());
      }
    }
    return qos < 0 ? null : new Match(qos, asPublished, ids);
  }
}
