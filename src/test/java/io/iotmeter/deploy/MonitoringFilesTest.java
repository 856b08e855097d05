package io.iotmeter.deploy;

import io.iotmeter.support.Monitoring;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The alert rules and dashboards the deployments ship, checked with real tools: promtool checks
 * the Prometheus configuration and the rules, runs their unit tests, and parses every PromQL
 * expression of the dashboards; the compose file runs Grafana, Alertmanager and a Prometheus
 * with the reference's retention and OTLP receiver.
 */
class MonitoringFilesTest {

  @Test
  void promtoolAcceptsTheConfigurationAndTheRules() throws Exception {
    Monitoring.Result config = Monitoring.promtool("check", "config", "docker/prometheus/prometheus.yml");
    assertThat(config.exitCode()).as(config.output()).isZero();
    Monitoring.Result rules = Monitoring.promtool("check", "rules", Monitoring.RULES.toString());
    assertThat(rules.exitCode()).as(rules.output()).isZero();
    assertThat(Monitoring.alertExpressions()).hasSizeGreaterThanOrEqualTo(20);
  }

  @Test
  void everyAlertHasAUnitTestAndTheyPass() throws Exception {
    Monitoring.Result tests = Monitoring.promtool("test", "rules", Monitoring.RULE_TESTS.toString());
    assertThat(tests.exitCode()).as(tests.output()).isZero();
    String text = Files.readString(Monitoring.RULE_TESTS);
    for (String alert : Monitoring.alertExpressions().keySet()) {
      assertThat(text).as("a test of " + alert).contains("alertname: " + alert + "\n");
    }
  }

  @Test
  void everyDashboardExpressionParses() throws Exception {
    List<String> expressions = Monitoring.dashboardExpressions(Monitoring.OVERVIEW);
    assertThat(expressions).hasSizeGreaterThanOrEqualTo(21);
    // promtool parses expressions as recording rules: one per panel target.
    StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard-expressions\n    rules:\n");
    for (int i = 0; i < expressions.size(); i++) {
      rules.append("      - record: dashboard:expression_").append(i).append("\n        expr: ")
          .append(new Yaml().dump(expressions.get(i)).trim()).append('\n');
    }
    Path file = Files.createTempFile("dashboard-expressions", ".yml");
    Files.writeString(file, rules);
    Monitoring.Result checked = Monitoring.promtool("check", "rules", file.toString());
    assertThat(checked.exitCode()).as(checked.output() + "\n" + rules).isZero();
  }

  @Test
  void panelsUseTheDatasourceVariables() throws Exception {
    JsonObject overview = Monitoring.dashboard(Monitoring.OVERVIEW);
    assertThat(variables(overview)).contains("DS_PROMETHEUS");
    for (Object p : overview.getJsonArray("panels")) {
      assertThat(((JsonObject) p).getJsonObject("datasource").getString("uid")).isEqualTo("${DS_PROMETHEUS}");
    }
    JsonObject fleet = Monitoring.dashboard(Monitoring.FLEET);
    assertThat(variables(fleet)).contains("DS_INFLUXDB", "DS_POSTGRES", "train", "device");
    for (Object p : fleet.getJsonArray("panels")) {
      assertThat(((JsonObject) p).getJsonObject("datasource").getString("uid")).isIn("${DS_INFLUXDB}", "${DS_POSTGRES}");
    }
  }

  @Test
  void fleetTimeSeriesQueriesReadWhatTheTimeSeriesSinkWrites() throws Exception {
    for (Object p : Monitoring.dashboard(Monitoring.FLEET).getJsonArray("panels")) {
      for (Object t : ((JsonObject) p).getJsonArray("targets")) {
        String flux = ((JsonObject) t).getString("query");
        if (flux != null) {
          // The reference's bucket, the sink's measurement and value field, the selected meters.
          assertThat(flux).contains("from(bucket: \"iot-metrics\")").contains("r._measurement == \"iot_telemetry\"")
              .contains("r._field == \"value\"").contains("${device:regex}");
          assertThat(flux).containsAnyOf("\"power_active\"", "/^voltage_/", "/^current_/", "\"energy_active_import\"");
        }
      }
    }
  }

  private static List<String> variables(JsonObject dashboard) {
    return dashboard.getJsonObject("templating").getJsonArray("list").stream()
        .map(v -> ((JsonObject) v).getString("name")).collect(Collectors.toList());
  }

  @Test
  @SuppressWarnings("unchecked")
  void composeRunsPrometheusAlertmanagerAndGrafanaWithTheirFiles() throws Exception {
    Map<String, Object> services = (Map<String, Object>) ((Map<String, Object>) new Yaml()
        .load(Files.readString(Path.of("docker/docker-compose.yml")))).get("services");
    assertThat(services).containsKeys("prometheus", "alertmanager", "grafana");
    services.forEach((name, service) -> assertThat((Map<String, Object>) service).as(name + ": healthcheck").containsKey("healthcheck"));
    // The ports of the reference's table, and the two it did not have.
    Map<String, String> ports = Map.of("platform", "8080:8080", "prometheus", "9091:9090", "minio", "9090:9090",
        "influxdb", "8086:8086", "postgres", "5432:5432", "mosquitto", "1883:1883", "grafana", "3000:3000", "alertmanager", "9093:9093");
    ports.forEach((name, port) -> assertThat((List<String>) ((Map<String, Object>) services.get(name)).get("ports")).as(name).contains(port));
    List<String> prometheus = (List<String>) ((Map<String, Object>) services.get("prometheus")).get("command");
    assertThat(prometheus).contains("--storage.tsdb.retention.time=90d", "--web.enable-otlp-receiver");
    for (String service : List.of("prometheus", "alertmanager", "grafana")) {
      for (String volume : (List<String>) ((Map<String, Object>) services.get(service)).get("volumes")) {
        Path host = Path.of("docker").resolve(volume.split(":")[0]).normalize();
        assertThat(host).as(service + " mounts " + volume).exists();
      }
    }
    Map<String, Object> alertmanager = new Yaml().load(Files.readString(Path.of("docker/alertmanager/alertmanager.yml")));
    String receiver = (String) ((Map<String, Object>) alertmanager.get("route")).get("receiver");
    assertThat(((List<Map<String, Object>>) alertmanager.get("receivers")).stream().map(r -> r.get("name")))
        .contains(receiver);
    Map<String, Object> datasources = new Yaml().load(Files.readString(Path.of("docker/grafana/provisioning/datasources/datasources.yml")));
    assertThat(((List<Map<String, Object>>) datasources.get("datasources")).stream().map(d -> d.get("type")))
        .contains("prometheus", "influxdb", "grafana-postgresql-datasource");
  }

  @Test
  void metricNamesAreFoundInExpressions() {
    assertThat(Monitoring.metricNames("sum by (le, handler) (rate(http_request_duration_seconds_bucket{status=~\"4xx|5xx\"}[5m]))"
        + " / sum(rate(http_requests_total[5m])) > 0.05 and max(up) == 0"))
        .containsExactlyInAnyOrder("http_request_duration_seconds_bucket", "http_requests_total", "up");
    assertThat(Monitoring.metricNames("min by (listener) (iot_meter_tls_certificate_expiry_seconds) < 14 * 86400"))
        .containsExactly("iot_meter_tls_certificate_expiry_seconds");
  }
}
