package io.iotmeter.mqtt;

import io.netty.handler.codec.mqtt.MqttProperties;
import io.vertx.mqtt.messages.codes.MqttDisconnectReasonCode;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** A connection's MQTT 5 topic aliases: every branch of resolving the client's and assigning ours. */
class TopicAliasesTest {

  private static MqttProperties alias(int alias) {
    MqttProperties properties = new MqttProperties();
    properties.add(new MqttProperties.IntegerProperty(MqttProperties.MqttPropertyType.TOPIC_ALIAS.value(), alias));
    return properties;
  }

  @Test
  void theClientsAliasesAreSetUsedAndBounded() {
    TopicAliases aliases = new TopicAliases(2, 0);
    assertThat(aliases.resolve("iot/a", MqttProperties.NO_PROPERTIES).topic()).isEqualTo("iot/a");
    assertThat(aliases.resolve("iot/a", alias(1)).topic()).as("sets alias 1").isEqualTo("iot/a");
    assertThat(aliases.resolve("", alias(1)).topic()).as("alias 1 stands for it").isEqualTo("iot/a");
    assertThat(aliases.resolve("iot/b", alias(1)).topic()).as("set again").isEqualTo("iot/b");
    assertThat(aliases.resolve("", alias(1)).topic()).isEqualTo("iot/b");
    assertThat(aliases.resolve("", alias(2)).refusal()).as("never set").isEqualTo(MqttDisconnectReasonCode.PROTOCOL_ERROR);
    assertThat(aliases.resolve("iot/c", alias(3)).refusal()).as("above the maximum")
        .isEqualTo(MqttDisconnectReasonCode.TOPIC_ALIAS_INVALID);
    assertThat(aliases.resolve("iot/c", alias(0)).refusal()).as("alias 0").isEqualTo(MqttDisconnectReasonCode.TOPIC_ALIAS_INVALID);
    assertThat(aliases.resolve("", MqttProperties.NO_PROPERTIES).refusal()).as("no topic, no alias")
        .isEqualTo(MqttDisconnectReasonCode.PROTOCOL_ERROR);
    assertThat(new TopicAliases(0, 0).resolve("iot/a", alias(1)).refusal()).as("none allowed")
        .isEqualTo(MqttDisconnectReasonCode.TOPIC_ALIAS_INVALID);
  }

  @Test
  void oursGoUpToTheClientsMaximumThenTopicsGoInFull() {
    TopicAliases aliases = new TopicAliases(0, 2);
    assertThat(aliases.outgoing("iot/a")).isEqualTo(new TopicAliases.Outgoing("iot/a", 1));
    assertThat(aliases.outgoing("iot/a")).isEqualTo(new TopicAliases.Outgoing("", 1));
    assertThat(aliases.outgoing("iot/b")).isEqualTo(new TopicAliases.Outgoing("iot/b", 2));
    assertThat(aliases.outgoing("iot/c")).isEqualTo(new TopicAliases.Outgoing("iot/c", 0));
    assertThat(aliases.outgoing("iot/b")).isEqualTo(new TopicAliases.Outgoing("", 2));
    assertThat(new TopicAliases(10, 0).outgoing("iot/a")).as("the client accepts none")
        .isEqualTo(new TopicAliases.Outgoing("iot/a", 0));
    assertThat(new TopicAliases(10, 0).mayAlias()).isFalse();
    assertThat(new TopicAliases(0, 1).mayAlias()).isTrue();
  }
}
