package io.iotmeter.boot;

import io.iotmeter.config.Settings;
import io.iotmeter.config.StartupException;
import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

/**
 * The Hazelcast cluster of the {@code cluster} profile, from the {@code cluster} section.
 *
 * <p>Members find each other through a TCP-IP member list by default — it works on loopback,
 * across hosts and in Kubernetes (a headless service's DNS name), where multicast usually does
 * not; {@code cluster.kubernetes: true} switches to Hazelcast's Kubernetes discovery instead.
 */
public final class ClusterSetup {

  private ClusterSetup() {
  }

  public static boolean enabled(JsonObject config) {
    return Settings.of(config, "cluster").flag("enabled");
  }

  /** The shortest {@code cluster.secret} taken: 128 bits as URL-safe base64. */
  static final int MIN_SECRET_CHARS = 22;

  /**
   * A clustered node is secure as shipped: it refuses to start without mutual TLS on the event
   * bus and without a cluster secret, unless {@code cluster.allow_plaintext} says this is a
   * trusted test network. One line each, naming the way out.
   */
  static void checkSecure(Settings cluster) {
    if (cluster.flag("allow_plaintext")) {
      return;
    }
    if (!cluster.section("tls").flag("enabled")) {
      throw new StartupException("cluster.tls.enabled is false: the event bus between nodes would carry API keys, commands "
          + "and device data in plain text, and take them from anyone who reaches it. Give every node the cluster's "
          + "certificates (cluster.tls.*; launcher/make-cluster-certs makes them), or set cluster.allow_plaintext: true "
          + "(IOT_CLUSTER_ALLOW_PLAINTEXT=true) on a trusted test network");
    }
    if (cluster.text("secret").length() < MIN_SECRET_CHARS) {
      throw new StartupException("cluster.secret must hold at least " + MIN_SECRET_CHARS + " random characters: without it "
          + "any host that reaches the Hazelcast port joins the cluster. Set the same IOT_CLUSTER_SECRET on every node "
          + "(e.g. openssl rand -base64 32), or cluster.allow_plaintext: true on a trusted test network");
    }
  }

  /**
   * The Hazelcast cluster name: {@code cluster.name}, and with a secret a digest of it, so that a
   * member that does not know the secret is refused at the join (the open-source edition checks
   * the cluster name and nothing else).
   */
  static String clusterName(Settings cluster) {
    String secret = cluster.text("secret");
    if (secret.isEmpty()) {
      return cluster.text("name");
    }
    try {
      byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
          .digest(("iot-meter-cluster:" + secret).getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return cluster.text("name") + "-" + java.util.HexFormat.of().formatHex(digest, 0, 16);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  public static HazelcastClusterManager clusterManager(JsonObject config) {
    Settings cluster = Settings.of(config, "cluster");
    checkSecure(cluster);
    Config hazelcast = ConfigUtil.loadConfig();
    hazelcast.setClusterName(clusterName(cluster));
    hazelcast.setProperty("hazelcast.logging.type", "slf4j");
    hazelcast.setProperty("hazelcast.phone.home.enabled", "false");
    // Without this a member waits 5-10 s before joining even when the others answer at once.
    hazelcast.setProperty("hazelcast.wait.seconds.before.join", "0");
    hazelcast.setProperty("hazelcast.shutdownhook.enabled", "false");
    String host = cluster.text("host");
    hazelcast.getNetworkConfig().setPort(cluster.integer("port")).setPortAutoIncrement(false);
    hazelcast.getNetworkConfig().setPublicAddress(host + ":" + cluster.integer("port"));
    hazelcast.getNetworkConfig().getInterfaces().setEnabled(!"0.0.0.0".equals(host)).addInterface(host);
    if (!"0.0.0.0".equals(host)) {
      // Listen on the configured interface only, not on every address of the machine.
      hazelcast.setProperty("hazelcast.socket.bind.any", "false");
    }
    JoinConfig join = hazelcast.getNetworkConfig().getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    if (cluster.flag("kubernetes")) {
      join.getTcpIpConfig().setEnabled(false);
      join.getKubernetesConfig().setEnabled(true)
          .setProperty("service-dns", cluster.text("kubernetes_service_dns"));
    } else {
      join.getTcpIpConfig().setEnabled(true);
      // Each member on its own ("host:port"): ranges make Hazelcast probe every port in them.
      for (String member : cluster.texts("members")) {
        join.getTcpIpConfig().addMember(member);
      }
    }
    return new HazelcastClusterManager(hazelcast);
  }

  /**
   * Where this node's event bus listens for the other nodes, and with {@code cluster.tls} how
   * they prove they belong: mutual TLS with certificates of the cluster's CA, so a process that
   * joined Hazelcast without one can neither receive its share of a request address nor send
   * on the bus.
   */
  public static EventBusOptions eventBusOptions(JsonObject config) {
    Settings cluster = Settings.of(config, "cluster");
    checkSecure(cluster);
    String host = cluster.text("host");
    EventBusOptions options = new EventBusOptions().setHost(host).setPort(cluster.integer("bus_port"))
        .setClusterPublicHost(host);
    Settings tls = cluster.section("tls");
    if (tls.flag("enabled")) {
      for (String key : new String[] {"cert_path", "key_path", "ca_path"}) {
        String path = tls.text(key);
        if (path.isEmpty() || !java.nio.file.Files.isReadable(java.nio.file.Path.of(path))) {
          throw new StartupException("cluster.tls." + key + (path.isEmpty() ? " is required when cluster.tls.enabled is true"
              : ": cannot read " + path));
        }
      }
      options.setSsl(true)
          .setKeyCertOptions(new io.vertx.core.net.PemKeyCertOptions().setCertPath(tls.text("cert_path"))
              .setKeyPath(tls.text("key_path")))
          .setTrustOptions(new io.vertx.core.net.PemTrustOptions().addCertPath(tls.text("ca_path")))
          .setClientAuth(io.vertx.core.http.ClientAuth.REQUIRED);
    }
    return options;
  }
}
