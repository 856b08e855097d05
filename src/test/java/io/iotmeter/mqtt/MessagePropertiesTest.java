package io.iotmeter.mqtt;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** MQTT 5 message properties: read from a PUBLISH, passed on, carried over the bus, and sized exactly. */
class MessagePropertiesTest {

  private static MqttProperties published() {
    MqttProperties p = new MqttProperties();
    p.add(new MqttProperties.IntegerProperty(MqttProperties.MqttPropertyType.PAYLOAD_FORMAT_INDICATOR.value(), 1));
    p.add(new MqttProperties.StringProperty(MqttProperties.MqttPropertyType.CONTENT_TYPE.value(), "application/json"));
    p.add(new MqttProperties.StringProperty(MqttProperties.MqttPropertyType.RESPONSE_TOPIC.value(), "iot/x/reply"));
    p.add(new MqttProperties.BinaryProperty(MqttProperties.MqttPropertyType.CORRELATION_DATA.value(), new byte[] {1, 2}));
    p.add(new MqttProperties.IntegerProperty(MqttProperties.MqttPropertyType.PUBLICATION_EXPIRY_INTERVAL.value(), 60));
    p.add(new MqttProperties.UserProperty("a", "1"));
    p.add(new MqttProperties.UserProperty("a", "2"));
    // One hop only: never passed on as received
    p.add(new MqttProperties.IntegerProperty(MqttProperties.MqttPropertyType.TOPIC_ALIAS.value(), 7));
    return p;
  }

  @Test
  void userPropertiesAloneAreNotMistakenForNone() {
    MqttProperties p = new MqttProperties();
    p.add(new MqttProperties.UserProperty("site", "Hamburg"));
    assertThat(MessageProperties.from(p, 0).userProperties())
        .containsExactly(new MessageProperties.UserProperty("site", "Hamburg"));
  }

  @Test
  void whatIsPassedOnAndTheExpiryThatRemains() {
    MessageProperties read = MessageProperties.from(published(), 1_000_000);
    assertThat(read.expiresAtMillis()).isEqualTo(1_060_000);
    assertThat(read.expired(1_059_999)).isFalse();
    assertThat(read.expired(1_060_000)).isTrue();
    assertThat(read.remainingSeconds(1_000_500)).as("rounded up").isEqualTo(60);
    MqttProperties out = read.toMqtt(1_030_000, List.of(3, 4), 0);
    assertThat(((MqttProperties.IntegerProperty) out.getProperty(
        MqttProperties.MqttPropertyType.PUBLICATION_EXPIRY_INTERVAL.value())).value()).isEqualTo(30);
    assertThat(out.getProperty(MqttProperties.MqttPropertyType.TOPIC_ALIAS.value())).as("not the publisher's alias").isNull();
    assertThat(out.getProperties(MqttProperties.MqttPropertyType.SUBSCRIPTION_IDENTIFIER.value())).hasSize(2);
    assertThat(out.getProperties(MqttProperties.MqttPropertyType.USER_PROPERTY.value())).hasSize(2);
    assertThat(MessageProperties.from(MqttProperties.NO_PROPERTIES, 0)).isSameAs(MessageProperties.NONE);
  }

  @Test
  void theBusCarriesThemUnchanged() {
    MessageProperties read = MessageProperties.from(published(), 5_000);
    Publication publication = new Publication("iot/x/y", new byte[] {9}, 1, true, read, List.of(12));
    Publication back = Publication.fromJson(publication.toJson());
    assertThat(back.properties().userProperties()).isEqualTo(read.userProperties());
    assertThat(back.properties().correlationData()).containsExactly(1, 2);
    assertThat(back.properties().expiresAtMillis()).isEqualTo(read.expiresAtMillis());
    assertThat(back.properties().contentType()).isEqualTo("application/json");
    assertThat(back.properties().responseTopic()).isEqualTo("iot/x/reply");
    assertThat(back.properties().payloadFormat()).isEqualTo(1);
    assertThat(back.subscriptionIds()).containsExactly(12);
    assertThat(Publication.fromJson(new Publication("iot/x/y", new byte[0], 0, false).toJson()).properties())
        .isSameAs(MessageProperties.NONE);
  }

  @Test
  void thePacketSizeIsWhatNettyEncodes() {
    MessageProperties read = MessageProperties.from(published(), 0);
    for (int payload : new int[] {0, 100, 20_000, 200_000}) {
      for (int qos = 0; qos <= 2; qos++) {
        List<Integer> ids = List.of(5, 300_000);
        MqttProperties sent = read.toMqtt(0, ids, 3);
        EmbeddedChannel channel = new EmbeddedChannel(MqttEncoder.INSTANCE);
        // The encoder learns the protocol version from the CONNECT it encodes, as on a client's channel.
        channel.writeOutbound(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_5).clientId("c").build());
        ((ByteBuf) channel.readOutbound()).release();
        channel.writeOutbound(MqttMessageBuilders.publish().topicName("iot/meter/telemetry").qos(MqttQoS.valueOf(qos))
            .messageId(qos == 0 ? 0 : 1).properties(sent).payload(Unpooled.wrappedBuffer(new byte[payload])).build());
        ByteBuf encoded = channel.readOutbound();
        assertThat(MessageProperties.publishPacketSize("iot/meter/telemetry", qos, payload,
            read.encodedSize() + MessageProperties.hopSize(ids, 3)))
            .as("payload " + payload + ", QoS " + qos).isEqualTo(encoded.readableBytes());
        encoded.release();
        channel.finishAndReleaseAll();
      }
    }
  }

  @Test
  void eachPropertyAloneTravelsTheBus() {
    List<MessageProperties> singles = List.of(
        new MessageProperties(0, null, null, null, List.of(), 0),
        new MessageProperties(null, "text/plain", null, null, List.of(), 0),
        new MessageProperties(null, null, "iot/r", null, List.of(), 0),
        new MessageProperties(null, null, null, new byte[0], List.of(), 0),
        new MessageProperties(null, null, null, null, List.of(new MessageProperties.UserProperty("k", "")), 0),
        new MessageProperties(null, null, null, null, List.of(), 1));
    for (MessageProperties single : singles) {
      assertThat(single.isEmpty()).isFalse();
      Publication back = Publication.fromJson(new Publication("iot/x", new byte[0], 0, false, single).toJson());
      assertThat(back.properties().toJson()).as(single.toString()).isEqualTo(single.toJson());
    }
    assertThat(MessageProperties.NONE.isEmpty()).isTrue();
  }

  @Test
  void sizesAtTheirBoundaries() {
    assertThat(MessageProperties.varIntSize(127)).isEqualTo(1);
    assertThat(MessageProperties.varIntSize(128)).isEqualTo(2);
    assertThat(MessageProperties.varIntSize(16_383)).isEqualTo(2);
    assertThat(MessageProperties.varIntSize(16_384)).isEqualTo(3);
    assertThat(MessageProperties.varIntSize(2_097_151)).isEqualTo(3);
    assertThat(MessageProperties.varIntSize(2_097_152)).isEqualTo(4);
    assertThat(MessageProperties.hopSize(List.of(), 0)).isZero();
    assertThat(MessageProperties.hopSize(List.of(), 1)).isEqualTo(3);
    MessageProperties user = new MessageProperties(null, null, null, null, List.of(new MessageProperties.UserProperty("k", "v")), 0);
    assertThat(new Publication("iot/x", new byte[10], 1, false, user).size()).as("payload and properties")
        .isEqualTo(10 + user.encodedSize()).isEqualTo(17);
  }
}
