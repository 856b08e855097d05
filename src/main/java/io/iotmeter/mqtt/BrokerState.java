package io.iotmeter.mqtt;

import io.vertx.core.shareddata.Shareable;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The device endpoint's broker state on this node: sessions, the {@link SubscriptionIndex} and
 * the {@link RetainedStore}. All instances of the MQTT server verticle on a node share it (they
 * share the port, and a client may reconnect to any of them), yet no lock spans the node: each
 * {@link Session} is its own monitor — reached by its connection, by routing (a command from
 * any event loop) and by expiry, one at a time — and the index, the retained store and the
 * node-wide counters are concurrent. The connections themselves are only ever touched on their
 * own event loop, reached over the bus.
 *
 * <p>A session replaced or ended is marked {@link Session#ended} under its monitor, and every
 * method that finds one looks the client up again ({@link #withSession}): a caller that looked
 * it up just before it ended acts on its successor, as if it had come just after.
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

  /** Why a connecting client was refused. */
  enum Refusal {
    /** Admitted. */
    NONE,
    /** The node holds {@code max_sessions} already. */
    SESSIONS_FULL,
    /** The device (the authenticated identity) holds {@code max_sessions_per_device} already. */
    DEVICE_SESSIONS_FULL,
    /** The client id's session belongs to another identity. */
    CLIENT_ID_TAKEN
  }

  /** What a connecting client finds. */
  record Connected(boolean sessionPresent, String previousConnection, Refusal refusal) {
    boolean refused() {
      return refusal != Refusal.NONE;
    }

    boolean foreign() {
      return refusal == Refusal.CLIENT_ID_TAKEN;
    }
  }

  private final Map<String, Session> sessions = new ConcurrentHashMap<>();
  /** Sessions per owner (device), so that one device cannot fill the node's sessions alone. */
  private final Map<String, Integer> sessionsByOwner = new ConcurrentHashMap<>();
  private final SubscriptionIndex subscribers = new SubscriptionIndex();
  private final RetainedStore retained;
  /** Payload bytes waiting in every session's queue on this node. */
  private final AtomicLong totalQueuedBytes = new AtomicLong();
  /** Payload bytes received by every connection of this node and not yet durable (hand-offs under way). */
  private final AtomicLong pendingBytes = new AtomicLong();
  private final AtomicInteger connectedClients = new AtomicInteger();
  private final MqttLimits limits;
  /** Told the error type of each message or request refused at a bound (counted by the caller). */
  private final Consumer<String> refusals;

  BrokerState(MqttLimits limits, Consumer<String> refusals) {
    this.limits = limits;
    this.refusals = refusals;
    this.retained = new RetainedStore(limits, refusals);
  }

  MqttLimits limits() {
    return limits;
  }

  Connected connect(String clientId, boolean clean, String connection) {
    return connect(clientId, clean, connection, null);
  }

  /**
   * @param owner the authenticated identity (a device id), or null with security off; a session
   *              created by one identity cannot be taken over by another (nor its connection) —
   *              except by the device whose id is the client id: its own id belongs to it, so a
   *              session another device made under it ends when the device comes
   */
  Connected connect(String clientId, boolean clean, String connection, String owner) {
    while (true) {
      Session existing = sessions.get(clientId);
      if (existing == null) {
        // Bounded about: connects racing on several event loops may each pass the checks at once.
        if (sessions.size() >= limits.maxSessions()) {
          refusals.accept("mqtt_sessions_full");
          return new Connected(false, null, Refusal.SESSIONS_FULL);
        }
        if (owner != null && sessionsByOwner.getOrDefault(owner, 0) >= limits.maxSessionsPerDevice()) {
          refusals.accept("mqtt_device_sessions_full");
          return new Connected(false, null, Refusal.DEVICE_SESSIONS_FULL);
        }
        Session fresh = open(new Session(clientId), clean, connection, owner);
        if (sessions.putIfAbsent(clientId, fresh) == null) {
          owned(fresh);
          connectedClients.incrementAndGet();
          return new Connected(false, null, Refusal.NONE);
        }
        continue; // another connection of this client id came first: look again
      }
      synchronized (existing) {
        if (existing.ended) {
          continue;
        }
        boolean foreign = existing.owner != null && !existing.owner.equals(owner);
        if (foreign && !clientId.equals(owner)) {
          refusals.accept("mqtt_client_id_taken");
          return new Connected(false, null, Refusal.CLIENT_ID_TAKEN);
        }
        String previous = existing.connection;
        if (previous == null) {
          connectedClients.incrementAndGet();
        }
        boolean present = !foreign && !clean && !existing.clean;
        if (!present) {
          // The old session ends; the new one takes its place in one step, so nobody finds neither.
          end(existing);
          Session replacement = open(new Session(clientId), clean, connection, owner);
          sessions.replace(clientId, existing, replacement);
          owned(replacement);
          return new Connected(false, previous, Refusal.NONE);
        }
        if (previous != null) {
          // Taken over while the old connection still stood: its unacknowledged messages go again.
          requeueInFlight(existing);
        }
        open(existing, clean, connection, owner);
        return new Connected(true, previous, Refusal.NONE);
      }
    }
  }

  /** Counts a session that entered the node's map against its owner. */
  private void owned(Session session) {
    if (session.owner != null) {
      sessionsByOwner.merge(session.owner, 1, Integer::sum);
    }
  }

  private static Session open(Session session, boolean clean, String connection, String owner) {
    session.clean = clean;
    session.owner = owner;
    session.connection = connection;
    session.disconnectedAt = null;
    return session;
  }

  /**
   * Runs {@code action} holding the lock of the client's current session ({@code null}: it has
   * none). A session that ended while this waited for its lock is looked up again, so the action
   * meets its successor — as it would have, had it come a moment later — never an ended one.
   */
  private <T> T withSession(String clientId, Function<Session, T> action) {
    while (true) {
      Session session = sessions.get(clientId);
      if (session == null) {
        return action.apply(null);
      }
      synchronized (session) {
        if (!session.ended) {
          return action.apply(session);
        }
      }
    }
  }

  /** The connection is gone; a clean session ends with it, a persistent one waits for the client. */
  void disconnect(String clientId, String connection, Instant now) {
    withSession(clientId, session -> {
      if (session == null || !connection.equals(session.connection)) {
        return null; // taken over by a newer connection
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
        remove(session);
      }
      return null;
    });
  }

  /** Unacknowledged messages are sent again when the client is back (spec 4.4). Under the session's lock. */
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
   * is not queued). False when it was not queued. Under the session's lock.
   */
  private boolean enqueue(Session session, Publication publication, boolean first) {
    long size = publication.payload().length;
    if (totalQueuedBytes.addAndGet(size) > limits.maxTotalQueuedBytes()) {
      totalQueuedBytes.addAndGet(-size);
      refusals.accept("mqtt_queue_full");
      return false;
    }
    if (first) {
      session.queued.addFirst(publication);
    } else {
      session.queued.addLast(publication);
    }
    session.queuedBytes += size;
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
      totalQueuedBytes.addAndGet(-publication.payload().length);
    }
    return publication;
  }

  List<Integer> subscribe(String clientId, Map<String, Integer> filters) {
    return withSession(clientId, session -> {
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
        subscribers.add(clientId, filter.getKey());
        granted.add(qos);
      }
      return granted;
    });
  }

  void unsubscribe(String clientId, List<String> filters) {
    withSession(clientId, session -> {
      if (session != null) {
        filters.forEach(session.subscriptions::remove);
        subscribers.remove(clientId, filters, session.subscriptions.keySet());
      }
      return null;
    });
  }

  /**
   * Routes a publication to every matching subscription at the lower of the two QoS levels;
   * for an offline persistent session a QoS 1/2 copy is queued (spec 3.1.2.4).
   */
  Route route(Publication publication) {
    return route(publication, p -> false);
  }

  /**
   * Routes like {@link #route(Publication)}, but a session that already holds a publication
   * {@code alreadyHeld} recognises (a command being delivered again) gets no second copy; it
   * counts as reached.
   */
  Route route(Publication publication, Predicate<Publication> alreadyHeld) {
    List<Delivery> deliveries = new ArrayList<>();
    int queued = 0;
    for (String clientId : subscribers.candidates(publication.topic())) {
      Boolean reached = withSession(clientId, session -> {
        int subscribed = session == null ? -1 : session.matchingQos(publication.topic());
        if (subscribed < 0) {
          return null;
        }
        if (holds(session, alreadyHeld)) {
          return true;
        }
        // Retain is only set on messages sent because of a new subscription (spec 3.3.1.3).
        Publication copy = publication.withQos(Math.min(subscribed, publication.qos())).withRetain(false);
        if (session.connection != null) {
          deliveries.add(new Delivery(session.connection, copy));
          return null;
        }
        return copy.qos() > 0 && enqueue(session, copy, false);
      });
      if (Boolean.TRUE.equals(reached)) {
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
  boolean retain(String clientId, Publication publication) {
    return retained.retain(clientId, publication);
  }

  /** Retained messages matching a new subscription, at the subscription's QoS. */
  List<Publication> retainedFor(String filter, int qos) {
    return retained.matching(filter, qos);
  }

  int retainedCount() {
    return retained.count();
  }

  long retainedBytes() {
    return retained.bytes();
  }

  long totalQueuedBytes() {
    return totalQueuedBytes.get();
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
  Map<Integer, Publication> takeQueued(String clientId, String connection, int max) {
    return withSession(clientId, session -> {
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
    });
  }

  /**
   * A message reached a connection as it closed: a persistent session keeps it for the client's
   * return. Returns the client's new connection when it is back already (send it there), else null.
   */
  String keepForLater(String clientId, String closedConnection, Publication publication) {
    return withSession(clientId, session -> session == null ? null : keepForLater(session, closedConnection, publication));
  }

  private String keepForLater(Session session, String closedConnection, Publication publication) {
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
  Sending startSending(String clientId, String connection, Publication publication, int window) {
    return withSession(clientId, session -> {
      if (session == null) {
        return Sending.WAITS;
      }
      if (!connection.equals(session.connection)) {
        String newer = keepForLater(session, connection, publication);
        return newer == null ? Sending.WAITS : new Sending(-1, newer);
      }
      if (session.inFlight.size() >= window) {
        enqueue(session, publication, false); // bounded: a client that never acknowledges cannot grow it
        return Sending.WAITS;
      }
      int id = session.nextPacketId();
      session.inFlight.put(id, publication);
      return new Sending(id, null);
    });
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2) arrived: the message is delivered. Returns it (null if unknown). */
  Publication delivered(String clientId, int packetId) {
    return withSession(clientId, session -> {
      if (session == null) {
        return null;
      }
      Publication acked = session.inFlight.remove(packetId);
      Publication completed = session.released.remove(packetId);
      return acked != null ? acked : completed;
    });
  }

  /** PUBREC arrived for our QoS 2 message: it is no longer to be resent, only released. */
  void received(String clientId, int packetId) {
    withSession(clientId, session -> session == null ? null : session.released.put(packetId, session.inFlight.remove(packetId)));
  }

  List<Integer> released(String clientId) {
    return withSession(clientId, session -> session == null ? List.<Integer>of() : new ArrayList<>(session.released.keySet()));
  }

  /** Whether the client's session holds (queued, in flight or awaiting PUBCOMP) a publication {@code same} recognises. */
  private static boolean holds(Session session, Predicate<Publication> same) {
    return session.queued.stream().anyMatch(same) || session.inFlight.values().stream().anyMatch(same)
        || session.released.values().stream().filter(java.util.Objects::nonNull).anyMatch(same);
  }

  /** Records a PUBREC we sent; false when this packet id was already awaiting its PUBREL (a resent PUBLISH). */
  boolean awaitRelease(String clientId, int packetId) {
    return withSession(clientId, session -> session != null && session.awaitingRelease.add(packetId));
  }

  boolean isAwaitingRelease(String clientId, int packetId) {
    return withSession(clientId, session -> session != null && session.awaitingRelease.contains(packetId));
  }

  void releaseReceived(String clientId, int packetId) {
    withSession(clientId, session -> session != null && session.awaitingRelease.remove(packetId));
  }

  /** Ends persistent sessions whose client stayed away longer than {@code expiry}. */
  int expire(Instant now, Duration expiry) {
    int expired = 0;
    for (Session session : sessions.values()) {
      synchronized (session) {
        if (!session.ended && session.connection == null && session.disconnectedAt != null
            && session.disconnectedAt.plus(expiry).isBefore(now)) {
          remove(session);
          expired++;
        }
      }
    }
    return expired;
  }

  boolean hasSession(String clientId) {
    return sessions.containsKey(clientId);
  }

  int connectedCount() {
    return connectedClients.get();
  }

  int sessionCount() {
    return sessions.size();
  }

  /** Sessions of one owner (device) on this node. */
  int sessionCount(String owner) {
    return sessionsByOwner.getOrDefault(owner, 0);
  }

  /** Ends a session and takes it out of the node's map. Under the session's lock. */
  private void remove(Session session) {
    end(session);
    sessions.remove(session.clientId, session);
  }

  /** Ends a session: nothing of it stays queued, indexed or counted. Under the session's lock. */
  private void end(Session session) {
    session.ended = true;
    if (session.owner != null) {
      sessionsByOwner.computeIfPresent(session.owner, (o, n) -> n <= 1 ? null : n - 1);
    }
    totalQueuedBytes.addAndGet(-session.queuedBytes);
    session.queued.clear();
    session.queuedBytes = 0;
    subscribers.remove(session.clientId, session.subscriptions.keySet(), List.of());
  }
}
