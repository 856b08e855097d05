package io.iotmeter.cluster;

import io.iotmeter.Main;
import io.iotmeter.bus.BusAddress;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.SharedStores;
import io.iotmeter.support.TestCertificates;
import io.iotmeter.support.TestCluster;
import io.iotmeter.support.TestMeter;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Mutual TLS on the event bus between nodes: an API node and an ingest node with certificates of
 * the cluster's CA work together, while a process that joined Hazelcast without one (it can: the
 * open-source edition authenticates no member) and registered consumers on the command and health
 * addresses never receives a message.
 */
@Timeout(240)
class BusTlsTest {

  private final TestCluster cluster = new TestCluster(3);
  private final List<AutoCloseable> started = new ArrayList<>();
  private final SharedStores stores = new SharedStores();

  @AfterEach
  void tearDown() throws Exception {
    for (int i = started.size() - 1; i >= 0; i--) {
      started.get(i).close();
    }
    stores.close();
  }

  private JsonObject node(int index, String roles, JsonObject tls) {
    JsonObject config = cluster.node(stores.apply(RunningPlatform.ingestConfig()), index, roles);
    config.getJsonObject("cluster").put("tls", tls);
    return config;
  }

  private static JsonObject tls(TestCertificates ca, String name) {
    TestCertificates.Issued cert = ca.server(name);
    return new JsonObject().put("enabled", true).put("cert_path", cert.cert().toString()).put("key_path", cert.key().toString())
        .put("ca_path", ca.caFile().toString());
  }

  @Test
  void aNodeWithoutTheClusterCertificateGetsNoShareOfCommandsOrHealthRequests() throws Exception {
    Path dir = Files.createTempDirectory("bus-tls");
    TestCertificates ca = new TestCertificates(dir, "cluster");
    RunningPlatform ingest = RunningPlatform.start(node(0, "ingest", tls(ca, "ingest")));
    started.add(ingest);
    RunningPlatform api = RunningPlatform.start(node(1, "api", tls(ca, "api")));
    started.add(api);

    // The intruder: a clustered Vert.x without the certificate, on the same Hazelcast cluster.
    JsonObject rogueConfig = new JsonObject().put("cluster", cluster.section(2));
    Vertx rogue = Main.createVertx(rogueConfig).await();
    started.add(() -> rogue.close().await());
    AtomicInteger stolen = new AtomicInteger();
    rogue.eventBus().consumer(BusAddress.COMMAND_SEND.address(), m -> {
      stolen.incrementAndGet();
      m.reply(new JsonObject().put("delivered", true));
    }).completion().await();
    rogue.eventBus().consumer(BusAddress.HEALTH.address("intake"), m -> {
      stolen.incrementAndGet();
      m.reply(new JsonObject().put("ready", true).put("detail", "rogue"));
    }).completion().await();

    Vertx devices = Vertx.vertx();
    started.add(() -> devices.close().await());
    try (TestMeter meter = TestMeter.connect(devices, ingest.mqttPort(), "dc-meter-001", false)) {
      meter.subscribe("iot/dc-meter-001/command", 1);
      meter.send("iot/dc-meter-001/telemetry", Datagrams.telemetry("dc-meter-001", 0), 1);
      int delivered = 0;
      for (int i = 0; i < 6; i++) {
        Reply posted = api.post("/api/devices/dc-meter-001/commands", new JsonObject().put("cmd", "request_status"));
        assertThat(posted.status()).as(posted.toString()).isIn(201, 202);
        if (posted.status() == 201) {
          delivered++;
          meter.receive(Duration.ofSeconds(10));
        }
        api.get("/readyz");
      }
      assertThat(delivered).as("commands reach the meter through the TLS bus").isPositive();
    }
    assertThat(stolen.get()).as("messages the intruder received").isZero();
    Eventually.within(Duration.ofSeconds(5), () -> assertThat(stolen.get()).isZero());
  }
}
