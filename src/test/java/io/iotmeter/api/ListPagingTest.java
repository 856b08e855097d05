package io.iotmeter.api;

import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A device's alerts and commands are bounded reads: pages of limit with a cursor that walk the
 * list whole, newest first, without a row twice (rows of one instant included); the unpaged list
 * as the reference answers up to its cap, a clear 400 beyond it.
 */
@Timeout(90)
class ListPagingTest {

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClass();

  @BeforeAll
  static void seed() {
    platform.post("/api/devices", new JsonObject().put("device_id", "paged-dev").put("device_name", "Paged"));
    platform.post("/api/devices", new JsonObject().put("device_id", "crowded-dev").put("device_name", "Crowded"));
    // 25 alerts, 10 of them at one instant (a batch), and 7 commands.
    TestPostgres.execute(platform.postgres(), "INSERT INTO device_alerts (device_id, alert_type, severity, message, created_at) "
        + "SELECT 'paged-dev', 'test', 'info', 'alert ' || n, CASE WHEN n <= 10 THEN timestamptz '2026-12-01T10:00:00Z' "
        + "ELSE timestamptz '2026-12-01T10:00:00Z' + n * interval '1 second' END FROM generate_series(1, 25) n");
    TestPostgres.execute(platform.postgres(), "INSERT INTO device_commands (cmd_id, device_id, cmd, params, status, created_at) "
        + "SELECT gen_random_uuid(), 'paged-dev', 'request_status', '{}', 'pending', timestamptz '2026-12-01T10:00:00Z' "
        + "+ n * interval '1 ms' FROM generate_series(1, 7) n");
    // One more than the unpaged cap.
    TestPostgres.execute(platform.postgres(), "INSERT INTO device_alerts (device_id, alert_type, severity, message) "
        + "SELECT 'crowded-dev', 'test', 'info', 'x' FROM generate_series(1, " + (Paging.MAX_UNPAGED + 1) + ")");
  }

  private static List<Long> ids(JsonArray rows) {
    List<Long> ids = new ArrayList<>();
    rows.forEach(r -> ids.add(((JsonObject) r).getLong("id")));
    return ids;
  }

  private static List<Long> walk(String path, int limit) {
    List<Long> seen = new ArrayList<>();
    String cursor = null;
    int pages = 0;
    do {
      Reply page = platform.get(path + (path.contains("?") ? "&" : "?") + "limit=" + limit + (cursor == null ? "" : "&after=" + cursor));
      assertThat(page.status()).as(page.toString()).isEqualTo(200);
      assertThat(page.array().size()).isLessThanOrEqualTo(limit);
      seen.addAll(ids(page.array()));
      cursor = platform.lastHeader("X-Next-Cursor");
      if (cursor != null) {
        assertThat(platform.lastHeader("Link")).contains("after=" + cursor).contains("limit=" + limit).contains("rel=\"next\"");
      }
      pages++;
    } while (cursor != null && pages < 100);
    return seen;
  }

  @Test
  void pagesWalkAlertsAndCommandsWholeInTheUnpagedOrder() {
    Reply whole = platform.get("/api/devices/paged-dev/alerts");
    assertThat(whole.status()).isEqualTo(200);
    assertThat(whole.array()).hasSize(25);
    assertThat(platform.lastHeader("X-Next-Cursor")).isNull();
    assertThat(walk("/api/devices/paged-dev/alerts", 4)).isEqualTo(ids(whole.array())).doesNotHaveDuplicates();
    assertThat(walk("/api/devices/paged-dev/alerts?acknowledged=false", 25)).isEqualTo(ids(whole.array()));

    Reply commands = platform.get("/api/devices/paged-dev/commands");
    assertThat(commands.array()).hasSize(7);
    assertThat(walk("/api/devices/paged-dev/commands", 3)).isEqualTo(ids(commands.array())).doesNotHaveDuplicates();
  }

  @Test
  void theUnpagedListIsCappedAndBadPagingIsRefused() {
    Reply crowded = platform.get("/api/devices/crowded-dev/alerts");
    assertThat(crowded.status()).isEqualTo(400);
    assertThat(crowded.error()).contains("more than 10000 alerts").contains("limit");
    assertThat(platform.get("/api/devices/crowded-dev/alerts?limit=1000").array()).hasSize(1000);
    assertThat(platform.get("/api/devices/paged-dev/alerts?limit=0").status()).isEqualTo(400);
    assertThat(platform.get("/api/devices/paged-dev/alerts?limit=1001").status()).isEqualTo(400);
    assertThat(platform.get("/api/devices/paged-dev/commands?after=not-a-cursor").error()).contains("after");
    String handMade = Base64.getUrlEncoder().withoutPadding().encodeToString("2999-01-01T00:00:00Z|-5".getBytes(StandardCharsets.US_ASCII));
    assertThat(platform.get("/api/devices/paged-dev/alerts?after=" + handMade).status()).isEqualTo(400);
    // A cursor without limit pages by the largest page.
    String future = Base64.getUrlEncoder().withoutPadding().encodeToString("2999-01-01T00:00:00Z|0".getBytes(StandardCharsets.US_ASCII));
    Reply fromFuture = platform.get("/api/devices/crowded-dev/alerts?after=" + future);
    assertThat(fromFuture.array()).hasSize(Paging.MAX_PAGE);
  }
}
