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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Predicate;

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

  /**
   * What a connecting client finds; {@code refused} when the node holds {@code max_sessions}
   * already, {@code foreign} when the client id's session belongs to another identity.
   */
  record Connected(boolean sessionPresent, String previousConnection, boolean refused, boolean foreign) {
  }

  /** A retained message and the client that set it (each client may set a bounded number). */
  private record Retained(String clientId, Publication publication) {
  }

  private final Map<String, Session> sessions = new HashMap<>();
  /** Exact (wildcard-free) filters → client ids: the common case, iot/{id}/command. */
  private final Map<String, Set<String>> exactSubscribers = new HashMap<>();
  /** Client ids with at least one wildcard filter. */
  private final Set<String> wildcardSubscribers = new HashSet<>();
  private final Map<String, Retained> retained = new LinkedHashMap<>();
  private final Map<String, Integer> retainedByClient = new HashMap<>();
  private long retainedBytes;
  /** Payload bytes waiting in every session's queue on this node. */
  private long totalQueuedBytes;
  /** Payload bytes received by every connection of this node and not yet durable (hand-offs under way). */
  private final AtomicLong pendingBytes = new AtomicLong();
  private final AtomicInteger connectedClients = new AtomicInteger();
  private final MqttLimits limits;
  /** Told the error type of each message or request refused at a bound (counted by the caller). */
  private final Consumer<String> refusals;

  BrokerState(MqttLimits limits, Consumer<String> refusals) {
    this.limits = limits;
    this.refusals = refusals;
  }

  MqttLimits limits() {
    return limits;
  }

  synchronized Connected connect(String clientId, boolean clean, String connection) {
    return connect(clientId, clean, connection, null);
  }

  /**
   * @param owner the authenticated identity (a device id), or null with security off; a session
   *              created by one identity cannot be taken over by another (nor its connection)
   */
  synchronized Connected connect(String clientId, boolean clean, String connection, String owner) {
    Session existing = sessions.get(clientId);
    if (existing != null && existing.owner != null && !existing.owner.equals(owner)) {
      refusals.accept("mqtt_client_id_taken");
      return new Connected(false, null, true, true);
    }
    if (existing == null && sessions.size() >= limits.maxSessions()) {
      refusals.accept("mqtt_sessions_full");
      return new Connected(false, null, true, false);
    }
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
    session.owner = owner;
    if (previous == null) {
      connectedClients.incrementAndGet();
    }
    session.connection = connection;
    session.disconnectedAt = null;
    sessions.put(clientId, session);
    return new Connected(present, previous, false, false);
  }

  /** The connection is gone; a clean session ends with it, a persistent one waits for the client. */
  synchronized void disconnect(String clientId, String connection, Instant now) {
    Session session = sessions.get(clientId);
    if (session == null || !connection.equals(session.connection)) {
      return; // taken over by a newer connection
    }
    session.connection = null;
    session.disconnectedAt = now;
    connectedClients.decrementAndGet();
    requeueInFlight(session);
    // A persistent session with nothing to keep (no subscription, nothing waiting, no QoS 2
    // exchange open) holds no state for an hour: a client that never completed a session costs nothing.
    boolean empty = session.subscriptions.isEmpty() && session.queued.isEmpty() && session.awaitingRelease.isEmpty()
        && session.released.isEmpty();
    if (session.clean || empty) {
      removeSession(session);
    }
  }

  /** Unacknowledged messages are sent again when the client is back (spec 4.4). */
  private void requeueInFlight(Session session) {
    List<Publication> unacked = new ArrayList<>(session.inFlight.values());
    session.inFlight.clear();
    for (int i = unacked.size() - 1; i >= 0; i--) {
      enqueue(session, unacked.get(i), true);
    }
  }

  /**
   * Queues a message for a client, bounded per session in count and bytes (the oldest goes
   * first, as with Mosquitto's max_queued_messages) and per node in bytes (then the new message
   * is not queued). False when it was not queued.
   */
  private boolean enqueue(Session session, Publication publication, boolean first) {
    long size = publication.payload().length;
    if (totalQueuedBytes + size > limits.maxTotalQueuedBytes()) {
      refusals.accept("mqtt_queue_full");
      return false;
    }
    if (first) {
      session.queued.addFirst(publication);
    } else {
      session.queued.addLast(publication);
    }
    session.queuedBytes += size;
    totalQueuedBytes += size;
    while (session.queued.size() > limits.maxQueued() || session.queuedBytes > limits.maxQueuedBytes()) {
      dequeue(session);
      refusals.accept("mqtt_queue_overflow");
    }
    return true;
  }

  private Publication dequeue(Session session) {
    Publication publication = session.queued.pollFirst();
    if (publication != null) {
      session.queuedBytes -= publication.payload().length;
      totalQueuedBytes -= publication.payload().length;
    }
    return publication;
  }

  synchronized List<Integer> subscribe(String clientId, Map<String, Integer> filters) {
    Session session = sessions.get(clientId);
    List<Integer> granted = new ArrayList<>();
    for (Map.Entry<String, Integer> filter : filters.entrySet()) {
      if (session == null || !TopicFilter.isValidFilter(filter.getKey())) {
        granted.add(0x80);
        continue;
      }
      if (!session.subscriptions.containsKey(filter.getKey()) && session.subscriptions.size() >= limits.maxSubscriptions()) {
        refusals.accept("mqtt_subscription_limit");
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
    return route(publication, p -> false);
  }

  /**
   * Routes like {@link #route(Publication)}, but a session that already holds a publication
   * {@code alreadyHeld} recognises (a command being delivered again) gets no second copy; it
   * counts as reached.
   */
  synchronized Route route(Publication publication, Predicate<Publication> alreadyHeld) {
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
      if (holds(session, alreadyHeld)) {
        queued++;
        continue;
      }
      // Retain is only set on messages sent because of a new subscription (spec 3.3.1.3).
      Publication copy = publication.withQos(Math.min(subscribed, publication.qos())).withRetain(false);
      if (session.connection != null) {
        deliveries.add(new Delivery(session.connection, copy));
      } else if (copy.qos() > 0 && enqueue(session, copy, false)) {
        queued++;
      }
    }
    return new Route(deliveries, queued);
  }

  /**
   * Keeps (or, with an empty payload, clears) the retained message of a topic (spec 3.3.1.3),
   * within the node's bounds in count and bytes and {@code max_retained_per_client} per client;
   * beyond them the message is still routed, only not retained. False when it was not kept.
   */
  synchronized boolean retain(String clientId, Publication publication) {
    Retained old = retained.get(publication.topic());
    if (publication.payload().length == 0) {
      if (old != null) {
        forget(publication.topic(), old);
      }
      return true;
    }
    long size = publication.payload().length;
    long bytesAfter = retainedBytes + size - (old == null ? 0 : old.publication().payload().length);
    int ownedByClient = retainedByClient.getOrDefault(clientId, 0) - (old != null && old.clientId().equals(clientId) ? 1 : 0);
    if ((old == null && retained.size() >= limits.maxRetained()) || bytesAfter > limits.maxRetainedBytes()
        || ownedByClient >= limits.maxRetainedPerClient()) {
      refusals.accept("mqtt_retained_refused");
      return false;
    }
    if (old != null) {
      forget(publication.topic(), old);
    }
    retained.put(publication.topic(), new Retained(clientId, publication));
    retainedBytes += size;
    retainedByClient.merge(clientId, 1, Integer::sum);
    return true;
  }

  private void forget(String topic, Retained old) {
    retained.remove(topic);
    retainedBytes -= old.publication().payload().length;
    retainedByClient.computeIfPresent(old.clientId(), (id, n) -> n <= 1 ? null : n - 1);
  }

  /** Retained messages matching a new subscription, at the subscription's QoS. */
  synchronized List<Publication> retainedFor(String filter, int qos) {
    List<Publication> matching = new ArrayList<>();
    retained.forEach((topic, kept) -> {
      if (TopicFilter.matches(filter, topic)) {
        Publication publication = kept.publication();
        matching.add(publication.withQos(Math.min(qos, publication.qos())).withRetain(true));
      }
    });
    return matching;
  }

  synchronized int retainedCount() {
    return retained.size();
  }

  synchronized long retainedBytes() {
    return retainedBytes;
  }

  synchronized long totalQueuedBytes() {
    return totalQueuedBytes;
  }

  /** A connection received {@code delta} payload bytes that are not durable yet (negative when they are). */
  long addPending(long delta) {
    return pendingBytes.addAndGet(delta);
  }

  long pendingBytes() {
    return pendingBytes.get();
  }

  /** The share of the node's pending bytes each connected client may hold once the node is over its bound. */
  long fairPendingShare() {
    return limits.maxTotalPendingBytes() / Math.max(1, connectedClients.get());
  }

  /**
   * Takes up to {@code max} queued messages for {@code connection} to send, registering them as in
   * flight with fresh packet ids; none when the session is another connection's by now (an
   * acknowledgement on a taken-over connection must not take the newer connection's messages).
   */
  synchronized Map<Integer, Publication> takeQueued(String clientId, String connection, int max) {
    Session session = sessions.get(clientId);
    Map<Integer, Publication> batch = new LinkedHashMap<>();
    if (session == null || !connection.equals(session.connection)) {
      return batch;
    }
    while (!session.queued.isEmpty() && session.inFlight.size() < max) {
      Publication publication = dequeue(session);
      int id = session.nextPacketId();
      session.inFlight.put(id, publication);
      batch.put(id, publication);
    }
    return batch;
  }

  /**
   * A message reached a connection as it closed: a persistent session keeps it for the client's
   * return. Returns the client's new connection when it is back already (send it there), else null.
   */
  synchronized String keepForLater(String clientId, String closedConnection, Publication publication) {
    Session session = sessions.get(clientId);
    if (session == null) {
      return null;
    }
    if (session.connection != null && !session.connection.equals(closedConnection)) {
      return session.connection;
    }
    if (!session.clean) {
      enqueue(session, publication, false);
    }
    return null;
  }

  /**
   * What became of an outgoing QoS 1/2 message: send it now with {@code packetId}; or hand it to
   * the client's newer connection ({@code newerConnection}); or neither (it waits in the session).
   */
  record Sending(int packetId, String newerConnection) {
    static final Sending WAITS = new Sending(-1, null);

    boolean sendNow() {
      return packetId > 0;
    }
  }

  /**
   * Registers an outgoing QoS 1/2 message of {@code connection}. A message that reached a
   * connection after the client had taken its session over on a newer one must not be sent on
   * the old one: it would be held in flight under the session and never sent on the new
   * connection (seen in CI as a command for a reconnecting meter that never arrived).
   */
  synchronized Sending startSending(String clientId, String connection, Publication publication, int window) {
    Session session = sessions.get(clientId);
    if (session == null) {
      return Sending.WAITS;
    }
    if (!connection.equals(session.connection)) {
      String newer = keepForLater(clientId, connection, publication);
      return newer == null ? Sending.WAITS : new Sending(-1, newer);
    }
    if (session.inFlight.size() >= window) {
      enqueue(session, publication, false); // bounded: a client that never acknowledges cannot grow it
      return Sending.WAITS;
    }
    int id = session.nextPacketId();
    session.inFlight.put(id, publication);
    return new Sending(id, null);
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2) arrived: the message is delivered. Returns it (null if unknown). */
  synchronized Publication delivered(String clientId, int packetId) {
    Session session = sessions.get(clientId);
    if (session == null) {
      return null;
    }
    Publication acked = session.inFlight.remove(packetId);
    Publication completed = session.released.remove(packetId);
    return acked != null ? acked : completed;
  }

  /** PUBREC arrived for our QoS 2 message: it is no longer to be resent, only released. */
  synchronized void received(String clientId, int packetId) {
    Session session = sessions.get(clientId);
    if (session != null) {
      Publication publication = session.inFlight.remove(packetId);
      session.released.put(packetId, publication);
    }
  }

  synchronized List<Integer> released(String clientId) {
    Session session = sessions.get(clientId);
    return session == null ? List.of() : new ArrayList<>(session.released.keySet());
  }

  /** Whether the client's session holds (queued, in flight or awaiting PUBCOMP) a publication {@code same} recognises. */
  private static boolean holds(Session session, Predicate<Publication> same) {
    return session.queued.stream().anyMatch(same) || session.inFlight.values().stream().anyMatch(same)
        || session.released.values().stream().filter(java.util.Objects::nonNull).anyMatch(same);
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
    return connectedClients.get();
  }

  synchronized int sessionCount() {
    return sessions.size();
  }

  private void removeSession(Session session) {
    sessions.remove(session.clientId);
    totalQueuedBytes -= session.queuedBytes;
    session.queued.clear();
    session.queuedBytes = 0;
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
