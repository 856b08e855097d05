package io.iotmeter.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigOverridesTest {

  private static JsonObject sample() {
    return new JsonObject()
        .put("data_dir", "./data")
        .put("http", new JsonObject().put("port", 8080).put("host", "0.0.0.0"))
        .put("postgres", new JsonObject().put("password", "iot_password").put("pool_size", 8).put("embedded", false))
        .put("mqtt_bridge", new JsonObject().put("brokers", new JsonArray().add("mosquitto:1883")));
  }

  @Test
  void envNameIsThePathInCapitals() {
    assertThat(ConfigOverrides.envName("http.port")).isEqualTo("IOT_HTTP_PORT");
    assertThat(ConfigOverrides.envName("postgres.pool_size")).isEqualTo("IOT_POSTGRES_POOL_SIZE");
    assertThat(ConfigOverrides.envName("data_dir")).isEqualTo("IOT_DATA_DIR");
  }

  @Test
  void valuesTakeTheTypeOfTheKey() {
    JsonObject config = sample();
    List<String> unknown = ConfigOverrides.apply(config, Map.of(
        "IOT_HTTP_PORT", "9090",
        "IOT_POSTGRES_PASSWORD", "12345",
        "IOT_POSTGRES_EMBEDDED", "TRUE",
        "IOT_MQTT_BRIDGE_BROKERS", "[\"a:1883\",\"b:1884\"]",
        "IOT_DATA_DIR", "/var/lib/iot",
        "PATH", "/usr/bin"));
    assertThat(unknown).isEmpty();
    assertThat(config.getJsonObject("http").getValue("port")).isEqualTo(9090L);
    assertThat(config.getJsonObject("http").getInteger("port")).isEqualTo(9090);
    assertThat(config.getJsonObject("postgres").getValue("password")).isEqualTo("12345");
    assertThat(config.getJsonObject("postgres").getBoolean("embedded")).isTrue();
    assertThat(config.getJsonObject("mqtt_bridge").getJsonArray("brokers")).containsExactly("a:1883", "b:1884");
    assertThat(config.getString("data_dir")).isEqualTo("/var/lib/iot");
  }

  @Test
  void unknownVariablesAreReportedAndLauncherVariablesAreNot() {
    List<String> unknown = ConfigOverrides.apply(sample(), Map.of("IOT_HTTP_PROT", "1", "IOT_PROFILE", "compose", "IOT_CONF", "x.yaml"));
    assertThat(unknown).containsExactly("IOT_HTTP_PROT");
  }

  @Test
  void badValuesAreStartupErrorsNamingTheVariable() {
    assertThatThrownBy(() -> ConfigOverrides.apply(sample(), Map.of("IOT_HTTP_PORT", "eighty")))
        .isInstanceOf(StartupException.class).hasMessageContaining("IOT_HTTP_PORT").hasMessageContaining("eighty");
    assertThatThrownBy(() -> ConfigOverrides.apply(sample(), Map.of("IOT_POSTGRES_EMBEDDED", "yes")))
        .isInstanceOf(StartupException.class).hasMessageContaining("IOT_POSTGRES_EMBEDDED");
  }
}
