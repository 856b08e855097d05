package io.iotmeter.security;

import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Secrets this node checked lately, so that a request or a reconnect costs no bcrypt and no bus
 * round trip: keyed by the SHA-256 of the secret (never the secret), holding what the check
 * answered, until it expires or a revocation names its owner. Bounded; event-loop confined.
 */
public final class VerifiedCache {

  private record Entry(String owner, JsonObject answer, long expiresAt) {
  }

  private static final int MAX_ENTRIES = 100_000;
  private final long ttlNanos;
  private final Map<String, Entry> entries = new LinkedHashMap<>();

  public VerifiedCache(Duration ttl) {
    this.ttlNanos = ttl.toNanos();
  }

  /** What the check of {@code secret} answered, when it is still trusted. */
  public JsonObject get(String secret) {
    String digest = Secrets.digest(secret);
    Entry entry = entries.get(digest);
    if (entry == null) {
      return null;
    }
    if (System.nanoTime() - entry.expiresAt() > 0) {
      entries.remove(digest);
      return null;
    }
    return entry.answer();
  }

  /** Remembers a positive check; {@code owner} is what a revocation names (key id, device id). */
  public void put(String secret, String owner, JsonObject answer) {
    if (ttlNanos <= 0) {
      return;
    }
    if (entries.size() >= MAX_ENTRIES) {
      Iterator<String> oldest = entries.keySet().iterator();
      oldest.next();
      oldest.remove();
    }
    entries.put(Secrets.digest(secret), new Entry(owner, answer, System.nanoTime() + ttlNanos));
  }

  /** Forgets every secret of {@code owner}. */
  public void revoke(String owner) {
    entries.values().removeIf(e -> e.owner().equals(owner));
  }
}
