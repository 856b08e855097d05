package io.iotmeter.mqtt;

import io.vertx.core.shareddata.Shareable;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The device endpoint's broker state on this node: sessions, the subscription index and
 * retained messages. All instances of the MQTT server verticle on a node share it (they share
 * the port, and a client may reconnect to any of them), so every method holds its lock; the
 * connections themselves are only ever touched on their own event loop, reached over the bus.
 *
 * <p>Node-local by design, like any single broker: a clustered deployment routes a device to
 * the node that holds its session (see the README).
 */
final class BrokerState implements Shareable {

  /** Where one publication must go. */
  record Delivery(String connection, Publication publication) {
  }

  /** The outcome of routing a publication. */
  record Route(List<Delivery> deliveries, int queued) {
    boolean reachedAnyone() {
      return !deliveries.isEmpty() || queued > 0;
    }
  }

  /** What a connecting client finds. */
  record Connected(boolean sessionPresent, String previousConnection) {
  }

  private final Map<String, Session> sessions = new HashMap<>();
  /** Exact (wildcard-free) filters → client ids: the common case, iot/{id}/command. */
  private final Map<String, Set<String>> exactSubscribers = new HashMap<>();
  /** Client ids with at least one wildcard filter. */
  private final Set<String> wildcardSubscribers = new HashSet<>();
  private final Map<String, Publication> retained = new LinkedHashMap<>();
  private final int maxQueued;

  BrokerState(int maxQueued) {
    this.maxQueued = maxQueued;
  }

  synchronized Connected connect(String clientId, boolean clean, String connection) {
    Session existing = sessions.get(clientId);
    String previous = existing == null ? null : existing.connection;
    boolean present = existing != null && !clean && !existing.clean;
    if (existing != null && !present) {
      removeSession(existing);
      existing = null;
    }
    Session session = existing == null ? new Session(clientId) : existing;
    if (present && previous != null) {
      // Taken over while the old connection still stood: its unacknowledged messages go again.
      requeueInFlight(session);
    }
    session.clean = clean;
    session.connection = connection;
    session.disconnectedAt = null;
    sessions.put(clientId, session);
    return new Connected(present, previous);
  }

  /** The connection is gone; a clean session ends with it, a persistent one waits for the client. */
  synchronized void disconnect(String clientId, String connection, Instant now) {
    Session session = sessions.get(clientId);
    if (session == null || !connection.equals(session.connection)) {
      return; // taken over by a newer connection
    }
    session.connection = null;
    session.disconnectedAt = now;
    requeueInFlight(session);
    if (session.clean) {
      removeSession(session);
    }
  }

  /** Unacknowledged messages are sent again when the client is back (spec 4.4). */
  private static void requeueInFlight(Session session) {
    List<Publication> unacked = new ArrayList<>(session.inFlight.values());
    session.inFlight.clear();
    for (int i = unacked.size() - 1; i >= 0; i--) {
      session.queued.addFirst(unacked.get(i));
    }
  }

  synchronized List<Integer> subscribe(String clientId, Map<String, Integer> filters) {
    Session session = sessions.get(clientId);
    List<Integer> granted = new ArrayList<>();
    for (Map.Entry<String, Integer> filter : filters.entrySet()) {
      if (session == null || !TopicFilter.isValidFilter(filter.getKey())) {
        granted.add(0x80);
        continue;
      }
      int qos = Math.min(filter.getValue(), 2);
      session.subscriptions.put(filter.getKey(), qos);
      if (TopicFilter.hasWildcard(filter.getKey())) {
        wildcardSubscribers.add(clientId);
      } else {
        exactSubscribers.computeIfAbsent(filter.getKey(), k -> new HashSet<>()).add(clientId);
      }
      granted.add(qos);
    }
    return granted;
  }

  synchronized void unsubscribe(String clientId, List<String> filters) {
    Session session = sessions.get(clientId);
    if (session == null) {
      return;
    }
    filters.forEach(filter -> {
      session.subscriptions.remove(filter);
      Set<String> exact = exactSubscribers.get(filter);
      if (exact != null) {
        exact.remove(clientId);
        if (exact.isEmpty()) {
          exactSubscribers.remove(filter);
        }
      }
    });
    if (session.subscriptions.keySet().stream().noneMatch(TopicFilter::hasWildcard)) {
      wildcardSubscribers.remove(clientId);
    }
  }

  /**
   * Routes a publication to every matching subscription at the lower of the two QoS levels;
   * for an offline persistent session a QoS 1/2 copy is queued (spec 3.1.2.4).
   */
  synchronized Route route(Publication publication) {
    if (publication.retain()) {
      if (publication.payload().length == 0) {
        retained.remove(publication.topic());
      } else {
        retained.put(publication.topic(), publication);
      }
    }
    Set<String> candidates = new HashSet<>(wildcardSubscribers);
    candidates.addAll(exactSubscribers.getOrDefault(publication.topic(), Set.of()));
    List<Delivery> deliveries = new ArrayList<>();
    int queued = 0;
    for (String clientId : candidates) {
      Session session = sessions.get(clientId);
      int subscribed = session == null ? -1 : session.matchingQos(publication.topic());
      if (subscribed < 0) {
        continue;
      }
      // Retain is only set on messages sent because of a new subscription (spec 3.3.1.3).
      Publication copy = publication.withQos(Math.min(subscribed, publication.qos())).withRetain(false);
      if (session.connection != null) {
        deliveries.add(new Delivery(session.connection, copy));
      } else if (copy.qos() > 0) {
        if (session.queued.size() >= maxQueued) {
          session.queued.pollFirst(); // bounded: the oldest goes first
        }
        session.queued.add(copy);
        queued++;
      }
    }
    return new Route(deliveries, queued);
  }

  /** Retained messages matching a new subscription, at the subscription's QoS. */
  synchronized List<Publication> retainedFor(String filter, int qos) {
    List<Publication> matching = new ArrayList<>();
    retained.forEach((topic, publication) -> {
      if (TopicFilter.matches(filter, topic)) {
        matching.add(publication.withQos(Math.min(qos, publication.qos())).withRetain(true));
      }
    });
    return matching;
  }

  /** Takes up to {@code max} queued messages to send, registering them as in flight with fresh packet ids. */
  synchronized Map<Integer, Publication> takeQueued(String clientId, int max) {
    Session session = sessions.get(clientId);
    Map<Integer, Publication> batch = new LinkedHashMap<>();
    if (session == null) {
      return batch;
    }
    while (!session.queued.isEmpty() && session.inFlight.size() < max) {
      Publication publication = session.queued.poll();
      int id = session.nextPacketId();
      session.inFlight.put(id, publication);
      batch.put(id, publication);
    }
    return batch;
  }

  /** Registers an outgoing QoS 1/2 message; returns its packet id, or -1 when the window is full (it is queued). */
  synchronized int startSending(String clientId, Publication publication, int window) {
    Session session = sessions.get(clientId);
    if (session == null) {
      return -1;
    }
    if (session.inFlight.size() >= window) {
      session.queued.add(publication);
      return -1;
    }
    int id = session.nextPacketId();
    session.inFlight.put(id, publication);
    return id;
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2) arrived: the message is delivered. */
  synchronized void delivered(String clientId, int packetId) {
    Session session = sessions.get(clientId);
    if (session != null) {
      session.inFlight.remove(packetId);
      session.released.remove(packetId);
    }
  }

  /** PUBREC arrived for our QoS 2 message: it is no longer to be resent, only released. */
  synchronized void received(String clientId, int packetId) {
    Session session = sessions.get(clientId);
    if (session != null) {
      session.inFlight.remove(packetId);
      session.released.add(packetId);
    }
  }

  synchronized List<Integer> released(String clientId) {
    Session session = sessions.get(clientId);
    return session == null ? List.of() : new ArrayList<>(session.released);
  }

  /** Records a PUBREC we sent; false when this packet id was already awaiting its PUBREL (a resent PUBLISH). */
  synchronized boolean awaitRelease(String clientId, int packetId) {
    Session session = sessions.get(clientId);
    return session != null && session.awaitingRelease.add(packetId);
  }

  synchronized boolean isAwaitingRelease(String clientId, int packetId) {
    Session session = sessions.get(clientId);
    return session != null && session.awaitingRelease.contains(packetId);
  }

  synchronized void releaseReceived(String clientId, int packetId) {
    Session session = sessions.get(clientId);
    if (session != null) {
      session.awaitingRelease.remove(packetId);
    }
  }

  /** Ends persistent sessions whose client stayed away longer than {@code expiry}. */
  synchronized int expire(Instant now, Duration expiry) {
    List<Session> expired = sessions.values().stream()
        .filter(s -> s.connection == null && s.disconnectedAt != null && s.disconnectedAt.plus(expiry).isBefore(now))
        .toList();
    expired.forEach(this::removeSession);
    return expired.size();
  }

  synchronized boolean hasSession(String clientId) {
    return sessions.containsKey(clientId);
  }

  synchronized int connectedCount() {
    return (int) sessions.values().stream().filter(s -> s.connection != null).count();
  }

  private void removeSession(Session session) {
    sessions.remove(session.clientId);
    session.subscriptions.keySet().forEach(filter -> {
      Set<String> exact = exactSubscribers.get(filter);
      if (exact != null) {
        exact.remove(session.clientId);
        if (exact.isEmpty()) {
          exactSubscribers.remove(filter);
        }
      }
    });
    wildcardSubscribers.remove(session.clientId);
  }
}
