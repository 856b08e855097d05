package io.iotmeter.mqtt;

import io.netty.handler.codec.mqtt.MqttProperties;
import io.vertx.mqtt.messages.codes.MqttDisconnectReasonCode;

import java.util.HashMap;
import java.util.Map;

/**
 * The MQTT 5 topic aliases of one connection (spec 3.3.2.3.4), both ways, each bounded: the
 * client's, at most {@code mqtt.topic_alias_maximum}; ours, at most the client's Topic Alias
 * Maximum. Forgotten with the connection. Used on the connection's event loop only.
 */
final class TopicAliases {

  /** An incoming PUBLISH's topic, or why the client is disconnected ({@code topic} null then). */
  record Resolved(String topic, MqttDisconnectReasonCode refusal, String why) {
    static Resolved refused(MqttDisconnectReasonCode code, String why) {
      return new Resolved(null, code, why);
    }
  }

  /** How an outgoing PUBLISH names its topic: the topic (empty when the alias stands for it) and the alias (0: none). */
  record Outgoing(String topic, int alias) {
  }

  private final int maximum;
  private final int clientMaximum;
  private final Map<Integer, String> incoming = new HashMap<>();
  private final Map<String, Integer> outgoing = new HashMap<>();

  /**
   * @param maximum       aliases the client may set ({@code mqtt.topic_alias_maximum})
   * @param clientMaximum aliases the client accepts from us (its CONNECT's Topic Alias Maximum)
   */
  TopicAliases(int maximum, int clientMaximum) {
    this.maximum = maximum;
    this.clientMaximum = clientMaximum;
  }

  /**
   * The topic of a PUBLISH: an alias with a topic sets it, an alias alone stands for it. Refused:
   * alias 0 or above the maximum ("topic alias invalid"); an alias never set, or neither a topic
   * nor an alias ("protocol error").
   */
  Resolved resolve(String topic, MqttProperties properties) {
    if (!(properties != null
        && properties.getProperty(MqttProperties.MqttPropertyType.TOPIC_ALIAS.value()) instanceof MqttProperties.IntegerProperty a)) {
      return topic == null || topic.isEmpty()
          ? Resolved.refused(MqttDisconnectReasonCode.PROTOCOL_ERROR, "published without a topic or a topic alias")
          : new Resolved(topic, null, null);
    }
    int alias = a.value();
    if (alias < 1 || alias > maximum) {
      return Resolved.refused(MqttDisconnectReasonCode.TOPIC_ALIAS_INVALID,
          "used topic alias " + alias + " (maximum " + maximum + ")");
    }
    if (topic != null && !topic.isEmpty()) {
      incoming.put(alias, topic); // at most `maximum` entries
      return new Resolved(topic, null, null);
    }
    String known = incoming.get(alias);
    return known != null ? new Resolved(known, null, null)
        : Resolved.refused(MqttDisconnectReasonCode.PROTOCOL_ERROR, "used topic alias " + alias + " before setting it");
  }

  /**
   * How to send a message on {@code topic}: while the client accepts more aliases, the first
   * message on a topic sets the next one, later ones send the alias with an empty topic; once
   * they are taken, further topics go in full.
   */
  Outgoing outgoing(String topic) {
    if (clientMaximum == 0) {
      return new Outgoing(topic, 0);
    }
    Integer known = outgoing.get(topic);
    if (known != null) {
      return new Outgoing("", known);
    }
    if (outgoing.size() < clientMaximum) {
      int alias = outgoing.size() + 1;
      outgoing.put(topic, alias);
      return new Outgoing(topic, alias);
    }
    return new Outgoing(topic, 0);
  }

  /** Whether an outgoing message may carry an alias (for its size: 3 bytes more at most). */
  boolean mayAlias() {
    return clientMaximum > 0;
  }
}
