package io.iotmeter.ops;

import io.iotmeter.support.FreePorts;
import io.iotmeter.support.Monitoring;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.TestCertificates;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The first scrape of a platform that has seen no traffic yet: every metric the alert rules and
 * dashboards read is there (a renamed metric breaks this build, not a dashboard), and every
 * metric of the reference with its known label values, at 0 — counters that appear only after
 * their first event break rate() and alert rules.
 */
@Timeout(120)
class ExportedMetricsTest {

  /** Metrics of other exporters: Prometheus itself and kube-state-metrics. */
  private static final Set<String> NOT_OURS = Set.of("up", "kube_pod_container_status_restarts_total");

  private static RunningPlatform platform;
  private static String firstScrape;

  @BeforeAll
  static void start() throws Exception {
    JsonObject config = RunningPlatform.ingestConfig();
    // With TLS on a listener, so that its certificate's expiry is exported as well.
    TestCertificates ca = new TestCertificates(Files.createTempDirectory("metrics-tls"), "metrics");
    TestCertificates.Issued cert = ca.server("mqtt");
    config.getJsonObject("mqtt").put("tls", new JsonObject().put("enabled", true).put("port", FreePorts.next())
        .put("cert_path", cert.cert().toString()).put("key_path", cert.key().toString()));
    platform = RunningPlatform.start(config);
    firstScrape = platform.get("/metrics").body();
  }

  @AfterAll
  static void stop() {
    platform.close();
  }

  private static Set<String> exported() {
    Set<String> names = new TreeSet<>();
    firstScrape.lines().filter(l -> !l.startsWith("#") && !l.isBlank())
        .forEach(l -> names.add(l.split("[{ ]", 2)[0]));
    return names;
  }

  @Test
  void everyMetricTheRulesAndDashboardsReadIsExportedFromTheFirstScrape() throws Exception {
    List<String> expressions = new ArrayList<>(Monitoring.alertExpressions().values());
    expressions.addAll(Monitoring.dashboardExpressions(Monitoring.OVERVIEW));
    Set<String> used = new TreeSet<>();
    expressions.forEach(e -> used.addAll(Monitoring.metricNames(e)));
    used.removeAll(NOT_OURS);
    assertThat(used).hasSizeGreaterThan(20);
    assertThat(exported()).containsAll(used);
  }

  @Test
  void everyReferenceMetricIsThereWithItsKnownLabelsAtZero() {
    assertThat(exported()).contains("http_request_duration_seconds_bucket", "http_requests_total",
        "device_manager_mqtt_commands_total", "device_manager_influxdb_query_duration_seconds_bucket",
        "device_manager_minio_list_duration_seconds_bucket", "device_manager_devices_total", "device_manager_alerts_unacknowledged",
        "device_manager_info", "mqtt_collector_messages_received_total", "mqtt_collector_messages_processed_total",
        "mqtt_collector_messages_errors_total", "mqtt_collector_duplicates_dropped_total", "mqtt_collector_sequence_gaps_total",
        "mqtt_collector_minio_store_duration_seconds_bucket", "mqtt_collector_influxdb_write_duration_seconds_bucket",
        "mqtt_collector_mqtt_connected", "mqtt_collector_minio_ready", "mqtt_collector_influxdb_ready",
        "mqtt_collector_devices_seen", "mqtt_collector_info");
    for (String type : List.of("json_decode", "processing", "minio_store", "influxdb_write", "quarantined")) {
      assertThat(firstScrape).contains("mqtt_collector_messages_errors_total{error_type=\"" + type + "\"} 0.0");
    }
    // Derived from the categories; the reference's label values are the contract.
    assertThat(IngestMetrics.TOPIC_SUFFIXES).containsExactly("telemetry", "hello", "status", "command_ack", "ota_status", "other");
    for (String suffix : IngestMetrics.TOPIC_SUFFIXES) {
      assertThat(firstScrape).contains("mqtt_collector_messages_received_total{topic_suffix=\"" + suffix + "\"}");
    }
    assertThat(firstScrape).contains("device_manager_mqtt_commands_total{cmd=\"reboot\",status=\"published\"} 0.0")
        .contains("mqtt_collector_duplicates_dropped_total 0.0").contains("mqtt_collector_sequence_gaps_total 0.0")
        .contains("mqtt_collector_journal_pending{sink=\"archive\"}")
        .contains("device_manager_devices_connection{connection_status=\"offline\"}")
        .contains("iot_meter_tls_certificate_expiry_seconds{listener=\"mqtt\"}");
  }

  @Test
  void everyErrorTypeTheCodeCountsIsRegisteredAtTheStart() throws Exception {
    // Scans the sources: a counter label added in the code without IngestMetrics.ERROR_TYPES fails here.
    Set<String> counted = new TreeSet<>();
    java.util.regex.Pattern call = java.util.regex.Pattern.compile("(?:\\.error|refusals\\.accept)\\(\"([a-z0-9_]+)\"\\)");
    try (var files = Files.walk(java.nio.file.Path.of("src/main/java"))) {
      for (java.nio.file.Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
        java.util.regex.Matcher m = call.matcher(Files.readString(file));
        while (m.find()) {
          counted.add(m.group(1));
        }
      }
    }
    assertThat(counted).hasSizeGreaterThan(15);
    assertThat(IngestMetrics.ERROR_TYPES).containsAll(counted);
  }

  @Test
  void theFleetDashboardsSqlRunsOnTheRegistrySchema() throws Exception {
    JsonObject fleet = Monitoring.dashboard(Monitoring.FLEET);
    List<String> queries = new ArrayList<>();
    fleet.getJsonObject("templating").getJsonArray("list").forEach(v -> {
      String query = ((JsonObject) v).getValue("query") instanceof String q && q.startsWith("SELECT") ? q : null;
      if (query != null) {
        queries.add(query);
      }
    });
    for (Object p : fleet.getJsonArray("panels")) {
      for (Object t : ((JsonObject) p).getJsonArray("targets", new JsonArray())) {
        String sql = ((JsonObject) t).getString("rawSql");
        if (sql != null) {
          queries.add(sql);
        }
      }
    }
    assertThat(queries).hasSizeGreaterThanOrEqualTo(4);
    for (String sql : queries) {
      // Grafana puts the selected trains in as quoted values.
      long rows = TestPostgres.count(platform.postgres(), "SELECT count(*) FROM (" + sql.replace("$train", "'4521'") + ") q");
      assertThat(rows).as(sql).isGreaterThanOrEqualTo(0);
    }
  }
}
