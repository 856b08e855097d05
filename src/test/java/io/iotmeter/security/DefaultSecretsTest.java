package io.iotmeter.security;

import io.iotmeter.boot.Platform;
import io.iotmeter.support.Profiles;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The reference's well-known passwords stop a start against real servers, unless allowed. */
class DefaultSecretsTest {

  @Test
  void theComposeProfileAsShippedUsesFourOfThem() {
    assertThat(DefaultSecrets.found(Profiles.load("compose")))
        .containsExactly("mqtt_bridge.password", "postgres.password", "s3.access_key", "s3.secret_key", "timeseries.influxdb.token");
  }

  @Test
  void aSimulatorOnlyNodeUsesNoStore() {
    assertThat(DefaultSecrets.found(Profiles.load("simulator"))).isEmpty();
  }

  @Test
  void embeddedServersAndOwnPasswordsAreFine() {
    assertThat(DefaultSecrets.found(Profiles.load("embedded"))).isEmpty();
    JsonObject compose = Profiles.load("compose");
    compose.getJsonObject("postgres").put("password", "s3cr3t-of-ours");
    assertThat(DefaultSecrets.found(compose)).doesNotContain("postgres.password");
    compose.getJsonObject("security").put("allow_default_secrets", true);
    assertThat(DefaultSecrets.found(compose)).isEmpty();
  }

  @Test
  void anExternalQuestDbWithItsDefaultPasswordAndTheComposeAdminKeyCountToo() {
    JsonObject compose = Profiles.load("compose");
    compose.getJsonObject("timeseries").put("store", "questdb");
    assertThat(DefaultSecrets.found(compose)).contains("timeseries.questdb.password").doesNotContain("timeseries.influxdb.token");
    compose.getJsonObject("timeseries").put("embedded", true);
    assertThat(DefaultSecrets.found(compose)).doesNotContain("timeseries.questdb.password");
    compose.getJsonObject("security").put("admin_key", "iot-dev-admin-key-change-me-0123");
    assertThat(DefaultSecrets.found(compose)).contains("security.admin_key");
  }

  @Test
  void aConfiguredAdminKeyShorterThan128BitsStopsTheStartWithoutShowingIt() {
    JsonObject config = Profiles.load("embedded");
    config.getJsonObject("security").put("admin_key", "short-admin-key");
    Vertx vertx = Vertx.vertx();
    try {
      assertThatThrownBy(() -> new Platform(vertx, config).start().await())
          .isInstanceOf(io.iotmeter.config.StartupException.class)
          .hasMessageContaining("security.admin_key has 15 characters").hasMessageContaining("at least 128 bits")
          .hasMessageNotContaining("short-admin-key");
    } finally {
      vertx.close().await();
    }
    config.getJsonObject("security").put("admin_key", "x".repeat(SecuritySettings.MIN_ADMIN_KEY_CHARS));
    assertThat(SecuritySettings.of(config).adminKey()).hasSize(22);
  }

  @Test
  void thePlatformRefusesToStartNamingTheSettingAndTheWayOut() {
    Vertx vertx = Vertx.vertx();
    try {
      assertThatThrownBy(() -> new Platform(vertx, Profiles.load("compose")).start().await())
          .hasMessageContaining("well-known passwords are in use (mqtt_bridge.password, postgres.password")
          .hasMessageContaining("IOT_SECURITY_ALLOW_DEFAULT_SECRETS=true");
    } finally {
      vertx.close().await();
    }
  }
}
