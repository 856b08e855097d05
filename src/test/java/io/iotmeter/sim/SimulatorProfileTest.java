package io.iotmeter.sim;

import io.iotmeter.support.Eventually;
import io.iotmeter.support.Profiles;
import io.iotmeter.support.RunningPlatform;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The simulator profile as a process of its own beside a secured platform: it deploys no store
 * and no identity, has the platform issue its meters' credentials through the REST API with an
 * admin key, and its meters' data arrives.
 */
@Timeout(120)
class SimulatorProfileTest {

  @Test
  void simulatedMetersOfASeparateSimulatorGetCredentialsThroughTheApi() throws Exception {
    try (RunningPlatform platform = RunningPlatform.start(RunningPlatform.securedConfig())) {
      JsonObject config = Profiles.load("simulator");
      config.put("data_dir", Files.createTempDirectory("sim-profile").toString());
      config.getJsonObject("http").put("host", "127.0.0.1").put("port", io.iotmeter.support.FreePorts.next());
      config.getJsonObject("simulator").put("brokers", new JsonArray().add("127.0.0.1:" + platform.mqttPort()))
          .put("platform_url", "http://127.0.0.1:" + platform.httpPort()).put("api_key", RunningPlatform.ADMIN_KEY)
          .put("count", 1).put("dc_ratio", 1.0)
          .put("meters", new JsonArray().add(new JsonObject().put("device_id", "dc-meter-002").put("type", "dc")));
      try (RunningPlatform simulator = RunningPlatform.start(config)) {
        Eventually.within(Duration.ofSeconds(60), () -> assertThat(platform.as(RunningPlatform.ADMIN_KEY)
            .get("/api/devices/dc-meter-002/status").json().getString("connection_status")).isEqualTo("online"));
        // A generated meter the registry did not know is registered through the API first.
        Eventually.within(Duration.ofSeconds(60), () -> assertThat(platform.as(RunningPlatform.ADMIN_KEY)
            .get("/api/devices/sim-dc-0001/status").json().getString("connection_status")).isEqualTo("online"));
        assertThat(simulator.config().getJsonObject("deploy").getInteger("identity")).isZero();
      }
    }
  }
}
