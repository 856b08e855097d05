package io.iotmeter.intake;

import io.iotmeter.protocol.Category;
import io.iotmeter.protocol.DeviceMessage;

import java.time.Duration;
import java.time.Instant;
import java.util.ListIterator;
import java.util.Set;

/**
 * Decides, message by message, whether a device message is new or a copy (protocol
 * "Duplicates and gaps"), keeping the device's {@link SequenceState} current.
 *
 * <p>A message is identified by {@code (device_id, epoch, seq)}. Within an epoch: a {@code seq}
 * above the highest seen is new (and a jump of more than one opens a gap); a {@code seq} inside
 * an open gap is new and fills it; anything else is a copy — unless the device evidently
 * restarted, which begins a new epoch. Restart evidence (any one suffices):
 * <ol>
 *   <li>the message's device time is newer than every message of the epoch — a copy of an old
 *       message cannot be newer than the newest one;</li>
 *   <li>a hello whose {@code uptime_s} is shorter than the time this epoch has been running;</li>
 *   <li>an {@code online} status arrived since the last message, {@code seq} is small and the
 *       message is not older than that status — the device reconnected and counts from zero
 *       (this covers a clock reset to 1970 as well, since both carry the reset clock);</li>
 *   <li>{@code seq} wrapped after 2^32 − 1.</li>
 * </ol>
 * Losing every message after a reboot — the reference system's behaviour — is thus avoided.
 * Status messages carry no {@code seq}; their copies are recognised by (status, ts).
 */
public final class SequenceTracker {

  /** What became of a message, and the boot epoch it belongs to. */
  public record Decision(Verdict verdict, int epoch) {
  }

  /**
   * What the intake accepted within the de-duplication window, for one device: the device times
   * of the messages accepted with a given seq ({@code intake_seen}, plus this batch).
   */
  @FunctionalInterface
  public interface Seen {
    Set<Instant> times(long seq);
  }

  /** What became of a message. */
  public enum Verdict {
    ACCEPTED, FILLED_GAP, OPENED_GAP, RESTARTED,
    /** The sequence state took it for a copy, but no message with this seq and time was accepted: new. */
    FIRST_COPY,
    /** The same seq was accepted with another device time: the counter was reset, a new epoch begins. */
    COUNTER_RESET,
    DUPLICATE;

    public boolean accepted() {
      return this != DUPLICATE;
    }
  }

  /** A {@code seq} at most this small right after an {@code online} status means "counting from zero again". */
  static final long SMALL_SEQ = 16;
  /** Slack between a hello's uptime and our own clock before it counts as a restart. */
  static final Duration UPTIME_SLACK = Duration.ofSeconds(60);
  private static final long WRAP_WINDOW = 1000;
  /** Sequence numbers below the first one ever seen that are still let in (out-of-order copies). */
  static final long FIRST_CONTACT_WINDOW = 64;

  private final Duration gapAlertDelay;

  public SequenceTracker(Duration gapAlertDelay) {
    this.gapAlertDelay = gapAlertDelay;
  }

  /**
   * The decision checked against what was accepted ({@code seen}), so that bounded state can
   * never drop a message seen for the first time: a sequenced message is a copy exactly when a
   * message with the same seq and device time was accepted. The state decides the rest — gaps,
   * reboots, epochs — and where it would call a message a copy that {@code seen} does not know,
   * the message is new: a counter reset if its seq was accepted with another time (a new epoch
   * begins), otherwise a first copy the state had forgotten about (accepted, state unchanged).
   */
  public Decision decide(SequenceState state, DeviceMessage message, Instant receivedAt, Seen seen) {
    if (message.category() == Category.STATUS || message.seq() == null) {
      return decide(state, message, receivedAt);
    }
    Set<Instant> times = seen.times(message.seq());
    if (times.contains(message.ts())) {
      return new Decision(Verdict.DUPLICATE, state.epoch);
    }
    Decision decision = decide(state, message, receivedAt);
    if (decision.verdict().accepted()) {
      return decision;
    }
    if (!times.isEmpty()) {
      startEpoch(state, message, receivedAt);
      state.lastAcceptedAt = receivedAt;
      state.recomputeAlertDue(gapAlertDelay);
      return new Decision(Verdict.COUNTER_RESET, state.epoch);
    }
    state.lastAcceptedAt = receivedAt;
    return new Decision(Verdict.FIRST_COPY, state.epoch);
  }

  public Verdict offer(SequenceState state, DeviceMessage message, Instant receivedAt) {
    return decide(state, message, receivedAt).verdict();
  }

  public Decision decide(SequenceState state, DeviceMessage message, Instant receivedAt) {
    if (message.category() == Category.STATUS) {
      return new Decision(offerStatus(state, message, receivedAt), state.epoch);
    }
    if (state.previousEpochLastTs != null && !message.ts().isAfter(state.previousEpochLastTs)
        && !isMissing(state, state.epoch, message.seq())) {
      // No newer than the last message of the previous boot: a late copy of an earlier boot's
      // message. New only if it is one that never arrived.
      for (GapRange range : state.missing) {
        if (range.epoch() < state.epoch && range.contains(range.epoch(), message.seq())) {
          fillGap(state, range.epoch(), message.seq());
          state.recomputeAlertDue(gapAlertDelay);
          return new Decision(Verdict.FILLED_GAP, range.epoch());
        }
      }
      return new Decision(Verdict.DUPLICATE, state.epoch);
    }
    Verdict verdict = offerSequenced(state, message, receivedAt);
    if (verdict.accepted()) {
      state.lastAcceptedAt = receivedAt;
      state.recomputeAlertDue(gapAlertDelay);
    }
    return new Decision(verdict, state.epoch);
  }

  private Verdict offerStatus(SequenceState state, DeviceMessage message, Instant receivedAt) {
    String key = message.payload().getString("status") + "@" + message.ts();
    if (state.recentStatus.contains(key)) {
      return Verdict.DUPLICATE;
    }
    state.recentStatus.addLast(key);
    while (state.recentStatus.size() > SequenceState.RECENT_STATUS) {
      state.recentStatus.removeFirst();
    }
    if ("online".equals(message.payload().getString("status"))) {
      state.onlineAt = receivedAt;
      state.onlineTs = message.ts();
    }
    return Verdict.ACCEPTED;
  }

  private Verdict offerSequenced(SequenceState state, DeviceMessage message, Instant receivedAt) {
    long seq = message.seq();
    Instant ts = message.ts();
    if (state.lastSeq < 0) {
      // First contact: what came before is unknown, not missing. Earlier messages still in
      // flight through other brokers are let in, without a gap alert.
      state.epochStartedAt = receivedAt;
      if (seq > 0) {
        state.missing.add(new GapRange(state.epoch, Math.max(0, seq - FIRST_CONTACT_WINDOW), seq - 1, receivedAt, true));
      }
      advance(state, seq, ts);
      return Verdict.ACCEPTED;
    }
    if (fillGap(state, state.epoch, seq)) {
      state.lastTs = later(state.lastTs, ts);
      return Verdict.FILLED_GAP;
    }
    if (seq == state.lastSeq + 1) {
      advance(state, seq, ts);
      return Verdict.ACCEPTED;
    }
    if (seq > state.lastSeq + 1) {
      openGap(state, state.epoch, state.lastSeq + 1, seq - 1, receivedAt);
      advance(state, seq, ts);
      return Verdict.OPENED_GAP;
    }
    if (restarted(state, message, receivedAt)) {
      startEpoch(state, message, receivedAt);
      return Verdict.RESTARTED;
    }
    return Verdict.DUPLICATE;
  }

  /** The device counts from {@code message.seq()} in a new boot epoch. */
  private static void startEpoch(SequenceState state, DeviceMessage message, Instant receivedAt) {
    long seq = message.seq();
    Instant ts = message.ts();
    // Only a sane clock (newer than the old boot's messages) can tell the boots apart by time.
    state.previousEpochLastTs = state.lastTs != null && ts.isAfter(state.lastTs) ? state.lastTs : null;
    state.epoch++;
    state.epochStartedAt = receivedAt;
    state.onlineAt = null;
    state.onlineTs = null;
    state.lastSeq = -1;
    state.lastTs = null;
    if (seq > 0) {
      // Messages 0..seq-1 of the new boot may still come through other brokers.
      openGap(state, state.epoch, 0, seq - 1, receivedAt);
    }
    advance(state, seq, ts);
  }

  private static boolean restarted(SequenceState state, DeviceMessage message, Instant receivedAt) {
    long seq = message.seq();
    if (state.lastTs != null && message.ts().isAfter(state.lastTs)) {
      return true;
    }
    if (message.category() == Category.HELLO && state.epochStartedAt != null) {
      Duration epochAge = Duration.between(state.epochStartedAt, receivedAt);
      Duration uptime = Duration.ofSeconds(message.payload().getLong("uptime_s"));
      if (uptime.plus(UPTIME_SLACK).compareTo(epochAge) < 0) {
        return true;
      }
    }
    // After a reconnect without reboot the device resends what was not acknowledged — old
    // messages, created before its online status. Only messages created after it count here.
    if (state.onlineAt != null && (state.lastAcceptedAt == null || state.onlineAt.isAfter(state.lastAcceptedAt))
        && seq <= SMALL_SEQ && (state.onlineTs == null || !message.ts().isBefore(state.onlineTs))) {
      return true;
    }
    return state.lastSeq > DeviceMessage.MAX_SEQ - WRAP_WINDOW && seq < WRAP_WINDOW;
  }

  private static void advance(SequenceState state, long seq, Instant ts) {
    state.lastSeq = seq;
    state.lastTs = later(state.lastTs, ts);
  }

  private static Instant later(Instant a, Instant b) {
    return a == null || b.isAfter(a) ? b : a;
  }

  private static boolean isMissing(SequenceState state, int epoch, long seq) {
    return state.missing.stream().anyMatch(r -> r.contains(epoch, seq));
  }

  /** Removes {@code seq} of {@code epoch} from the open gaps; false when it was not missing. */
  private static boolean fillGap(SequenceState state, int epoch, long seq) {
    ListIterator<GapRange> it = state.missing.listIterator();
    while (it.hasNext()) {
      GapRange range = it.next();
      if (range.contains(epoch, seq)) {
        it.remove();
        if (seq < range.to()) {
          it.add(new GapRange(range.epoch(), seq + 1, range.to(), range.since(), range.alerted()));
        }
        if (seq > range.from()) {
          it.add(new GapRange(range.epoch(), range.from(), seq - 1, range.since(), range.alerted()));
        }
        return true;
      }
    }
    return false;
  }

  private static void openGap(SequenceState state, int epoch, long from, long to, Instant now) {
    state.missing.add(new GapRange(epoch, from, to, now, false));
    while (state.missing.size() > SequenceState.MAX_GAPS) {
      state.missing.remove(0);
    }
  }
}
