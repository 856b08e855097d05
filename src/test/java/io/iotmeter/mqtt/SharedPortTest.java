package io.iotmeter.mqtt;

import io.iotmeter.protocol.Category;
import io.iotmeter.support.AcceptedTap;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.SettledStores;
import io.iotmeter.support.TestMeter;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Several instances of the device endpoint on one port share one broker state. */
@Timeout(60)
class SharedPortTest {

  @Test
  void metersOnDifferentInstancesShareSessionsSubscriptionsAndDeduplication() {
    JsonObject config = RunningPlatform.ingestConfig();
    config.getJsonObject("deploy").put("mqtt_server", 3).put("intake", 2);
    try (RunningPlatform platform = RunningPlatform.start(config); AcceptedTap accepted = new AcceptedTap(platform.vertx())) {
      List<TestMeter> connections = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        connections.add(TestMeter.connect(platform.vertx(), platform.mqttPort(), "dc-meter-001-link-" + i, true));
      }
      TestMeter subscriber = TestMeter.connect(platform.vertx(), platform.mqttPort(), "dc-meter-001", false);
      subscriber.subscribe("iot/+/command", 2);
      for (long seq = 0; seq < 5; seq++) {
        for (TestMeter connection : connections) {
          connection.send("iot/dc-meter-001/telemetry", Datagrams.telemetry("dc-meter-001", seq), 1);
        }
      }
      // Each seq once whichever instance took its copies: counted after the accepted seqs stayed the
      // same past the settle interval, so a copy accepted late by another intake instance would show.
      assertThat(Eventually.settled(Duration.ofSeconds(10), SettledStores.interval(platform.config()),
          () -> accepted.seqs("dc-meter-001", Category.TELEMETRY), seqs -> seqs.size() >= 5))
          .containsExactlyInAnyOrder(0L, 1L, 2L, 3L, 4L);
      for (int i = 0; i < 3; i++) {
        var reply = platform.post("/api/devices/dc-meter-001/commands", new JsonObject().put("cmd", "request_status"));
        assertThat(reply.status()).isEqualTo(201);
        assertThat(subscriber.receive(Duration.ofSeconds(5)).payload().toJsonObject().getString("cmd_id"))
            .isEqualTo(reply.json().getString("cmd_id"));
      }
      connections.forEach(TestMeter::close);
      subscriber.close();
    }
  }
}
