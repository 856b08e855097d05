package io.iotmeter.protocol;

import io.iotmeter.protocol.Category;
import io.iotmeter.protocol.DeviceMessage;
import io.iotmeter.support.Datagrams;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a sink reads off an accepted message: its heap footprint (the sinks' buffers are bounded
 * by it), its JSON shape both ways, and the parse of a message that came back from the journal.
 */
class AcceptedMessageTest {

  private static final Instant RECEIVED = Instant.parse("2026-12-01T10:00:01.234Z");

  private static String telemetry() {
    return Datagrams.telemetry("dc-meter-001", 7).encode();
  }

  private static AcceptedMessage fromJournal(String payload, Instant deviceTs) {
    return new AcceptedMessage(11, "dc-meter-001", Category.TELEMETRY, 2, 7L, deviceTs, RECEIVED,
        "iot/dc-meter-001/telemetry", "endpoint", payload);
  }

  @Test
  void theFootprintCountsThePayloadAndEachParsedMeasurement() {
    String payload = telemetry();
    DeviceMessage parsed = DeviceMessage.parse("iot/dc-meter-001/telemetry", payload.getBytes(StandardCharsets.UTF_8));
    assertThat(parsed.measurements()).hasSize(2);
    AcceptedMessage fresh = new AcceptedMessage(11, "dc-meter-001", Category.TELEMETRY, 2, 7L, Datagrams.T0, RECEIVED,
        "iot/dc-meter-001/telemetry", "endpoint", payload, parsed);
    assertThat(fresh.footprint()).isEqualTo(payload.length() + 2L * DeviceMessage.MEASUREMENT_BYTES);
    assertThat(fromJournal(payload, Datagrams.T0).footprint()).as("nothing parsed yet").isEqualTo(payload.length());
  }

  @Test
  void itsJsonShapeReadsBackAsTheSameMessageWithAndWithoutADeviceTime() {
    for (Instant deviceTs : new Instant[] {Datagrams.T0.plusMillis(70), null}) {
      AcceptedMessage message = fromJournal(telemetry(), deviceTs);
      assertThat(message.toJson().getString("device_ts")).isEqualTo(deviceTs == null ? null : deviceTs.toString());
      assertThat(AcceptedMessage.of(message.toJson())).isEqualTo(message);
    }
  }

  @Test
  void aMessageFromTheJournalIsParsedFromItsPayloadAndAFreshOneKeepsTheIntakesParse() {
    AcceptedMessage fromJournal = fromJournal(telemetry(), Datagrams.T0);
    DeviceMessage parsed = fromJournal.parse();
    assertThat(parsed.deviceId()).isEqualTo("dc-meter-001");
    assertThat(parsed.seq()).isEqualTo(7L);
    assertThat(parsed.measurements()).hasSize(2);

    AcceptedMessage fresh = new AcceptedMessage(11, "dc-meter-001", Category.TELEMETRY, 2, 7L, Datagrams.T0, RECEIVED,
        "iot/dc-meter-001/telemetry", "endpoint", "not parsed again", parsed);
    assertThat(fresh.parse()).isSameAs(parsed);
  }
}
