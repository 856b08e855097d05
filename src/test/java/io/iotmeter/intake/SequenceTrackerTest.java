package io.iotmeter.intake;

import io.iotmeter.intake.SequenceTracker.Verdict;
import io.iotmeter.protocol.DeviceMessage;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

class SequenceTrackerTest {

  private static final Instant T0 = Instant.parse("2026-02-12T10:00:00Z");
  private final SequenceTracker tracker = new SequenceTracker(Duration.ofSeconds(30));
  private final SequenceState state = new SequenceState();

  private static DeviceMessage telemetry(long seq, Instant ts) {
    JsonObject json = new JsonObject().put("v", 2).put("device_id", "dc-1").put("ts", ts.toString()).put("seq", seq)
        .put("msg_type", "telemetry").put("measurements", new io.vertx.core.json.JsonArray());
    return DeviceMessage.parse("iot/dc-1/telemetry", json.encode().getBytes(StandardCharsets.UTF_8));
  }

  private static DeviceMessage hello(long seq, Instant ts, long uptime) {
    JsonObject json = new JsonObject().put("v", 2).put("device_id", "dc-1").put("ts", ts.toString()).put("seq", seq)
        .put("msg_type", "hello").put("fw_version", "1.0.0").put("uptime_s", uptime).put("broker_connections", 3).put("buf_usage_pct", 0);
    return DeviceMessage.parse("iot/dc-1/hello", json.encode().getBytes(StandardCharsets.UTF_8));
  }

  private static DeviceMessage status(String status, Instant ts) {
    JsonObject json = new JsonObject().put("v", 2).put("device_id", "dc-1").put("ts", ts.toString()).put("status", status);
    return DeviceMessage.parse("iot/dc-1/status", json.encode().getBytes(StandardCharsets.UTF_8));
  }

  /** Message seq n of the first boot, created at T0 + 10 s · n and received right away. */
  private Verdict send(long seq) {
    Instant ts = T0.plusSeconds(10 * seq);
    return tracker.offer(state, telemetry(seq, ts), ts.plusMillis(5));
  }

  @Test
  void inOrderMessagesAreAcceptedAndCopiesAreNot() {
    assertThat(send(0)).isEqualTo(Verdict.ACCEPTED);
    assertThat(send(1)).isEqualTo(Verdict.ACCEPTED);
    assertThat(send(1)).isEqualTo(Verdict.DUPLICATE);
    assertThat(send(0)).isEqualTo(Verdict.DUPLICATE);
    assertThat(send(2)).isEqualTo(Verdict.ACCEPTED);
    assertThat(state.lastSeq()).isEqualTo(2);
    assertThat(state.missing()).isEmpty();
  }

  @Test
  void aJumpOpensAGapThatLateCopiesFill() {
    send(0);
    assertThat(send(5)).isEqualTo(Verdict.OPENED_GAP);
    assertThat(state.missing()).singleElement().satisfies(r -> {
      assertThat(r.from()).isEqualTo(1);
      assertThat(r.to()).isEqualTo(4);
    });
    assertThat(state.gapAlertDue()).isNotNull();
    assertThat(send(3)).isEqualTo(Verdict.FILLED_GAP);
    assertThat(send(3)).isEqualTo(Verdict.DUPLICATE);
    assertThat(state.missing()).extracting(GapRange::size).containsExactlyInAnyOrder(2L, 1L);
    send(1);
    send(2);
    send(4);
    assertThat(state.missing()).isEmpty();
    assertThat(state.gapAlertDue()).as("nothing left to alert").isNull();
  }

  @Test
  void aRebootWithANewerClockStartsANewEpoch() {
    for (int i = 0; i <= 100; i++) {
      send(i);
    }
    Instant later = T0.plusSeconds(2000);
    assertThat(tracker.offer(state, telemetry(0, later), later)).isEqualTo(Verdict.RESTARTED);
    assertThat(state.epoch()).isEqualTo(1);
    assertThat(tracker.offer(state, telemetry(1, later.plusSeconds(10)), later.plusSeconds(10))).isEqualTo(Verdict.ACCEPTED);
    assertThat(tracker.offer(state, telemetry(1, later.plusSeconds(10)), later.plusSeconds(11))).isEqualTo(Verdict.DUPLICATE);
    assertThat(send(50)).as("a late copy of the old boot").isEqualTo(Verdict.DUPLICATE);
  }

  @Test
  void aRebootWithAResetClockIsRecognisedByItsOnlineStatus() {
    for (int i = 0; i <= 100; i++) {
      send(i);
    }
    Instant now = T0.plusSeconds(2000);
    Instant epoch1970 = Instant.parse("1970-01-01T00:00:05Z");
    assertThat(tracker.offer(state, status("online", epoch1970), now)).isEqualTo(Verdict.ACCEPTED);
    assertThat(tracker.offer(state, telemetry(0, epoch1970), now.plusSeconds(1))).isEqualTo(Verdict.RESTARTED);
    assertThat(tracker.offer(state, telemetry(1, epoch1970.plusSeconds(10)), now.plusSeconds(11))).isEqualTo(Verdict.ACCEPTED);
  }

  @Test
  void aHelloWithAShortUptimeIsARestart() {
    for (int i = 0; i <= 100; i++) {
      send(i);
    }
    Instant now = T0.plusSeconds(1010);
    Instant skewedClock = T0.plusSeconds(5); // older than the newest message: not evidence by itself
    assertThat(tracker.offer(state, hello(30, skewedClock, 12), now)).isEqualTo(Verdict.RESTARTED);
    assertThat(state.missing()).as("0..29 of the new boot may still arrive").singleElement()
        .satisfies(r -> assertThat(r.to()).isEqualTo(29));
  }

  @Test
  void theStartOfANewBootArrivingLateIsStillAccepted() {
    for (int i = 0; i <= 100; i++) {
      send(i);
    }
    Instant boot = T0.plusSeconds(3000);
    assertThat(tracker.offer(state, telemetry(3, boot.plusSeconds(30)), boot.plusSeconds(31))).isEqualTo(Verdict.RESTARTED);
    assertThat(tracker.offer(state, telemetry(1, boot.plusSeconds(10)), boot.plusSeconds(32))).isEqualTo(Verdict.FILLED_GAP);
    assertThat(tracker.offer(state, telemetry(1, boot.plusSeconds(10)), boot.plusSeconds(33))).isEqualTo(Verdict.DUPLICATE);
    assertThat(send(1)).as("seq 1 of the old boot, older than its last message").isEqualTo(Verdict.DUPLICATE);
  }

  @Test
  void aReconnectWithoutRebootKeepsCounting() {
    for (int i = 0; i <= 20; i++) {
      send(i);
    }
    Instant now = T0.plusSeconds(215);
    tracker.offer(state, status("online", now), now);
    assertThat(send(19)).as("a redelivered message after a plain reconnect").isEqualTo(Verdict.DUPLICATE);
    assertThat(send(21)).isEqualTo(Verdict.ACCEPTED);
    assertThat(state.epoch()).isZero();
  }

  @Test
  void messagesResentAfterAReconnectEarlyInABootAreStillCopies() {
    for (int i = 0; i <= 5; i++) {
      send(i);
    }
    Instant reconnect = T0.plusSeconds(80);
    tracker.offer(state, status("online", reconnect), reconnect);
    assertThat(send(3)).as("created before the online status: resent, not a new boot").isEqualTo(Verdict.DUPLICATE);
    assertThat(send(5)).isEqualTo(Verdict.DUPLICATE);
    assertThat(send(6)).isEqualTo(Verdict.ACCEPTED);
    assertThat(state.epoch()).isZero();
  }

  @Test
  void statusCopiesAreRecognisedByStatusAndTime() {
    Instant ts = T0.plusSeconds(3);
    assertThat(tracker.offer(state, status("offline", ts), T0.plusSeconds(40))).isEqualTo(Verdict.ACCEPTED);
    assertThat(tracker.offer(state, status("offline", ts), T0.plusSeconds(70))).isEqualTo(Verdict.DUPLICATE);
    assertThat(tracker.offer(state, status("online", ts), T0.plusSeconds(71))).isEqualTo(Verdict.ACCEPTED);
  }

  @Test
  void atFirstContactSlightlyEarlierMessagesAreStillLetIn() {
    Instant ts = T0.plusSeconds(5000);
    assertThat(tracker.offer(state, telemetry(500, ts), ts)).isEqualTo(Verdict.ACCEPTED);
    assertThat(tracker.offer(state, telemetry(499, ts.minusSeconds(10)), ts.plusMillis(3))).isEqualTo(Verdict.FILLED_GAP);
    assertThat(state.gapAlertDue()).as("first contact raises no gap alert").isNull();
    assertThat(tracker.offer(state, telemetry(10, ts.minusSeconds(4900)), ts.plusMillis(4))).isEqualTo(Verdict.DUPLICATE);
  }

  @Test
  void seqWrapsAfterTwoToTheThirtyTwo() {
    Instant ts = T0;
    tracker.offer(state, telemetry(DeviceMessage.MAX_SEQ - 1, ts), ts);
    tracker.offer(state, telemetry(DeviceMessage.MAX_SEQ, ts), ts);
    assertThat(tracker.offer(state, telemetry(0, ts), ts.plusSeconds(1))).isEqualTo(Verdict.RESTARTED);
  }
}
