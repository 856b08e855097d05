package io.iotmeter.audit;

import io.iotmeter.protocol.Category;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * What a load sends as each device's {@code seq}, as a function of the seq alone: the one place
 * that defines both the payloads the meters publish and what the {@link StoreAudit} expects each
 * store to hold for them. A point's time tells the seq of the datagram that carried it, so every
 * point read back from the time series is attributed to exactly one message.
 */
public interface LoadLayout {

  /** A point of the time series, without its device: metric and time. */
  record PointKey(String metric, Instant time) {
  }

  /** A command the registry must hold before the load starts (acks and OTA reports refer to it). */
  record PreparedCommand(UUID cmdId, String cmd) {
  }

  /** The kind of message {@code seq} is. */
  Category category(long seq);

  /** The message as published: its topic. */
  default String topic(String device, long seq) {
    return category(seq).topicFor(device);
  }

  /** The message as published: its payload. */
  byte[] payload(String device, long seq);

  /**
   * The points a telemetry message puts into the time series — its measurements and the values
   * derived from them — in a fixed order; at most 64. Empty for other categories.
   */
  List<PointKey> points(long seq);

  /** The seq of the telemetry message that carries a point at {@code time}, or -1 when none does. */
  long seqAt(Instant time);

  /** The index of (metric, time) in {@link #points}({@code seq}), or -1 when that message has no such point. */
  default int pointIndex(long seq, String metric, Instant time) {
    List<PointKey> points = points(seq);
    for (int i = 0; i < points.size(); i++) {
      PointKey p = points.get(i);
      if (p.metric().equals(metric) && p.time().equals(time)) {
        return i;
      }
    }
    return -1;
  }

  // The registry's facts: only the categories that carry them need answers.

  /** The firmware version a hello of {@code seq} reports. */
  default String helloFirmware(long seq) {
    throw new UnsupportedOperationException("this layout sends no hello");
  }

  /** The command a command_ack or ota_status of {@code seq} refers to. */
  default UUID commandOf(String device, long seq) {
    throw new UnsupportedOperationException("this layout sends no command acks or OTA reports");
  }

  /** The device time an OTA report of {@code seq} carries (its {@code reported_at}). */
  default Instant reportedAt(long seq) {
    throw new UnsupportedOperationException("this layout sends no OTA reports");
  }

  /** The seq of the OTA report of this device time, or -1. */
  default long seqOfReport(Instant reportedAt) {
    return -1;
  }

  /** The commands to create for {@code device} before the load starts. */
  default List<PreparedCommand> commands(String device) {
    return List.of();
  }
}
