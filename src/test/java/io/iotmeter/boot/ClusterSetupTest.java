package io.iotmeter.boot;

import io.iotmeter.config.Settings;
import io.iotmeter.config.StartupException;
import io.iotmeter.support.Profiles;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A clustered node as shipped refuses to start without bus TLS and a secret, and says why in one line. */
class ClusterSetupTest {

  private static JsonObject cluster(JsonObject tls, String secret, boolean allowPlaintext) {
    JsonObject config = Profiles.load("cluster");
    JsonObject section = config.getJsonObject("cluster").put("secret", secret).put("allow_plaintext", allowPlaintext);
    if (tls != null) {
      section.put("tls", tls);
    }
    return config;
  }

  @Test
  void theClusterProfileRunsTheBusWithMutualTlsFromTheSecretsMount() {
    Settings tls = Settings.of(Profiles.load("cluster"), "cluster.tls");
    assertThat(tls.flag("enabled")).isTrue();
    assertThat(tls.text("cert_path")).isEqualTo("/etc/iot-meter/cluster-tls/tls.crt");
    assertThat(Settings.of(Profiles.load("embedded"), "cluster").flag("allow_plaintext")).isFalse();
  }

  @Test
  void withoutTlsOrWithoutASecretANodeRefusesToStartUnlessPlaintextIsAllowed() {
    JsonObject plain = cluster(new JsonObject().put("enabled", false), "s".repeat(32), false);
    assertThatThrownBy(() -> ClusterSetup.eventBusOptions(plain)).isInstanceOf(StartupException.class)
        .hasMessageStartingWith("cluster.tls.enabled is false").hasMessageContaining("cluster.allow_plaintext: true")
        .hasMessageContaining("launcher/make-cluster-certs").matches(e -> !e.getMessage().contains("\n"));
    JsonObject noSecret = cluster(null, "", false);
    assertThatThrownBy(() -> ClusterSetup.clusterManager(noSecret)).isInstanceOf(StartupException.class)
        .hasMessageStartingWith("cluster.secret must hold at least 22");
    assertThatThrownBy(() -> ClusterSetup.clusterManager(cluster(null, "too-short", false)))
        .hasMessageStartingWith("cluster.secret must hold at least 22");
    // A trusted test network may say so.
    assertThat(ClusterSetup.eventBusOptions(cluster(new JsonObject().put("enabled", false), "", true)).isSsl()).isFalse();
  }

  @Test
  void theHazelcastClusterNameIsDerivedFromTheSecret() {
    Settings one = Settings.of(cluster(null, "first-secret-0123456789abcdef", false), "cluster");
    Settings two = Settings.of(cluster(null, "second-secret-0123456789abcdef", false), "cluster");
    assertThat(ClusterSetup.clusterName(one)).startsWith("iot-meter-").hasSize("iot-meter-".length() + 32)
        .doesNotContain("first-secret").isNotEqualTo(ClusterSetup.clusterName(two));
    assertThat(ClusterSetup.clusterName(Settings.of(cluster(null, "", true), "cluster"))).isEqualTo("iot-meter");
  }
}
