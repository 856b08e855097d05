package io.iotmeter.api;

import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** Parameter validation of the metrics and raw-data endpoints (their stores arrive with ingest). */
@Timeout(60)
class TelemetryApiTest {

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClass();

  private static String q(String text) {
    return URLEncoder.encode(text, StandardCharsets.UTF_8);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "?start=-30m", "?start=-24h&stop=now()", "?start=-7d&metric=voltage_dc",
      "?start=2026-02-12T10:00:00Z&stop=2026-02-12T12:00:00%2B01:00", "?start=-1500ms&stop=-1s", "?start=-2w"})
  void acceptedTimeRangesAnswerAnArray(String query) {
    Reply reply = platform.get("/api/devices/dc-meter-001/metrics" + query);
    assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
    assertThat(reply.array()).isNotNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {"yesterday", "-1y", "1h", "-h", "now", "2026-02-12", "2026-02-12T10:00:00",
      "-1h) |> drop()", "-999999999d"})
  void refusedStartsNameTheParameter(String start) {
    Reply reply = platform.get("/api/devices/dc-meter-001/metrics?start=" + q(start));
    assertThat(reply.status()).as(start).isEqualTo(400);
    assertThat(reply.error()).contains("start");
  }

  @Test
  void startMustBeBeforeStop() {
    Reply reply = platform.get("/api/devices/dc-meter-001/metrics?start=-1h&stop=-2h");
    assertThat(reply.status()).isEqualTo(400);
    assertThat(reply.error()).contains("start").contains("stop");
  }

  @ParameterizedTest
  @ValueSource(strings = {"voltage\" or 1=1", "r._measurement", "x y", "../etc", "_hidden"})
  void hostileMetricNamesAreRefused(String metric) {
    Reply reply = platform.get("/api/devices/dc-meter-001/metrics?metric=" + q(metric));
    if (metric.equals("r._measurement")) {
      assertThat(reply.status()).as("dots are allowed in names; the value is bound, never pasted").isEqualTo(200);
    } else {
      assertThat(reply.status()).as(metric).isEqualTo(400);
      assertThat(reply.error()).contains("metric");
    }
  }

  /**
   * The reference reads its stores, not its registry: for a device it never saw, metrics,
   * raw data and alerts are an empty list (its own example client reads device-001 before any
   * meter sent); the device itself and its status stay 404, as there.
   */
  @Test
  void aDeviceNeverSeenHasEmptyListsAsInTheReferenceButNoStatus() {
    for (String path : new String[] {"/metrics", "/metrics?metric=power_active", "/metrics?limit=10", "/metrics?metric=energy_active",
        "/raw-data", "/alerts"}) {
      Reply reply = platform.get("/api/devices/nobody" + path);
      assertThat(reply.status()).as(path + ": " + reply).isEqualTo(200);
      assertThat(reply.array()).as(path).isEmpty();
    }
    assertThat(platform.get("/api/devices/nobody").status()).isEqualTo(404);
    assertThat(platform.get("/api/devices/nobody/status").status()).isEqualTo(404);
  }

  @ParameterizedTest
  @ValueSource(strings = {"?limit=1", "?limit=1000", "?limit=100&prefix=telemetry/", "?prefix=hello/2026-02-12"})
  void acceptedRawDataQueries(String query) {
    Reply reply = platform.get("/api/devices/dc-meter-001/raw-data" + query);
    assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
    assertThat(reply.array()).isNotNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {"?limit=0", "?limit=1001", "?limit=-5", "?limit=ten", "?limit=1e3", "?prefix=../dc-meter-002",
      "?prefix=/etc", "?prefix=%2A", "?limit=1&limit=2"})
  void refusedRawDataQueries(String query) {
    Reply reply = platform.get("/api/devices/dc-meter-001/raw-data" + query);
    assertThat(reply.status()).as(query).isEqualTo(400);
    assertThat(reply.error()).containsAnyOf("limit", "prefix");
  }
}
