package io.iotmeter.boot;

import io.iotmeter.config.ConfigOverrides;
import io.iotmeter.config.StartupException;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The configuration layers, read from the real profile files. */
class ConfigLoaderTest {

  private static Vertx vertx;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  private static JsonObject load(Map<String, String> env, String... args) {
    return ConfigLoader.load(vertx, CommandLine.parse(args, env), env).await();
  }

  @Test
  void embeddedProfileStartsItsOwnPostgresOnAFreePort() {
    JsonObject config = load(Map.of(), "run");
    assertThat(config.getString("profile")).isEqualTo("embedded");
    assertThat(config.getJsonObject("postgres").getBoolean("embedded")).isTrue();
    assertThat(config.getJsonObject("postgres").getInteger("port")).isZero();
    assertThat(config.getJsonObject("http").getInteger("port")).isEqualTo(8080);
    assertThat(config.getJsonObject("mqtt").getInteger("port")).isEqualTo(1883);
    assertThat(config.getString("data_dir")).isEqualTo(Path.of("data").toAbsolutePath().toString());
    assertThat(config.getJsonObject("deploy").getInteger("api")).isEqualTo(1);
    assertThat(config.getJsonObject("s3").getBoolean("embedded")).isTrue();
    assertThat(config.getJsonObject("timeseries").getString("store")).isEqualTo("questdb");
    assertThat(config.getJsonObject("timeseries").getBoolean("embedded")).isTrue();
  }

  @Test
  void composeProfileUsesTheReferenceServers() {
    JsonObject config = load(Map.of(), "run", "--profile", "compose");
    JsonObject postgres = config.getJsonObject("postgres");
    assertThat(postgres.getBoolean("embedded")).isFalse();
    assertThat(postgres.getString("host")).isEqualTo("postgres");
    assertThat(postgres.getInteger("port")).isEqualTo(5432);
    assertThat(postgres.getString("user")).isEqualTo("iot_user");
    assertThat(postgres.getString("password")).isEqualTo("iot_password");
    assertThat(postgres.getString("database")).isEqualTo("iot_devices");
    assertThat(config.getJsonObject("s3").getString("endpoint")).isEqualTo("http://minio:9000");
    assertThat(config.getJsonObject("timeseries").getString("store")).isEqualTo("influxdb");
    assertThat(config.getJsonObject("timeseries").getJsonObject("influxdb").getString("url")).isEqualTo("http://influxdb:8086");
    assertThat(config.getJsonObject("timeseries").getJsonObject("influxdb").getString("org")).isEqualTo("iot-org");
  }

  @Test
  void clusterProfileBuildsOnCompose() {
    JsonObject config = load(Map.of(), "run", "--profile", "cluster");
    assertThat(config.getJsonObject("postgres").getString("host")).isEqualTo("postgres");
    assertThat(config.containsKey("cluster")).isTrue();
  }

  @Test
  void layersOverrideInOrder(@TempDir Path dir) throws Exception {
    Path userFile = dir.resolve("site.yaml");
    Files.writeString(userFile, "http:\n  port: 9000\npostgres:\n  host: db.example\n  pool_size: 3\n");
    Map<String, String> env = Map.of("IOT_HTTP_PORT", "9100");
    JsonObject config = load(env, "run", "--profile", "compose", "--conf", userFile.toString(), "--data-dir", dir.toString());
    assertThat(config.getJsonObject("http").getInteger("port")).as("environment beats the user file").isEqualTo(9100);
    assertThat(config.getJsonObject("postgres").getString("host")).as("user file beats the profile").isEqualTo("db.example");
    assertThat(config.getJsonObject("postgres").getInteger("pool_size")).isEqualTo(3);
    assertThat(config.getJsonObject("postgres").getString("user")).as("profile beats defaults").isEqualTo("iot_user");
    assertThat(config.getString("data_dir")).as("command line beats all").isEqualTo(dir.toString());
  }

  @Test
  void missingUserFileIsAClearError() {
    assertThatThrownBy(() -> load(Map.of(), "run", "--conf", "/no/such/file.yaml"))
        .isInstanceOf(StartupException.class).hasMessageContaining("/no/such/file.yaml");
  }

  @Test
  void everyKeyOfEveryProfileHasItsOwnEnvironmentVariable() {
    for (String profile : CommandLine.PROFILES) {
      JsonObject config = load(Map.of(), "run", "--profile", profile);
      Map<String, String> variables = ConfigOverrides.variables(config);
      Set<String> names = new HashSet<>(variables.values());
      assertThat(names).as(profile + ": two keys share a variable").hasSize(variables.size());
      Map<String, String> env = new HashMap<>();
      variables.values().forEach(v -> env.put(v, "1"));
      assertThat(variables).containsEntry("http.port", "IOT_HTTP_PORT").containsEntry("mqtt.port", "IOT_MQTT_PORT");
      assertThat(List.copyOf(names)).allMatch(n -> n.matches("IOT_[A-Z0-9_]+"));
    }
  }
}
