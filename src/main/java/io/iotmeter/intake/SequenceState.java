package io.iotmeter.intake;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * What the intake remembers of one device to tell new messages from copies: the highest
 * {@code seq} of the current boot epoch, the sequence numbers still missing below it, the
 * device time of the newest message, and the last status messages. Persisted in
 * {@code device_seq_tracking}; mutable, because a batch applies many messages to it in turn.
 */
public final class SequenceState {

  /** How many status messages are remembered for de-duplication (copies arrive within minutes). */
  static final int RECENT_STATUS = 16;
  /** Bound on remembered gaps per device; the oldest are forgotten first. */
  static final int MAX_GAPS = 256;

  long lastSeq = -1;
  int epoch;
  Instant lastTs;
  Instant epochStartedAt;
  /** Device time of the newest message of the previous boot: anything older is from before the reboot. */
  Instant previousEpochLastTs;
  Instant lastAcceptedAt;
  Instant onlineAt;
  /** Device time of that online status: what the device sends from then on is not older. */
  Instant onlineTs;
  int gapCount;
  Instant gapAlertDue;
  final List<GapRange> missing = new ArrayList<>();
  final Deque<String> recentStatus = new ArrayDeque<>();

  public long lastSeq() {
    return lastSeq;
  }

  public int epoch() {
    return epoch;
  }

  public List<GapRange> missing() {
    return List.copyOf(missing);
  }

  public int gapCount() {
    return gapCount;
  }

  public Instant gapAlertDue() {
    return gapAlertDue;
  }

  JsonArray missingJson() {
    JsonArray array = new JsonArray();
    missing.forEach(range -> array.add(range.toJson()));
    return array;
  }

  JsonArray recentStatusJson() {
    return new JsonArray(new ArrayList<>(recentStatus));
  }

  void loadMissing(JsonArray array) {
    missing.clear();
    if (array != null) {
      array.forEach(o -> missing.add(GapRange.fromJson((JsonObject) o)));
    }
  }

  void loadRecentStatus(JsonArray array) {
    recentStatus.clear();
    if (array != null) {
      array.forEach(o -> recentStatus.add((String) o));
    }
  }

  /** Recomputes when the next gap alert falls due ({@code null}: none pending). */
  void recomputeAlertDue(java.time.Duration delay) {
    gapAlertDue = missing.stream().filter(r -> !r.alerted()).map(r -> r.since().plus(delay))
        .min(Instant::compareTo).orElse(null);
  }
}
