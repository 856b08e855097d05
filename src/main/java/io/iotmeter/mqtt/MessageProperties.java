package io.iotmeter.mqtt;

import io.netty.handler.codec.mqtt.MqttProperties;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The MQTT 5 properties of an application message that travel with it from publisher to
 * subscribers (spec 3.3.2.3): payload format, content type, response topic, correlation data,
 * user properties and the message expiry. What belongs to one hop only — a topic alias, the
 * subscription identifiers — is not kept here ({@link Publication#subscriptionIds()} carries
 * the latter per delivery). Immutable; its encoded size counts in every byte bound a
 * {@link Publication} is held in, so a client cannot grow a queue past its bound with
 * properties instead of payload.
 *
 * @param payloadFormat   1: UTF-8 text, 0: bytes, null: not given
 * @param expiresAtMillis when the message expires (epoch milliseconds; the remaining interval is
 *                        what a subscriber is told), 0: never
 */
record MessageProperties(Integer payloadFormat, String contentType, String responseTopic, byte[] correlationData,
                         List<UserProperty> userProperties, long expiresAtMillis) {

  /** One user property: a name and value pair; a message may carry the same name more than once. */
  record UserProperty(String name, String value) {
  }

  static final MessageProperties NONE = new MessageProperties(null, null, null, null, List.of(), 0);

  MessageProperties {
    userProperties = List.copyOf(userProperties);
  }

  boolean isEmpty() {
    return payloadFormat == null && contentType == null && responseTopic == null && correlationData == null
        && userProperties.isEmpty() && expiresAtMillis == 0;
  }

  /** The message properties of a PUBLISH (or a will) received {@code nowMillis}. */
  static MessageProperties from(MqttProperties properties, long nowMillis) {
    // Not MqttProperties.isEmpty(): in Netty 4.2 it overlooks user properties (kept apart).
    if (properties == null || properties == MqttProperties.NO_PROPERTIES || properties.listAll().isEmpty()) {
      return NONE;
    }
    Integer format = intValue(properties, MqttProperties.MqttPropertyType.PAYLOAD_FORMAT_INDICATOR);
    Integer expiry = intValue(properties, MqttProperties.MqttPropertyType.PUBLICATION_EXPIRY_INTERVAL);
    List<UserProperty> user = new ArrayList<>();
    for (MqttProperties.MqttProperty<?> p : properties.getProperties(MqttProperties.MqttPropertyType.USER_PROPERTY.value())) {
      if (p instanceof MqttProperties.UserProperties many) {
        many.value().forEach(pair -> user.add(new UserProperty(pair.key, pair.value)));
      } else if (p instanceof MqttProperties.UserProperty one) {
        user.add(new UserProperty(one.value().key, one.value().value));
      }
    }
    MessageProperties result = new MessageProperties(format,
        stringValue(properties, MqttProperties.MqttPropertyType.CONTENT_TYPE),
        stringValue(properties, MqttProperties.MqttPropertyType.RESPONSE_TOPIC),
        properties.getProperty(MqttProperties.MqttPropertyType.CORRELATION_DATA.value()) instanceof MqttProperties.BinaryProperty b
            ? b.value() : null,
        user,
        expiry == null ? 0 : nowMillis + (expiry & 0xFFFFFFFFL) * 1000L);
    return result.isEmpty() ? NONE : result;
  }

  private static Integer intValue(MqttProperties properties, MqttProperties.MqttPropertyType type) {
    return properties.getProperty(type.value()) instanceof MqttProperties.IntegerProperty p ? p.value() : null;
  }

  private static String stringValue(MqttProperties properties, MqttProperties.MqttPropertyType type) {
    return properties.getProperty(type.value()) instanceof MqttProperties.StringProperty p ? p.value() : null;
  }

  boolean expired(long nowMillis) {
    return expiresAtMillis != 0 && nowMillis >= expiresAtMillis;
  }

  /** The seconds left before expiry, rounded up (at least 1 while not expired). */
  long remainingSeconds(long nowMillis) {
    return Math.max(1, (expiresAtMillis - nowMillis + 999) / 1000);
  }

  /**
   * The properties of a PUBLISH carrying this message to a subscriber {@code nowMillis}: the
   * message's own, the expiry as the interval that remains, the subscription identifiers that
   * matched and, when set (above 0), the topic alias of this connection.
   */
  MqttProperties toMqtt(long nowMillis, List<Integer> subscriptionIds, int topicAlias) {
    MqttProperties out = new MqttProperties();
    if (payloadFormat != null) {
      out.add(new MqttProperties.IntegerProperty(MqttProperties.MqttPropertyType.PAYLOAD_FORMAT_INDICATOR.value(), payloadFormat));
    }
    if (expiresAtMillis != 0) {
      out.add(new MqttProperties.IntegerProperty(MqttProperties.MqttPropertyType.PUBLICATION_EXPIRY_INTERVAL.value(),
          (int) remainingSeconds(nowMillis)));
    }
    if (contentType != null) {
      out.add(new MqttProperties.StringProperty(MqttProperties.MqttPropertyType.CONTENT_TYPE.value(), contentType));
    }
    if (responseTopic != null) {
      out.add(new MqttProperties.StringProperty(MqttProperties.MqttPropertyType.RESPONSE_TOPIC.value(), responseTopic));
    }
    if (correlationData != null) {
      out.add(new MqttProperties.BinaryProperty(MqttProperties.MqttPropertyType.CORRELATION_DATA.value(), correlationData));
    }
    for (UserProperty p : userProperties) {
      out.add(new MqttProperties.UserProperty(p.name(), p.value()));
    }
    for (Integer id : subscriptionIds) {
      out.add(new MqttProperties.IntegerProperty(MqttProperties.MqttPropertyType.SUBSCRIPTION_IDENTIFIER.value(), id));
    }
    if (topicAlias > 0) {
      out.add(new MqttProperties.IntegerProperty(MqttProperties.MqttPropertyType.TOPIC_ALIAS.value(), topicAlias));
    }
    return out;
  }

  /** The bytes these properties take in a PUBLISH packet (without the topic alias and subscription identifiers). */
  int encodedSize() {
    int size = 0;
    if (payloadFormat != null) {
      size += 2;
    }
    if (expiresAtMillis != 0) {
      size += 5;
    }
    size += text(contentType) + text(responseTopic) + (correlationData == null ? 0 : 3 + correlationData.length);
    for (UserProperty p : userProperties) {
      size += 1 + utf8(p.name()) + utf8(p.value());
    }
    return size;
  }

  private static int text(String s) {
    return s == null ? 0 : 1 + utf8(s);
  }

  private static int utf8(String s) {
    return 2 + s.getBytes(StandardCharsets.UTF_8).length;
  }

  /** The size of a variable byte integer (spec 1.5.5). */
  static int varIntSize(int value) {
    return value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;
  }

  /** The whole PUBLISH packet's size as sent to a client (spec 3.3), for its Maximum Packet Size. */
  static long publishPacketSize(String topic, int qos, int payloadBytes, int propertiesBytes) {
    long remaining = 2L + topic.getBytes(StandardCharsets.UTF_8).length + (qos > 0 ? 2 : 0)
        + varIntSize(propertiesBytes) + propertiesBytes + payloadBytes;
    return 1 + varIntSize((int) Math.min(remaining, Integer.MAX_VALUE)) + remaining;
  }

  /** Subscription identifiers and a topic alias add to {@link #encodedSize()} this many bytes. */
  static int hopSize(List<Integer> subscriptionIds, int topicAlias) {
    int size = topicAlias > 0 ? 3 : 0;
    for (Integer id : subscriptionIds) {
      size += 1 + varIntSize(id);
    }
    return size;
  }

  JsonObject toJson() {
    JsonObject json = new JsonObject();
    if (payloadFormat != null) {
      json.put("payload_format", payloadFormat);
    }
    if (contentType != null) {
      json.put("content_type", contentType);
    }
    if (responseTopic != null) {
      json.put("response_topic", responseTopic);
    }
    if (correlationData != null) {
      json.put("correlation_data", correlationData);
    }
    if (!userProperties.isEmpty()) {
      JsonArray user = new JsonArray();
      userProperties.forEach(p -> user.add(new JsonArray().add(p.name()).add(p.value())));
      json.put("user_properties", user);
    }
    if (expiresAtMillis != 0) {
      json.put("expires_at_ms", expiresAtMillis);
    }
    return json;
  }

  static MessageProperties fromJson(JsonObject json) {
    if (json == null || json.isEmpty()) {
      return NONE;
    }
    List<UserProperty> user = new ArrayList<>();
    JsonArray pairs = json.getJsonArray("user_properties");
    if (pairs != null) {
      for (int i = 0; i < pairs.size(); i++) {
        JsonArray pair = pairs.getJsonArray(i);
        user.add(new UserProperty(pair.getString(0), pair.getString(1)));
      }
    }
    return new MessageProperties(json.getInteger("payload_format"), json.getString("content_type"),
        json.getString("response_topic"), json.getBinary("correlation_data"), user, json.getLong("expires_at_ms", 0L));
  }
}
