package io.iotmeter.api;

import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/** Health endpoints, readiness that follows the database, and the reference metric names. */
@Timeout(60)
class HealthAndMetricsApiTest {

  @Test
  void healthLivenessAndReadiness() {
    try (RunningPlatform platform = RunningPlatform.start()) {
      assertThat(platform.get("/health").json()).isEqualTo(new JsonObject().put("status", "healthy").put("service", "device-manager"));
      assertThat(platform.get("/healthz").json()).isEqualTo(new JsonObject().put("status", "alive").put("service", "device-manager"));
      Reply ready = platform.get("/readyz");
      assertThat(ready.status()).isEqualTo(200);
      assertThat(ready.json().getString("status")).isEqualTo("ready");
      assertThat(ready.json().getJsonArray("checks").getJsonObject(0).getString("name")).isEqualTo("database");
    }
  }

  @Test
  void readinessFailsAndNamesTheDatabaseWhenItIsGone() {
    try (RunningPlatform platform = RunningPlatform.start()) {
      // Cut the platform's connections and forbid new ones: the database is unreachable for it.
      String db = platform.postgres().getString("database");
      io.iotmeter.support.TestPostgres.execute(new JsonObject().put("database", "postgres"),
          "ALTER DATABASE " + db + " WITH ALLOW_CONNECTIONS false");
      io.iotmeter.support.TestPostgres.execute(new JsonObject().put("database", "postgres"),
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db + "'");
      try {
        Reply notReady = platform.get("/readyz");
        assertThat(notReady.status()).isEqualTo(503);
        assertThat(notReady.json().getString("status")).isEqualTo("not ready");
        assertThat(notReady.json().getJsonArray("failed").getList()).containsExactly("database");
        assertThat(platform.get("/healthz").status()).as("liveness does not depend on the database").isEqualTo(200);
        Reply apiCall = platform.get("/api/devices");
        assertThat(apiCall.status()).isEqualTo(500);
        assertThat(apiCall.json().getString("error")).isEqualTo("Internal server error");
        assertThat(apiCall.json().getString("correlation_id")).isNotBlank();
      } finally {
        io.iotmeter.support.TestPostgres.execute(new JsonObject().put("database", "postgres"),
            "ALTER DATABASE " + db + " WITH ALLOW_CONNECTIONS true");
      }
      assertThat(platform.get("/readyz").status()).as("ready again once the database is back").isEqualTo(200);
    }
  }

  @Test
  void metricsUseTheReferenceNames() {
    try (RunningPlatform platform = RunningPlatform.start()) {
      platform.get("/api/devices/dc-meter-001");
      platform.get("/api/stats");
      platform.get("/api/devices/dc-meter-001/metrics");
      platform.get("/api/devices/dc-meter-001/raw-data");
      platform.post("/api/devices/dc-meter-001/commands", new JsonObject().put("cmd", "reboot"));
      Reply metrics = platform.get("/metrics");
      assertThat(metrics.status()).isEqualTo(200);
      assertThat(metrics.contentType()).startsWith("text/plain");
      assertThat(metrics.body())
          .contains("http_requests_total{handler=\"/api/devices/:id\",method=\"GET\",status=\"2xx\"} 1.0")
          .contains("http_request_duration_seconds_bucket{handler=\"/api/stats\"")
          .contains("device_manager_mqtt_commands_total{cmd=\"reboot\",status=\"not_published\"} 1.0")
          .contains("device_manager_devices_total{status=\"active\"} 3")
          .contains("device_manager_alerts_unacknowledged 0.0")
          .contains("device_manager_influxdb_query_duration_seconds_count 1")
          .contains("device_manager_minio_list_duration_seconds_count 1")
          .contains("device_manager_info{version=");
    }
  }
}
