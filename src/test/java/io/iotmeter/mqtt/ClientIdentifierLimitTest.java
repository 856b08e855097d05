package io.iotmeter.mqtt;

import io.iotmeter.support.RawMqttClient;
import io.iotmeter.support.RunningPlatform;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The endpoint's client id limit holds for MQTT 3.1.1 too: Netty's decoder binds it for 3.1 only
 * ({@code MqttCodecPropertiesTest} pins that), so the device connection refuses a longer one
 * itself (CONNACK 2, identifier rejected), whatever the security setting.
 */
@Timeout(120)
class ClientIdentifierLimitTest {

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClassWith(RunningPlatform::ingestConfig);

  @Test
  void aClientIdOfTheLimitIsAdmittedAndOneCharacterMoreIsRefused() {
    String atLimit = "m".repeat(MqttServerVerticle.MAX_CLIENT_ID_LENGTH);
    try (RawMqttClient client = RawMqttClient.connect(platform.vertx(), platform.mqttPort(), atLimit, true, 30, null, null)) {
      assertThat(client.isClosed()).isFalse();
    }
    assertThatThrownBy(() -> RawMqttClient.connect(platform.vertx(), platform.mqttPort(), atLimit + "m", true, 30, null, null))
        .hasMessageContaining("CONNACK refused: 2");
  }
}
