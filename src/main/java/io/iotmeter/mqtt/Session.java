package io.iotmeter.mqtt;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
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
  boolean clean;
  /** The identity (device id) that created the session; null with security off. */
  String owner;
  /** The bus address of the connection that holds the client, null while offline. */
  String connection;
  Instant disconnectedAt;
  final Map<String, Integer> subscriptions = new LinkedHashMap<>();
  /** Packet ids of QoS 2 messages we answered with PUBREC (spec 4.3.3, method B). */
  final Set<Integer> awaitingRelease = new HashSet<>();
  /** Our messages not yet sent (client offline, or its in-flight window full). */
  final Deque<Publication> queued = new ArrayDeque<>();
  /** Payload bytes of {@link #queued} (bounded by {@code max_queued_bytes}). */
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

  /** The highest QoS of this session's subscriptions matching {@code topic}, or -1. */
  int matchingQos(String topic) {
    int qos = -1;
    for (Map.Entry<String, Integer> subscription : subscriptions.entrySet()) {
      if (TopicFilter.matches(subscription.getKey(), topic)) {
        qos = Math.max(qos, subscription.getValue());
      }
    }
    return qos;
  }
}
