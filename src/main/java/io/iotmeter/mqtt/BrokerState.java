package io.iotmeter.mqtt;

import io.vertx.core.shareddata.Shareable;

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

  /**
   * What a connecting client finds.
   *
   * @param endedWill the will a former connection left to be published after its delay, when
   *                  this connection ended that session instead of resuming it (publish it now)
   */
  record Connected(boolean sessionPresent, String previousConnection, Refusal refusal, Publication endedWill) {
    Connected(boolean sessionPresent, String previousConnection, Refusal refusal) {
      this(sessionPresent, previousConnection, refusal, null);
    }

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
  /** MQTT 5 shared subscriptions by their whole filter ({@code $share/<group>/<filter>}). */
  private final Map<String, ShareGroup> shareGroups = new ConcurrentHashMap<>();
  /** Wills waiting for their delay (MQTT 5 Will Delay Interval), by client id. */
  private final Map<String, HeldWill> heldWills = new ConcurrentHashMap<>();
  private final AtomicLong willTokens = new AtomicLong();
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

  /** An MQTT 3.1.1 client: a clean session ends with its connection, a persistent one after {@code session_expiry_s}. */
  Connected connect(String clientId, boolean clean, String connection, String owner) {
    return connect(clientId, clean, clean ? 0 : limits.sessionExpirySeconds(), connection, owner, Instant.now());
  }

  /**
   * @param cleanStart    discard the session the client may have (3.1.1: clean session)
   * @param expirySeconds how long the session outlives this connection (0: it ends with it);
   *                      already bounded by {@code session_expiry_s}
   * @param owner         the authenticated identity (a device id), or null with security off; a
   *                      session created by one identity cannot be taken over by another (nor its
   *                      connection) — except by the device whose id is the client id: its own id
   *                      belongs to it, so a session another device made under it ends when the device comes
   */
  Connected connect(String clientId, boolean cleanStart, long expirySeconds, String connection, String owner, Instant now) {
    Connected connected = admit(clientId, cleanStart, expirySeconds, connection, owner, now);
    if (connected.refused()) {
      return connected;
    }
    // A will held for its delay is not published when the client is back in time (spec 3.1.3.2.2);
    // if this connection ended the session instead, the session's end is the will's moment.
    HeldWill held = heldWills.remove(clientId);
    return held == null || connected.sessionPresent() ? connected
        : new Connected(false, connected.previousConnection(), Refusal.NONE, held.will());
  }

  private Connected admit(String clientId, boolean cleanStart, long expirySeconds, String connection, String owner,
                          Instant now) {
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
        Session fresh = open(new Session(clientId), expirySeconds, connection, owner);
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
        // A session that would have expired by now (the sweep runs once a minute) is gone for the client.
        boolean present = !foreign && !cleanStart && existing.expirySeconds > 0 && !expired(existing, now);
        if (!present) {
          // The old session ends; the new one takes its place in one step, so nobody finds neither.
          end(existing);
          Session replacement = open(new Session(clientId), expirySeconds, connection, owner);
          sessions.replace(clientId, existing, replacement);
          owned(replacement);
          return new Connected(false, previous, Refusal.NONE);
        }
        if (previous != null) {
          // Taken over while the old connection still stood: its unacknowledged messages go again.
          requeueInFlight(existing);
        }
        open(existing, expirySeconds, connection, owner);
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

  private static Session open(Session session, long expirySeconds, String connection, String owner) {
    session.expirySeconds = expirySeconds;
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
    disconnect(clientId, connection, now, null);
  }

  /**
   * Like {@link #disconnect(String, String, Instant)}, holding the connection's will for its delay
   * (MQTT 5) when one is given: returns the token that takes it back ({@link #takeHeldWill}), or 0
   * when nothing is held — no will, or the session has a newer connection already (which cancels it).
   */
  long disconnect(String clientId, String connection, Instant now, Publication delayedWill) {
    return withSession(clientId, session -> {
      if (session == null || !connection.equals(session.connection)) {
        return 0L; // taken over by a newer connection
      }
      session.connection = null;
      session.disconnectedAt = now;
      connectedClients.decrementAndGet();
      requeueInFlight(session);
      // A persistent session with nothing to keep (no subscription, nothing waiting, no QoS 2
      // exchange open) holds no state for an hour: a client that never completed a session costs nothing.
      // A will held for its delay keeps the session: the client's return must find it to cancel the will.
      boolean empty = session.subscriptions.isEmpty() && session.queued.isEmpty() && session.awaitingRelease.isEmpty()
          && session.released.isEmpty() && delayedWill == null;
      if (session.expirySeconds == 0 || empty) {
        remove(session);
      }
      if (delayedWill == null) {
        return 0L;
      }
      long token = willTokens.incrementAndGet();
      heldWills.put(clientId, new HeldWill(token, delayedWill));
      return token;
    });
  }

  /**
   * A client's DISCONNECT changed its session's expiry (MQTT 5, bounded by the caller). Refused
   * (false) when the session was to end with the connection: it may not be revived so (spec 3.14.2.2.2).
   */
  boolean changeExpiry(String clientId, String connection, long expirySeconds) {
    return withSession(clientId, session -> {
      if (session == null || !connection.equals(session.connection)) {
        return true;
      }
      if (session.expirySeconds == 0 && expirySeconds > 0) {
        return false;
      }
      session.expirySeconds = expirySeconds;
      return true;
    });
  }

  private static boolean expired(Session session, Instant now) {
    return session.connection == null && session.disconnectedAt != null
        && !session.disconnectedAt.plusSeconds(session.expirySeconds).isAfter(now);
  }

  /** A will waiting for its delay; {@code token} tells it from a later one of the same client. */
  record HeldWill(long token, Publication will) {
  }

  /** The held will, once its delay has passed, unless the client came back (null then). */
  Publication takeHeldWill(String clientId, long token) {
    HeldWill held = heldWills.get(clientId);
    return held != null && held.token() == token && heldWills.remove(clientId, held) ? held.will() : null;
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
    long size = publication.size();
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
      session.queuedBytes -= publication.size();
      totalQueuedBytes.addAndGet(-publication.size());
    }
    return publication;
  }

  /** SUBACK reason codes beyond the granted QoS (MQTT 5; a 3.1.1 client is told 0x80 for each). */
  static final int UNSPECIFIED_ERROR = 0x80;
  static final int NOT_AUTHORIZED = 0x87;
  static final int TOPIC_FILTER_INVALID = 0x8F;
  static final int QUOTA_EXCEEDED = 0x97;

  /** The answer to one filter of a SUBSCRIBE: the granted QoS or a failure code, and whether it replaced a subscription. */
  record Granted(int code, boolean existed) {
    boolean granted() {
      return code < 0x80;
    }
  }

  /** Subscriptions without options (MQTT 3.1.1): the granted QoS or a failure code per filter. */
  List<Integer> subscribe(String clientId, Map<String, Integer> filters) {
    Map<String, Session.Subscription> subscriptions = new LinkedHashMap<>();
    filters.forEach((filter, qos) -> subscriptions.put(filter, Session.Subscription.of(qos)));
    return subscribeWithOptions(clientId, subscriptions).stream().map(Granted::code).toList();
  }

  /**
   * Adds or replaces subscriptions. A well-formed filter outside {@code iot/} is refused with
   * "unspecified error" (0x80: MQTT allows it, the platform serves nothing there), a malformed
   * one with "topic filter invalid", one beyond {@code max_subscriptions} with "quota exceeded".
   */
  List<Granted> subscribeWithOptions(String clientId, Map<String, Session.Subscription> filters) {
    return withSession(clientId, session -> {
      List<Granted> granted = new ArrayList<>();
      for (Map.Entry<String, Session.Subscription> entry : filters.entrySet()) {
        String filter = entry.getKey();
        if (session == null) {
          granted.add(new Granted(UNSPECIFIED_ERROR, false));
          continue;
        }
        if (!TopicFilter.isValidFilter(filter)) {
          granted.add(new Granted(TopicFilter.isWellFormed(filter) ? UNSPECIFIED_ERROR : TOPIC_FILTER_INVALID, false));
          continue;
        }
        boolean existed = session.subscriptions.containsKey(filter);
        if (!existed && session.subscriptions.size() >= limits.maxSubscriptions()) {
          refusals.accept("mqtt_subscription_limit");
          granted.add(new Granted(QUOTA_EXCEEDED, false));
          continue;
        }
        Session.Subscription subscription = entry.getValue();
        int qos = Math.min(subscription.qos(), 2);
        session.subscriptions.put(filter, new Session.Subscription(qos, subscription.noLocal(),
            subscription.retainAsPublished(), subscription.retainHandling(), subscription.identifier()));
        if (TopicFilter.isShared(filter)) {
          shareGroups.compute(filter, (f, group) -> {
            ShareGroup g = group == null ? new ShareGroup(TopicFilter.matchingFilter(f)) : group;
            g.members.addIfAbsent(clientId);
            return g;
          });
        } else {
          subscribers.add(clientId, filter);
        }
        granted.add(new Granted(qos, existed));
      }
      return granted;
    });
  }

  /** Removes subscriptions; for each filter whether the client had it (MQTT 5 UNSUBACK: success or "no subscription existed"). */
  List<Boolean> unsubscribe(String clientId, List<String> filters) {
    return withSession(clientId, session -> {
      List<Boolean> existed = new ArrayList<>();
      if (session == null) {
        filters.forEach(f -> existed.add(false));
        return existed;
      }
      for (String filter : filters) {
        existed.add(session.subscriptions.remove(filter) != null);
      }
      forget(clientId, filters, session.subscriptions.keySet());
      return existed;
    });
  }

  /** Takes a client's {@code removed} filters out of the index and the share groups ({@code remaining} it keeps). */
  private void forget(String clientId, java.util.Collection<String> removed, java.util.Collection<String> remaining) {
    List<String> plain = new ArrayList<>();
    for (String filter : removed) {
      if (TopicFilter.isShared(filter)) {
        shareGroups.computeIfPresent(filter, (f, group) -> {
          group.members.remove(clientId);
          return group.members.isEmpty() ? null : group;
        });
      } else {
        plain.add(filter);
      }
    }
    subscribers.remove(clientId, plain, remaining.stream().filter(f -> !TopicFilter.isShared(f)).toList());
  }

  /** The members of one shared subscription; each message goes to one of them, in turn. */
  private static final class ShareGroup {
    final String filter;
    final java.util.concurrent.CopyOnWriteArrayList<String> members = new java.util.concurrent.CopyOnWriteArrayList<>();
    final AtomicInteger next = new AtomicInteger();

    ShareGroup(String filter) {
      this.filter = filter;
    }
  }

  /**
   * Routes a publication of the platform's (a command) to every matching subscription at the
   * lower of the two QoS levels; for an offline persistent session a QoS 1/2 copy is queued (spec 3.1.2.4).
   */
  Route route(Publication publication) {
    return route(publication, null, p -> false);
  }

  /** Routes a client's publication: subscriptions of {@code publisher} that asked for no local get none. */
  Route route(Publication publication, String publisher) {
    return route(publication, publisher, p -> false);
  }

  /**
   * Routes like {@link #route(Publication)}, but a session that already holds a publication
   * {@code alreadyHeld} recognises (a command being delivered again) gets no second copy; it
   * counts as reached.
   */
  Route route(Publication publication, Predicate<Publication> alreadyHeld) {
    return route(publication, null, alreadyHeld);
  }

  private Route route(Publication publication, String publisher, Predicate<Publication> alreadyHeld) {
    List<Delivery> deliveries = new ArrayList<>();
    int queued = 0;
    for (String clientId : subscribers.candidates(publication.topic())) {
      Boolean reached = withSession(clientId, session -> {
        Session.Match match = session == null ? null : session.match(publication.topic(), publisher);
        if (match == null) {
          return null;
        }
        if (holds(session, alreadyHeld)) {
          return true;
        }
        // Retain is only set on messages sent because of a new subscription (spec 3.3.1.3),
        // unless the subscription asked for it as published (MQTT 5).
        Publication copy = publication.copyFor(Math.min(match.qos(), publication.qos()),
            match.retainAsPublished() && publication.retain(), match.subscriptionIds());
        return deliverOrQueue(session, copy, deliveries);
      });
      if (Boolean.TRUE.equals(reached)) {
        queued++;
      }
    }
    if (!shareGroups.isEmpty()) {
      queued += routeShared(publication, publisher, deliveries);
    }
    return new Route(deliveries, queued);
  }

  /** Under the session's lock: a delivery to its connection, or (QoS 1/2) a place in its queue; true if queued. */
  private Boolean deliverOrQueue(Session session, Publication copy, List<Delivery> deliveries) {
    if (session.connection != null) {
      deliveries.add(new Delivery(session.connection, copy));
      return null;
    }
    return copy.qos() > 0 && enqueue(session, copy, false);
  }

  /**
   * One member of each matching share group gets the message (spec 4.8.2): the next in turn that
   * is connected, else (QoS 1/2) the first offline one in turn keeps it in its session. Returns
   * how many were queued.
   */
  private int routeShared(Publication publication, String publisher, List<Delivery> deliveries) {
    int queued = 0;
    for (Map.Entry<String, ShareGroup> entry : shareGroups.entrySet()) {
      ShareGroup group = entry.getValue();
      if (!TopicFilter.matches(group.filter, publication.topic())) {
        continue;
      }
      List<String> members = List.copyOf(group.members);
      if (members.isEmpty()) {
        continue;
      }
      int start = Math.floorMod(group.next.getAndIncrement(), members.size());
      String offline = null;
      boolean delivered = false;
      for (int i = 0; i < members.size() && !delivered; i++) {
        String member = members.get((start + i) % members.size());
        Boolean online = withSession(member, session -> {
          Publication copy = sharedCopy(session, entry.getKey(), publication, publisher);
          if (copy == null) {
            return null;
          }
          if (session.connection == null) {
            return false;
          }
          deliveries.add(new Delivery(session.connection, copy));
          return true;
        });
        delivered = Boolean.TRUE.equals(online);
        if (Boolean.FALSE.equals(online) && offline == null) {
          offline = member;
        }
      }
      if (!delivered && offline != null && publication.qos() > 0) {
        Boolean kept = withSession(offline, session -> {
          Publication copy = sharedCopy(session, entry.getKey(), publication, publisher);
          return copy != null && deliverOrQueue(session, copy, deliveries) == Boolean.TRUE;
        });
        queued += Boolean.TRUE.equals(kept) ? 1 : 0;
      }
    }
    return queued;
  }

  /** The copy of a publication for a session's shared subscription {@code filter}, null if it has none (or no local). */
  private static Publication sharedCopy(Session session, String filter, Publication publication, String publisher) {
    Session.Subscription subscription = session == null ? null : session.subscriptions.get(filter);
    if (subscription == null || (subscription.noLocal() && session.clientId.equals(publisher))) {
      return null;
    }
    return publication.copyFor(Math.min(subscription.qos(), publication.qos()),
        subscription.retainAsPublished() && publication.retain(),
        subscription.identifier() > 0 ? List.of(subscription.identifier()) : List.of());
  }

  /**
   * Keeps (or, with an empty payload, clears) the retained message of a topic (spec 3.3.1.3),
   * within the node's bounds in count and bytes and {@code max_retained_per_client} per client;
   * beyond them the message is still routed, only not retained. False when it was not kept.
   */
  boolean retain(String clientId, Publication publication) {
    return retained.retain(clientId, publication);
  }

  /** Retained messages matching a new subscription, at the subscription's QoS (none for a shared one, spec 4.8.2). */
  List<Publication> retainedFor(String filter, int qos) {
    return TopicFilter.isShared(filter) ? List.of() : retained.matching(filter, qos);
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
    return takeQueued(clientId, connection, max, p -> true);
  }

  /**
   * Like {@link #takeQueued(String, String, int)}; a queued message {@code sendable} refuses (expired,
   * or larger than the client accepts) is dropped instead — as if sent and acknowledged (MQTT 5).
   */
  Map<Integer, Publication> takeQueued(String clientId, String connection, int max, Predicate<Publication> sendable) {
    return withSession(clientId, session -> {
      Map<Integer, Publication> batch = new LinkedHashMap<>();
      if (session == null || !connection.equals(session.connection)) {
        return batch;
      }
      while (!session.queued.isEmpty() && session.inFlight.size() < max) {
        Publication publication = dequeue(session);
        if (!sendable.test(publication)) {
          continue;
        }
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
    if (session.expirySeconds > 0) {
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

  /** PUBREC arrived for our QoS 2 message: it is no longer to be resent, only released. False: no such message. */
  boolean received(String clientId, int packetId) {
    return withSession(clientId, session -> {
      if (session == null) {
        return false;
      }
      Publication sent = session.inFlight.remove(packetId);
      if (sent != null) {
        session.released.put(packetId, sent);
      }
      return sent != null || session.released.containsKey(packetId);
    });
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

  /** PUBREL arrived: the client's QoS 2 message is complete. False when none awaited it. */
  boolean releaseReceived(String clientId, int packetId) {
    return withSession(clientId, session -> session != null && session.awaitingRelease.remove(packetId));
  }

  /** Ends persistent sessions whose client stayed away longer than the session's expiry interval. */
  int expire(Instant now) {
    int expired = 0;
    for (Session session : sessions.values()) {
      synchronized (session) {
        if (!session.ended && expired(session, now)) {
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
    forget(session.clientId, session.subscriptions.keySet(), List.of());
  }
}
