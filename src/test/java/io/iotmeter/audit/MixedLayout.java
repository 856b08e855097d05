package io.iotmeter.audit;

import io.iotmeter.protocol.Category;
import io.iotmeter.support.Datagrams;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The fault suite's load: mostly telemetry, and some of every message the registry sink writes
 * from, so that every sink is audited per key. Of each ten seqs, seq ≡ 3 is a hello (its firmware
 * version names the seq), seq ≡ 5 a command ack (of a command of its own, while there are
 * prepared commands: {@link #ACKED_COMMANDS} per device), seq ≡ 7 an OTA progress report, the rest
 * telemetry: one voltage and one current sample 1 s before the datagram's ts (T0 + 10·seq s),
 * which make three points with the derived active power.
 */
public final class MixedLayout implements LoadLayout {

  /** Commands prepared per device for the acks: seqs beyond 10 × this send telemetry instead. */
  public static final int ACKED_COMMANDS = 400;

  private static final Instant T0 = Datagrams.T0;

  @Override
  public Category category(long seq) {
    return switch ((int) (seq % 10)) {
      case 3 -> Category.HELLO;
      case 5 -> seq / 10 < ACKED_COMMANDS ? Category.COMMAND_ACK : Category.TELEMETRY;
      case 7 -> Category.OTA_STATUS;
      default -> Category.TELEMETRY;
    };
  }

  @Override
  public byte[] payload(String device, long seq) {
    Instant ts = T0.plusSeconds(10 * seq);
    JsonObject message = switch (category(seq)) {
      // uptime grows with the device's clock, so a hello never looks like a reboot
      case HELLO -> Datagrams.hello(device, seq, ts, helloFirmware(seq), 1000 + 10 * seq);
      case COMMAND_ACK -> Datagrams.envelope(device, seq, "command_ack", ts).put("cmd_id", commandOf(device, seq).toString())
          .put("result", "accepted").put("detail", "seq " + seq);
      case OTA_STATUS -> Datagrams.envelope(device, seq, "ota_status", ts).put("cmd_id", commandOf(device, seq).toString())
          .put("ota_state", "downloading").put("progress_pct", (double) (seq % 100)).put("fw_version_target", "9.9.9");
      default -> Datagrams.telemetry(device, seq);
    };
    return message.encode().getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public List<PointKey> points(long seq) {
    if (category(seq) != Category.TELEMETRY) {
      return List.of();
    }
    Instant at = T0.plusSeconds(10 * seq - 1);
    return List.of(new PointKey("voltage_dc", at), new PointKey("current_dc", at), new PointKey("power_active", at));
  }

  @Override
  public long seqAt(Instant time) {
    long offset = time.getEpochSecond() + 1 - T0.getEpochSecond();
    if (time.getNano() != 0 || offset < 0 || offset % 10 != 0) {
      return -1;
    }
    return offset / 10;
  }

  @Override
  public String helloFirmware(long seq) {
    return "1." + seq + ".0";
  }

  @Override
  public UUID commandOf(String device, long seq) {
    Category category = category(seq);
    // One command per ack; every OTA report of a device is progress of the same update.
    String name = category == Category.OTA_STATUS ? device + "#ota" : device + "#ack#" + seq;
    return UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public Instant reportedAt(long seq) {
    return T0.plusSeconds(10 * seq);
  }

  @Override
  public long seqOfReport(Instant reportedAt) {
    long offset = reportedAt.getEpochSecond() - T0.getEpochSecond();
    return reportedAt.getNano() != 0 || offset < 0 || offset % 10 != 0 || offset / 10 % 10 != 7 ? -1 : offset / 10;
  }

  @Override
  public List<PreparedCommand> commands(String device) {
    List<PreparedCommand> commands = new ArrayList<>();
    commands.add(new PreparedCommand(commandOf(device, 7), "ota_update"));
    for (int i = 0; i < ACKED_COMMANDS; i++) {
      commands.add(new PreparedCommand(commandOf(device, 10L * i + 5), "request_status"));
    }
    return commands;
  }
}
