package io.iotmeter.cluster;

import io.iotmeter.Main;
import io.iotmeter.bus.BusAddress;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.SharedStores;
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
 * A cluster secure as shipped: an API node and an ingest node with the certificates
 * {@code launcher/make-cluster-certs} makes and the cluster secret work together; a host that
 * does not know the secret cannot join Hazelcast at all; and a process that knows it but has no
 * certificate (the open-source Hazelcast authenticates no member beyond its cluster name) and
 * registered consumers on the command and health addresses never receives a message.
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

  private static final String SECRET = "a-cluster-secret-of-the-test-0123456789";

  /** A node as shipped: bus TLS with the certificates in {@code certs}, the secret, no plaintext. */
  private JsonObject node(int index, String roles, Path certs) {
    JsonObject config = cluster.node(stores.apply(RunningPlatform.ingestConfig()), index, roles);
    config.getJsonObject("cluster").put("allow_plaintext", false).put("secret", SECRET).put("tls", new JsonObject()
        .put("enabled", true).put("cert_path", certs.resolve("tls.crt").toString())
        .put("key_path", certs.resolve("tls.key").toString()).put("ca_path", certs.resolve("ca.crt").toString()));
    return config;
  }

  /** The certificates of a test cluster, made as the README says. */
  private static Path makeClusterCerts() throws Exception {
    Path dir = Files.createTempDirectory("cluster-certs");
    Process make = new ProcessBuilder("launcher/make-cluster-certs", dir.toString()).redirectErrorStream(true).start();
    String output = new String(make.getInputStream().readAllBytes());
    assertThat(make.waitFor()).as(output).isZero();
    return dir;
  }

  private static int members(Vertx vertx) {
    return ((io.vertx.core.internal.VertxInternal) vertx).clusterManager().getNodes().size();
  }

  @Test
  void aNodeWithoutTheClusterCertificateGetsNoShareOfCommandsOrHealthRequests() throws Exception {
    Path certs = makeClusterCerts();
    RunningPlatform ingest = RunningPlatform.start(node(0, "ingest", certs));
    started.add(ingest);
    RunningPlatform api = RunningPlatform.start(node(1, "api", certs));
    started.add(api);

    // A host that does not know the secret: Hazelcast refuses it at the join; it stays alone.
    JsonObject strangerConfig = new JsonObject().put("cluster", cluster.section(2).put("secret", "another-secret-0123456789abcdef"));
    Vertx stranger = Main.createVertx(strangerConfig).await();
    assertThat(members(stranger)).as("the stranger's cluster").isEqualTo(1);
    assertThat(members(api.vertx())).as("the platform's cluster").isEqualTo(2);
    stranger.close().await();

    // The intruder: it knows the secret, but has no certificate.
    JsonObject rogueConfig = new JsonObject().put("cluster", cluster.section(2).put("secret", SECRET));
    Vertx rogue = Main.createVertx(rogueConfig).await();
    assertThat(members(api.vertx())).as("the intruder joined Hazelcast").isEqualTo(3);
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
