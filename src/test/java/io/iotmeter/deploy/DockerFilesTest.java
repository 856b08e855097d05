package io.iotmeter.deploy;

import io.iotmeter.config.ConfigOverrides;
import io.iotmeter.support.Profiles;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * No Docker engine runs on the build machines, so the docker/ files are checked here: they
 * parse, and the compose services agree with the compose profile the platform runs with.
 */
class DockerFilesTest {

  @SuppressWarnings("unchecked")
  private static Map<String, Object> yaml(String path) throws Exception {
    return new Yaml().load(Files.readString(Path.of(path)));
  }

  private static JsonObject composeProfile() {
    return Profiles.load("compose");
  }

  @Test
  @SuppressWarnings("unchecked")
  void composeServicesMatchTheComposeProfile() throws Exception {
    Map<String, Object> services = (Map<String, Object>) yaml("docker/docker-compose.yml").get("services");
    assertThat(services).containsKeys("platform", "postgres", "minio", "influxdb", "mosquitto", "prometheus");
    JsonObject profile = composeProfile();

    Map<String, Object> postgresEnv = (Map<String, Object>) ((Map<String, Object>) services.get("postgres")).get("environment");
    JsonObject postgres = profile.getJsonObject("postgres");
    assertThat(postgres.getString("host")).isEqualTo("postgres");
    assertThat(postgresEnv).containsEntry("POSTGRES_USER", postgres.getString("user"))
        .containsEntry("POSTGRES_PASSWORD", postgres.getString("password"))
        .containsEntry("POSTGRES_DB", postgres.getString("database"));

    Map<String, Object> minioEnv = (Map<String, Object>) ((Map<String, Object>) services.get("minio")).get("environment");
    JsonObject s3 = profile.getJsonObject("s3");
    assertThat(s3.getString("endpoint")).isEqualTo("http://minio:9000");
    assertThat(minioEnv).containsEntry("MINIO_ROOT_USER", s3.getString("access_key"))
        .containsEntry("MINIO_ROOT_PASSWORD", s3.getString("secret_key"));

    Map<String, Object> influxEnv = (Map<String, Object>) ((Map<String, Object>) services.get("influxdb")).get("environment");
    JsonObject influx = profile.getJsonObject("timeseries").getJsonObject("influxdb");
    assertThat(influx.getString("url")).isEqualTo("http://influxdb:8086");
    assertThat(influxEnv).containsEntry("DOCKER_INFLUXDB_INIT_ORG", influx.getString("org"))
        .containsEntry("DOCKER_INFLUXDB_INIT_BUCKET", influx.getString("bucket"))
        .containsEntry("DOCKER_INFLUXDB_INIT_ADMIN_TOKEN", influx.getString("token"));

    assertThat(profile.getJsonObject("mqtt_bridge").getJsonArray("brokers").getList()).containsExactly("mosquitto:1883");
    assertThat(profile.getJsonObject("deploy").getInteger("mqtt_bridge")).isEqualTo(1);
    assertThat(profile.getJsonObject("deploy").getInteger("mqtt_server")).isZero();

    Map<String, Object> platform = (Map<String, Object>) services.get("platform");
    assertThat((List<Object>) platform.get("command")).containsExactly("--profile", "compose");
    Map<String, Object> env = (Map<String, Object>) platform.get("environment");
    env.keySet().forEach(variable -> assertThat(ConfigOverrides.variables(profile).containsValue(variable))
        .as(variable + " names a configuration key").isTrue());
  }

  @Test
  @SuppressWarnings("unchecked")
  void prometheusScrapesThePlatformsMetrics() throws Exception {
    Map<String, Object> config = yaml("docker/prometheus/prometheus.yml");
    Map<String, Object> job = ((List<Map<String, Object>>) config.get("scrape_configs")).get(0);
    assertThat(job.get("metrics_path")).isEqualTo("/metrics");
    assertThat(job.toString()).contains("platform:8080");
  }

  @Test
  void theImageRunsTheJarWithTheComposeProfile() throws Exception {
    String dockerfile = Files.readString(Path.of("docker/Dockerfile"));
    assertThat(dockerfile).contains("FROM eclipse-temurin:17-jre").contains("target/iot-meter.jar")
        .contains("iot-meter.jar run").contains("\"--profile\", \"compose\"").contains("EXPOSE 8080 1883");
    assertThat(Files.readString(Path.of("docker/mosquitto/mosquitto.conf"))).contains("listener 1883").contains("persistence true")
        .contains("allow_anonymous false").contains("plugin_opt_config_file /mosquitto/data/dynamic-security.json");
    // The seed the compose file installs into the data volume; BridgeDynamicSecurityTest runs a real Mosquitto on it.
    JsonObject dynsec = new JsonObject(Files.readString(Path.of("docker/mosquitto/dynamic-security.json")));
    assertThat(dynsec.getJsonArray("clients").getJsonObject(0).getString("username")).isEqualTo("iot-platform");
  }

  /** The heap share of the image's JVM (MaxRAMPercentage in the Dockerfile). */
  static double heapShare() throws Exception {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("MaxRAMPercentage=([0-9.]+)")
        .matcher(Files.readString(Path.of("docker/Dockerfile")));
    assertThat(m.find()).as("the Dockerfile sets MaxRAMPercentage").isTrue();
    return Double.parseDouble(m.group(1)) / 100;
  }

  /** "2g", "512m", "2Gi", "512Mi" in bytes. */
  static long memory(String text) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("([0-9]+)([kKmMgG])i?[bB]?").matcher(text.trim());
    assertThat(m.matches()).as(text).isTrue();
    long n = Long.parseLong(m.group(1));
    return switch (Character.toLowerCase(m.group(2).charAt(0))) {
      case 'k' -> n << 10;
      case 'm' -> n << 20;
      default -> n << 30;
    };
  }

  @Test
  @SuppressWarnings("unchecked")
  void thePlatformContainersHeapHoldsItsBounds() throws Exception {
    Map<String, Object> platform = (Map<String, Object>) ((Map<String, Object>) yaml("docker/docker-compose.yml").get("services"))
        .get("platform");
    assertThat(platform).containsKey("mem_limit");
    long heap = (long) (memory(String.valueOf(platform.get("mem_limit"))) * heapShare());
    long budget = io.iotmeter.boot.MemoryBudget.bytes(composeProfile());
    assertThat(budget).as("bounds of the compose profile").isGreaterThan(io.iotmeter.boot.MemoryBudget.BASE_BYTES);
    assertThat(heap).as("heap of the compose platform container vs its bounds (%d MiB)", budget >> 20).isGreaterThanOrEqualTo(budget);
  }
}
