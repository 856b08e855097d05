package io.iotmeter.intake;

import io.iotmeter.intake.SequenceTracker.Verdict;
import io.iotmeter.protocol.DeviceMessage;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sequence state is bounded; the exact check ({@code intake_seen}) makes sure that bound can
 * never drop a message seen for the first time — only true copies (same seq, same device time).
 * Here the "seen" set is what the intake keeps of accepted messages, as it does per batch.
 */
class ExactDeduplicationTest {

  private static final Instant T0 = Instant.parse("2026-02-12T10:00:00Z");
  private final SequenceTracker tracker = new SequenceTracker(Duration.ofSeconds(30));
  private final SequenceState state = new SequenceState();
  private final Map<Long, Set<Instant>> seen = new HashMap<>();

  private static DeviceMessage telemetry(long seq, Instant ts) {
    JsonObject json = new JsonObject().put("v", 2).put("ts", ts.toString()).put("seq", seq)
        .put("msg_type", "telemetry").put("measurements", new JsonArray());
    return DeviceMessage.parse("iot/dc-1/telemetry", json.encode().getBytes(StandardCharsets.UTF_8));
  }

  /** Offers a message as the intake does and remembers it when accepted. */
  private Verdict offer(long seq, Instant ts) {
    SequenceTracker.Decision d = tracker.decide(state, telemetry(seq, ts), ts.plusMillis(5), q -> seen.getOrDefault(q, Set.of()));
    if (d.verdict().accepted()) {
      seen.computeIfAbsent(seq, q -> new HashSet<>()).add(ts);
    }
    return d.verdict();
  }

  private Verdict send(long seq) {
    return offer(seq, T0.plusSeconds(10 * seq));
  }

  @Test
  void trueCopiesAreStillDropped() {
    assertThat(send(0)).isEqualTo(Verdict.ACCEPTED);
    assertThat(send(1)).isEqualTo(Verdict.ACCEPTED);
    assertThat(send(1)).isEqualTo(Verdict.DUPLICATE);
    assertThat(send(0)).isEqualTo(Verdict.DUPLICATE);
  }

  @Test
  void aMessageInAGapTheStateForgotIsStillAccepted() {
    send(0);
    // 300 gaps: more than the state keeps, so the oldest (seq 1) is forgotten.
    for (int i = 1; i <= SequenceState.MAX_GAPS + 44; i++) {
      assertThat(send(2L * i)).isEqualTo(Verdict.OPENED_GAP);
    }
    assertThat(state.missing()).hasSize(SequenceState.MAX_GAPS);
    assertThat(send(1)).as("seq 1 never arrived: a first copy").isEqualTo(Verdict.FIRST_COPY);
    assertThat(send(1)).as("and now it is a copy").isEqualTo(Verdict.DUPLICATE);
    assertThat(send(3)).isEqualTo(Verdict.FIRST_COPY);
  }

  @Test
  void messagesBelowTheFirstContactWindowAreAccepted() {
    assertThat(send(1000)).isEqualTo(Verdict.ACCEPTED);
    assertThat(send(999)).isEqualTo(Verdict.FILLED_GAP);
    assertThat(send(1000 - SequenceTracker.FIRST_CONTACT_WINDOW - 10))
        .as("sent before the platform first heard of the device, delayed in a broker").isEqualTo(Verdict.FIRST_COPY);
  }

  @Test
  void aCounterResetWithoutRebootSignsStartsANewEpoch() {
    for (long seq = 0; seq <= 50; seq++) {
      send(seq);
    }
    // Firmware glitch: the counter restarts at 0 with a clock that is behind, no online status.
    Instant behind = T0.minusSeconds(3600);
    assertThat(offer(0, behind)).isEqualTo(Verdict.COUNTER_RESET);
    assertThat(state.epoch()).isEqualTo(1);
    assertThat(offer(1, behind.plusSeconds(10))).isEqualTo(Verdict.ACCEPTED);
    assertThat(offer(1, behind.plusSeconds(10))).isEqualTo(Verdict.DUPLICATE);
    // The old boot's copies are still recognised by their time.
    assertThat(send(30)).isEqualTo(Verdict.DUPLICATE);
  }

  @Test
  void aFarJumpAheadAndBackLosesNothing() {
    for (long seq = 0; seq < 10; seq++) {
      send(seq);
    }
    assertThat(offer(DeviceMessage.MAX_SEQ - 5, T0.plusSeconds(95))).isEqualTo(Verdict.OPENED_GAP);
    assertThat(send(10)).isEqualTo(Verdict.FILLED_GAP);
    assertThat(send(11)).isEqualTo(Verdict.FILLED_GAP);
    assertThat(send(11)).isEqualTo(Verdict.DUPLICATE);
  }

  @Test
  void aCopyIsDroppedEvenWhereTheStateWouldTakeItForAReboot() {
    for (long seq = 0; seq < 5; seq++) {
      send(seq);
    }
    // A device time newer than every message is reboot evidence — but this exact message was accepted.
    Instant newer = T0.plusSeconds(3600);
    assertThat(offer(2, newer)).isEqualTo(Verdict.RESTARTED);
    assertThat(offer(2, newer)).isEqualTo(Verdict.DUPLICATE);
    assertThat(state.epoch()).isEqualTo(1);
  }

  @Test
  void contentKeysAreNegativeAndStable() {
    byte[] a = "{\"timestamp\":\"2026-02-12T10:00:00Z\",\"v\":1}".getBytes(StandardCharsets.UTF_8);
    byte[] b = "{\"timestamp\":\"2026-02-12T10:00:01Z\",\"v\":1}".getBytes(StandardCharsets.UTF_8);
    assertThat(IntakeVerticle.contentKey(a)).isNegative().isEqualTo(IntakeVerticle.contentKey(a.clone()));
    assertThat(IntakeVerticle.contentKey(b)).isNegative().isNotEqualTo(IntakeVerticle.contentKey(a));
  }
}
