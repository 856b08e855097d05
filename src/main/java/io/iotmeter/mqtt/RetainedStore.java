package io.iotmeter.mqtt;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The node's retained messages (spec 3.3.1.3), bounded in count and bytes and per client.
 * Reads take no lock (a concurrent map); a change takes this store's own lock, for its bounds.
 * A wildcard subscription gets the matching messages in no particular order (MQTT sets none
 * across topics).
 */
final class RetainedStore {

  /** A retained message and the client that set it. */
  private record Retained(String clientId, Publication publication) {
  }

  private final Map<String, Retained> retained = new ConcurrentHashMap<>();
  /** Guarded by this store's lock, like {@link #bytes}. */
  private final Map<String, Integer> byClient = new HashMap<>();
  private volatile long bytes;
  private final MqttLimits limits;
  private final Consumer<String> refusals;

  RetainedStore(MqttLimits limits, Consumer<String> refusals) {
    this.limits = limits;
    this.refusals = refusals;
  }

  /**
   * Keeps (or, with an empty payload, clears) the retained message of a topic, within the node's
   * bounds and {@code max_retained_per_client}; false when it was not kept.
   */
  synchronized boolean retain(String clientId, Publication publication) {
    Retained old = retained.get(publication.topic());
    if (publication.payload().length == 0) {
      if (old != null) {
        forget(publication.topic(), old);
      }
      return true;
    }
    long size = publication.size();
    long bytesAfter = bytes + size - (old == null ? 0 : old.publication().size());
    int ownedByClient = byClient.getOrDefault(clientId, 0) - (old != null && old.clientId().equals(clientId) ? 1 : 0);
    if ((old == null && retained.size() >= limits.maxRetained()) || bytesAfter > limits.maxRetainedBytes()
        || ownedByClient >= limits.maxRetainedPerClient()) {
      refusals.accept("mqtt_retained_refused");
      return false;
    }
    if (old != null) {
      forget(publication.topic(), old);
    }
    retained.put(publication.topic(), new Retained(clientId, publication));
    bytes += size;
    byClient.merge(clientId, 1, Integer::sum);
    return true;
  }

  private void forget(String topic, Retained old) {
    retained.remove(topic);
    bytes -= old.publication().size();
    byClient.computeIfPresent(old.clientId(), (id, n) -> n <= 1 ? null : n - 1);
  }

  /**
   * Retained messages matching a new subscription, at the subscription's QoS; an exact filter is
   * one lookup. An expired message (MQTT 5 message expiry) is not sent, and no longer kept.
   */
  List<Publication> matching(String filter, int qos) {
    List<Publication> matching = new ArrayList<>();
    long now = System.currentTimeMillis();
    if (!TopicFilter.hasWildcard(filter)) {
      Retained kept = retained.get(filter);
      if (kept != null) {
        add(matching, filter, kept, qos, now);
      }
      return matching;
    }
    retained.forEach((topic, kept) -> {
      if (TopicFilter.matches(filter, topic)) {
        add(matching, topic, kept, qos, now);
      }
    });
    return matching;
  }

  private void add(List<Publication> matching, String topic, Retained kept, int qos, long now) {
    if (!kept.publication().properties().expired(now)) {
      matching.add(asRetained(kept.publication(), qos));
      return;
    }
    synchronized (this) {
      if (retained.get(topic) == kept) {
        forget(topic, kept);
      }
    }
  }

  private static Publication asRetained(Publication publication, int qos) {
    return publication.withQos(Math.min(qos, publication.qos())).withRetain(true);
  }

  int count() {
    return retained.size();
  }

  long bytes() {
    return bytes;
  }
}
