package io.iotmeter.api;

import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.TestMeter;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Reads of the metrics API are bounded: a cap with a clear 400 beyond it, and pages with a cursor. */
@Timeout(90)
class MetricsPagingTest {

  private static final String RANGE = "/api/devices/dc-meter-002/metrics?start=2026-02-12T09:00:00Z&stop=2026-02-12T11:00:00Z";

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClassWith(() -> {
    JsonObject config = RunningPlatform.ingestConfig();
    config.getJsonObject("http").put("max_metric_points", 10);
    return config;
  });

  private static List<String> keys(JsonArray points) {
    List<String> keys = new ArrayList<>();
    points.forEach(o -> keys.add(((JsonObject) o).getString("time") + " " + ((JsonObject) o).getString("metric")));
    return keys;
  }

  @Test
  void aRangeOverTheCapIsRefusedAndPagesWalkItWhole() {
    try (TestMeter meter = TestMeter.connect(platform.vertx(), platform.mqttPort(), "dc-meter-002", false)) {
      for (long seq = 0; seq < 5; seq++) {
        meter.send("iot/dc-meter-002/telemetry", Datagrams.telemetry("dc-meter-002", seq), 1);
      }
    }
    // 5 datagrams × (voltage, current, derived power) = 15 points; the cap is 10.
    List<String> expected = new ArrayList<>();
    for (String metric : List.of("voltage_dc", "current_dc", "power_active")) {
      JsonArray one = Eventually.value(Duration.ofSeconds(30), () -> platform.get(RANGE + "&metric=" + metric).array(), a -> a.size() == 5);
      expected.addAll(keys(one));
    }
    expected.sort(null);

    Reply whole = platform.get(RANGE);
    assertThat(whole.status()).isEqualTo(400);
    assertThat(whole.error()).contains("more than 10 points").contains("limit");

    List<String> paged = new ArrayList<>();
    String cursor = null;
    int pages = 0;
    do {
      Reply page = platform.get(RANGE + "&limit=4" + (cursor == null ? "" : "&after=" + cursor));
      assertThat(page.status()).as(page.toString()).isEqualTo(200);
      assertThat(page.array().size()).isLessThanOrEqualTo(4);
      paged.addAll(keys(page.array()));
      cursor = platform.lastHeader("X-Next-Cursor");
      if (cursor != null) {
        assertThat(platform.lastHeader("Link")).contains("after=" + cursor).contains("rel=\"next\"").contains("limit=4");
      }
      pages++;
    } while (cursor != null && pages < 10);
    assertThat(pages).isEqualTo(4);
    assertThat(paged).isEqualTo(expected).doesNotHaveDuplicates();
    Set<String> times = new HashSet<>();
    paged.forEach(k -> times.add(k.split(" ")[0]));
    assertThat(times).hasSize(5);
  }

  @Test
  void badPagingParametersAre400() {
    assertThat(platform.get(RANGE + "&limit=0").status()).isEqualTo(400);
    assertThat(platform.get(RANGE + "&limit=11").status()).isEqualTo(400);
    assertThat(platform.get(RANGE + "&limit=2&after=not-a-cursor").error()).contains("after");
    // A hand-made cursor cannot make a page load more than the cap allows (it skips at most the cap).
    java.util.Base64.Encoder base64 = java.util.Base64.getUrlEncoder().withoutPadding();
    String overCap = base64.encodeToString("2026-02-12T09:00:00Z|11".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    assertThat(platform.get(RANGE + "&limit=2&after=" + overCap).error()).contains("after");
    String atCap = base64.encodeToString("2026-02-12T09:00:00Z|10".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    assertThat(platform.get(RANGE + "&limit=2&after=" + atCap).status()).isEqualTo(200);
    assertThat(platform.get(RANGE + "&metric=energy_active_import&limit=5").error()).contains("Energy");
  }
}
