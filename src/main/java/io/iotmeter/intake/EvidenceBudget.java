package io.iotmeter.intake;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How many refused messages per sender and minute are kept as evidence (in the quarantine
 * table and the archive's {@code _rejected/}). A broken meter repeating a bad message, or a
 * client flooding garbage, must not fill the database: beyond the budget a refusal is only
 * counted. Senders are remembered in a bounded map (least recently used forgotten first).
 * Used by one intake instance on its own event loop: not thread-safe.
 */
final class EvidenceBudget {

  static final int MAX_SENDERS = 10_000;
  private static final long MINUTE_MS = 60_000;

  private static final class Window {
    long startedAt;
    int used;
  }

  private final int perMinute;
  private final Map<String, Window> windows = new LinkedHashMap<>(256, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Window> eldest) {
      return size() > MAX_SENDERS;
    }
  };

  EvidenceBudget(int perMinute) {
    this.perMinute = perMinute;
  }

  /** True when one more refused message of {@code sender} may be kept now. */
  boolean take(String sender, long nowMs) {
    if (perMinute <= 0) {
      return false;
    }
    Window window = windows.computeIfAbsent(sender, s -> new Window());
    if (nowMs - window.startedAt >= MINUTE_MS) {
      window.startedAt = nowMs;
      window.used = 0;
    }
    if (window.used >= perMinute) {
      return false;
    }
    window.used++;
    return true;
  }
}
