package io.iotmeter.mqtt;

import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.FreePorts;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Vertx;
import io.vertx.mqtt.MqttServer;
import io.vertx.mqtt.MqttServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A broker that refuses some of the bridge's subscriptions (an ACL left too tight) must not be
 * a silent loss: the platform says it is not ready, names the filters and counts them.
 */
@Timeout(90)
class BridgeSubscriptionRefusedTest {

  private static final Duration WAIT = Duration.ofSeconds(30);

  /**
   * Mosquitto 2.0 grants a wildcard subscription its ACL would deny (and then delivers nothing),
   * so the refusing broker here is a real MQTT server of our own (vertx-mqtt) that answers the
   * hello filter with SUBACK failure (0x80), as a broker enforcing subscribe ACLs does.
   */
  @Test
  void refusedSubscriptionsMakeThePlatformNotReady() {
    Vertx brokerVertx = Vertx.vertx();
    int port = FreePorts.next();
    MqttServer broker = MqttServer.create(brokerVertx, new MqttServerOptions().setHost("127.0.0.1").setPort(port));
    broker.endpointHandler(endpoint -> {
      endpoint.subscribeHandler(subscribe -> endpoint.subscribeAcknowledge(subscribe.messageId(), subscribe.topicSubscriptions()
          .stream().map(t -> t.topicName().endsWith("/hello") ? MqttQoS.FAILURE : t.qualityOfService()).toList()));
      endpoint.pingHandler(v -> { });
      endpoint.accept(false);
    }).listen().await();
    try {
      JsonObject config = RunningPlatform.ingestConfig();
      config.getJsonObject("deploy").put("mqtt_server", 0).put("mqtt_bridge", 1);
      config.getJsonObject("mqtt_bridge").put("brokers", new JsonArray().add("127.0.0.1:" + port))
          .put("client_id", "acl-test").put("min_backoff_ms", 100).put("max_backoff_ms", 500);
      try (RunningPlatform platform = RunningPlatform.start(config)) {
        Reply ready = Eventually.value(WAIT, () -> platform.get("/readyz"), r -> r.status() == 503
            && r.body().contains("refused subscriptions"));
        assertThat(ready.status()).as(ready.body()).isEqualTo(503);
        assertThat(ready.body()).contains("refused subscriptions [iot/+/hello]");
        assertThat(platform.get("/metrics").body())
            .contains("mqtt_collector_messages_errors_total{error_type=\"mqtt_subscription_refused\"} 1.0");
      }
    } finally {
      broker.close().await();
      brokerVertx.close().await();
    }
  }

  @Test
  void qosIsNoLongerAnOption() {
    JsonObject config = RunningPlatform.ingestConfig();
    config.getJsonObject("deploy").put("mqtt_server", 0).put("mqtt_bridge", 1);
    config.getJsonObject("mqtt_bridge").put("brokers", new JsonArray().add("127.0.0.1:1")).put("qos", 2);
    assertThatThrownBy(() -> RunningPlatform.start(config).close()).hasMessageContaining("mqtt_bridge.qos");
  }
}
