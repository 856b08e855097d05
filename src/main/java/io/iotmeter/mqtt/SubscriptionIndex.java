package io.iotmeter.mqtt;

import java.util.Collection;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which clients may have a subscription matching a topic: a superset, which the sessions then
 * check against their own filters. Exact (wildcard-free) filters — every meter's
 * {@code iot/{id}/command} — are a map lookup; clients with a wildcard filter are kept apart
 * and asked every time. Concurrent: the connections of every event loop subscribe and route
 * through it without a common lock.
 */
final class SubscriptionIndex {

  private final Map<String, Set<String>> exact = new ConcurrentHashMap<>();
  private final Set<String> wildcard = ConcurrentHashMap.newKeySet();

  void add(String clientId, String filter) {
    if (TopicFilter.hasWildcard(filter)) {
      wildcard.add(clientId);
    } else {
      // Added inside the map's own step: a set emptied and removed by another client's
      // unsubscribe at the same moment must not take this client with it.
      exact.compute(filter, (f, clients) -> {
        Set<String> set = clients == null ? ConcurrentHashMap.newKeySet() : clients;
        set.add(clientId);
        return set;
      });
    }
  }

  /**
   * Forgets {@code removed} of a client's filters; {@code remaining} are the ones it keeps (a
   * client stays among the wildcard subscribers while any of them has a wildcard).
   */
  void remove(String clientId, Collection<String> removed, Collection<String> remaining) {
    for (String filter : removed) {
      exact.computeIfPresent(filter, (f, clients) -> {
        clients.remove(clientId);
        return clients.isEmpty() ? null : clients;
      });
    }
    if (remaining.stream().noneMatch(TopicFilter::hasWildcard)) {
      wildcard.remove(clientId);
    }
  }

  /** The clients that may subscribe to {@code topic}. */
  Set<String> candidates(String topic) {
    Set<String> exactClients = exact.get(topic);
    if (wildcard.isEmpty()) {
      return exactClients == null ? Set.of() : exactClients;
    }
    Set<String> all = new HashSet<>(wildcard);
    if (exactClients != null) {
      all.addAll(exactClients);
    }
    return all;
  }
}
