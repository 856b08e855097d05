package io.iotmeter.config;

import io.iotmeter.bridge.BridgeSettings;
import io.iotmeter.boot.MemoryBudget;
import io.iotmeter.security.SecuritySettings;
import io.iotmeter.sim.SimulatorConfig;
import io.iotmeter.sink.JournalFeed;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Defaults live only in conf/default.yaml: a section given in part is completed from it. */
class SettingsTest {

  @Test
  void aSectionGivenInPartIsCompletedFromTheDefaults() {
    Settings mqtt = Settings.section("mqtt", new JsonObject().put("max_queued", 3).put("tls", new JsonObject().put("port", 9999)));
    assertThat(mqtt.integer("max_queued")).isEqualTo(3);
    assertThat(mqtt.integer("max_inflight")).isEqualTo(Settings.defaults().getJsonObject("mqtt").getInteger("max_inflight"))
        .isEqualTo(20);
    assertThat(mqtt.section("tls").integer("port")).isEqualTo(9999);
    assertThat(mqtt.section("tls").flag("enabled")).as("the rest of a nested section stays").isFalse();
    assertThat(Settings.of(new JsonObject(), "sinks.archive").millis("linger_ms")).isEqualTo(Duration.ofMillis(100));
    assertThat(Settings.section("mqtt", null).integer("port")).isEqualTo(1883);
  }

  @Test
  void aKeyGivenAsNullKeepsItsDefault() {
    assertThat(Settings.section("mqtt", new JsonObject().putNull("max_queued")).integer("max_queued")).isEqualTo(1000);
  }

  @Test
  void aMissingKeyOrAWrongTypeNamesTheSetting() {
    assertThatThrownBy(() -> Settings.section("mqtt", new JsonObject()).integer("no_such_key"))
        .isInstanceOf(StartupException.class).hasMessageContaining("mqtt.no_such_key is missing");
    assertThatThrownBy(() -> Settings.section("intake", new JsonObject().put("max_batch", "many")).integer("max_batch"))
        .isInstanceOf(StartupException.class)
        .hasMessageContaining("intake.max_batch must be a whole number, not 'many'")
        .hasMessageContaining("IOT_INTAKE_MAX_BATCH");
    assertThatThrownBy(() -> Settings.section("intake", new JsonObject().put("max_batch", 1.5)).integer("max_batch"))
        .isInstanceOf(StartupException.class);
    assertThatThrownBy(() -> Settings.section("intake", new JsonObject().put("max_batch", 1L << 40)).integer("max_batch"))
        .isInstanceOf(StartupException.class);
    assertThatThrownBy(() -> Settings.section("security", new JsonObject().put("enabled", "yes")).flag("enabled"))
        .isInstanceOf(StartupException.class).hasMessageContaining("true or false");
    assertThatThrownBy(() -> Settings.section("mqtt", new JsonObject().put("tls", 5)).section("tls"))
        .isInstanceOf(StartupException.class).hasMessageContaining("mqtt.tls must be a section");
    assertThat(Settings.section("postgres", new JsonObject().put("password", 12345)).text("password"))
        .as("a YAML password of digits").isEqualTo("12345");
  }

  /** Every typed settings record reads only keys that conf/default.yaml has: built from nothing, none fails. */
  @Test
  void everySettingTheRecordsReadHasADefault() {
    JsonObject none = new JsonObject();
    assertThat(BridgeSettings.of(none).maxConnections()).isEqualTo(200);
    assertThat(SecuritySettings.of(none).enabled()).as("secure by default").isTrue();
    for (String sink : new String[] {"archive", "timeseries", "registry"}) {
      assertThat(JournalFeed.Options.of(Settings.of(none, "sinks." + sink)).maxBatch()).isPositive();
    }
    assertThat(SimulatorConfig.from(none).settings().provisioned().sendIntervalS()).isEqualTo(10);
    assertThat(MemoryBudget.bytes(new JsonObject().put("roles", new io.vertx.core.json.JsonArray().add("all"))
        .put("deploy", new JsonObject().put("intake", 1).put("mqtt_server", 1)))).isPositive();
    assertThat(Settings.defaults().getJsonObject("liveness").getInteger("default_send_interval_s"))
        .as("the platform's assumption is the protocol's default")
        .isEqualTo(io.iotmeter.protocol.DeviceDefaults.SEND_INTERVAL_S);
  }
}
