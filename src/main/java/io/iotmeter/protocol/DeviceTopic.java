package io.iotmeter.protocol;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A device → platform topic, {@code iot/{device_id}/{suffix}}. The device id in the topic is
 * authoritative (protocol "Topics"); it must be a valid device id so that it can become an
 * object-store key and a registry row.
 */
public record DeviceTopic(String deviceId, Category category) {

  /** The same rule as the REST API's device ids (letters, digits, '.', '_', '-'). */
  public static final Pattern DEVICE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");

  public static Optional<DeviceTopic> parse(String topic) {
    if (topic == null || !topic.startsWith("iot/")) {
      return Optional.empty();
    }
    int slash = topic.indexOf('/', 4);
    if (slash < 0) {
      return Optional.empty();
    }
    String deviceId = topic.substring(4, slash);
    if (!DEVICE_ID.matcher(deviceId).matches()) {
      return Optional.empty();
    }
    return Category.fromSuffix(topic.substring(slash + 1)).map(category -> new DeviceTopic(deviceId, category));
  }

  public String topic() {
    return "iot/" + deviceId + "/" + category.topicSuffix();
  }
}
