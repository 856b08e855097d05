package io.iotmeter.protocol;

import java.util.Arrays;
import java.util.Optional;

/**
 * The five kinds of device → platform message, told apart by the topic suffix (protocol
 * "Topics"): {@code iot/{device_id}/<suffix>}. The category name is what the archive keys,
 * metrics and bus addresses use.
 */
public enum Category {
  TELEMETRY("telemetry", "telemetry"),
  HELLO("hello", "hello"),
  STATUS("status", "status"),
  COMMAND_ACK("command/ack", "command_ack"),
  OTA_STATUS("ota/status", "ota_status");

  private final String topicSuffix;
  private final String categoryName;

  Category(String topicSuffix, String categoryName) {
    this.topicSuffix = topicSuffix;
    this.categoryName = categoryName;
  }

  /** The part of the topic after the device id ({@code command/ack}). */
  public String topicSuffix() {
    return topicSuffix;
  }

  /** The name used in archive keys, metrics and bus addresses ({@code command_ack}). */
  public String categoryName() {
    return categoryName;
  }

  /** The subscription filter of this category ({@code iot/+/command/ack}). */
  /** This category's topic for one device, e.g. {@code iot/dc-meter-001/status}. */
  public String topicFor(String deviceId) {
    return "iot/" + deviceId + "/" + topicSuffix;
  }

  public String filter() {
    return "iot/+/" + topicSuffix;
  }

  public static Optional<Category> fromSuffix(String suffix) {
    return Arrays.stream(values()).filter(c -> c.topicSuffix.equals(suffix)).findFirst();
  }

  public static Optional<Category> fromName(String name) {
    return Arrays.stream(values()).filter(c -> c.categoryName.equals(name)).findFirst();
  }
}
