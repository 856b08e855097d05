package io.iotmeter.cluster;

import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.SharedStores;
import io.iotmeter.support.TestCluster;
import io.iotmeter.support.TestMeter;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.mqtt.MqttClientOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Revocations across a cluster: a key deleted on one API node stops working at once on the
 * other (which had it cached), and credentials rotated on an API node disconnect the meter that
 * is connected to an ingest node.
 */
@Timeout(240)
class ClusterSecurityTest {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private final TestCluster cluster = new TestCluster(4);
  private final List<AutoCloseable> started = new ArrayList<>();
  private final SharedStores stores = new SharedStores();

  @AfterEach
  void tearDown() throws Exception {
    for (int i = started.size() - 1; i >= 0; i--) {
      started.get(i).close();
    }
    stores.close();
  }

  private RunningPlatform node(int index, String roles) {
    return node(index, roles, RunningPlatform.securedConfig());
  }

  private RunningPlatform node(int index, String roles, JsonObject config) {
    RunningPlatform node = RunningPlatform.start(cluster.node(stores.apply(config), index, roles));
    started.add(node);
    return node;
  }

  @Test
  void revocationsTakeEffectOnEveryNodeAtOnce() {
    RunningPlatform ingest = node(0, "ingest");
    RunningPlatform apiA = node(1, "api");
    RunningPlatform apiB = node(2, "api");

    Reply created = apiA.as(RunningPlatform.ADMIN_KEY).post("/api/keys", new JsonObject().put("name", "wallboard").put("role", "viewer"));
    assertThat(created.status()).isEqualTo(201);
    String key = created.json().getString("key");
    assertThat(apiB.as(key).get("/api/devices").status()).as("cached on node B now").isEqualTo(200);
    assertThat(apiA.as(RunningPlatform.ADMIN_KEY).delete("/api/keys/" + created.json().getString("id")).status()).isEqualTo(200);
    Eventually.within(Duration.ofSeconds(5), () -> assertThat(apiB.as(key).get("/api/devices").status()).isEqualTo(401));

    Vertx devices = Vertx.vertx();
    started.add(() -> devices.close().await());
    String password = apiA.as(RunningPlatform.ADMIN_KEY).post("/api/devices/dc-meter-001/credentials", null).json().getString("password");
    try (TestMeter meter = TestMeter.connect(devices, ingest.mqttPort(),
        new MqttClientOptions().setClientId("dc-meter-001").setUsername("dc-meter-001").setPassword(password))) {
      assertThat(meter.isConnected()).isTrue();
      assertThat(apiB.as(RunningPlatform.ADMIN_KEY).post("/api/devices/dc-meter-001/credentials", null).status()).isEqualTo(201);
      Eventually.within(WAIT, () -> assertThat(meter.isConnected()).as("rotated on an API node, disconnected on the ingest node")
          .isFalse());
    }

    // The admin key rotated by configuration: as the first node starts with the new one, the old
    // one stops working on every node, those that had it cached included.
    assertThat(apiA.as(RunningPlatform.ADMIN_KEY).get("/api/devices").status()).isEqualTo(200);
    assertThat(apiB.as(RunningPlatform.ADMIN_KEY).get("/api/devices").status()).isEqualTo(200);
    JsonObject rotated = RunningPlatform.securedConfig();
    rotated.getJsonObject("security").put("admin_key", "the-next-admin-key-0123456789");
    node(3, "api", rotated);
    Eventually.within(Duration.ofSeconds(5), () -> {
      assertThat(apiA.as(RunningPlatform.ADMIN_KEY).get("/api/devices").status()).isEqualTo(401);
      assertThat(apiB.as(RunningPlatform.ADMIN_KEY).get("/api/devices").status()).isEqualTo(401);
    });
  }
}
