package io.iotmeter.reliability;

import io.iotmeter.archive.ObjectStore;
import io.iotmeter.archive.ObjectStores;
import io.iotmeter.archive.StoredObject;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.SettledStores;
import io.iotmeter.support.TestMeter;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A poison message in the journal (one an older platform accepted, which a store cannot take)
 * does not stop its sink: it is quarantined with its reason, archived under _quarantine/,
 * counted, alerted once, listed and replayable, while the messages behind it are stored. A
 * message refused at the intake leaves its trace under _rejected/.
 */
@Timeout(120)
class QuarantineTest {

  private static final Duration WAIT = Duration.ofSeconds(30);

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClassWith(() -> {
    JsonObject config = RunningPlatform.ingestConfig();
    config.getJsonObject("sinks").getJsonObject("archive").put("evidence_interval_ms", 200);
    config.getJsonObject("intake").put("prune_interval_ms", 200);
    return config;
  });

  /** A journal row as an older version might have written it: a unit with a line break. */
  private static long poisonInJournal(long seq) {
    JsonObject poison = Datagrams.telemetry("dc-meter-002", seq);
    poison.getJsonArray("measurements").getJsonObject(0).put("unit", "V\n");
    String payload = poison.encode().replace("'", "''");
    TestPostgres.execute(platform.postgres(), "INSERT INTO journal (id, device_id, category, epoch, seq, device_ts, topic, "
        + "payload, qos, source, received_at, sinks) VALUES (nextval('journal_id_seq'), 'dc-meter-002', 'telemetry', 0, " + seq
        + ", now(), 'iot/dc-meter-002/telemetry', '" + payload + "', 2, 'endpoint', now(), 7)");
    return TestPostgres.count(platform.postgres(), "SELECT max(id) FROM journal WHERE device_id = 'dc-meter-002'");
  }

  private static List<String> keys(String prefix) {
    try (ObjectStore store = ObjectStores.open(platform.config().getJsonObject("s3"))) {
      return store.list(prefix, 1000).stream().map(StoredObject::key).toList();
    }
  }

  private static JsonObject object(String key) {
    try (ObjectStore store = ObjectStores.open(platform.config().getJsonObject("s3"))) {
      return new JsonObject(new String(store.get(key), StandardCharsets.UTF_8));
    }
  }

  private static JsonArray quarantined(String query) {
    Reply reply = platform.get("/api/quarantine" + query);
    assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
    return reply.array();
  }

  @Test
  void aPoisonMessageIsQuarantinedWhileTheMessagesBehindItAreStored() {
    long poison = poisonInJournal(1000);
    try (TestMeter meter = TestMeter.connect(platform.vertx(), platform.mqttPort(), "dc-meter-002", true)) {
      for (long seq = 0; seq < 5; seq++) {
        meter.send("iot/dc-meter-002/telemetry", Datagrams.telemetry("dc-meter-002", seq), 1);
      }
    }

    // Quarantined once: counted after the listing stayed the same past a sink's linger and recovery
    // interval (a second quarantine of the row, by a retry or a recovery scan, would show).
    JsonArray rows = Eventually.settled(WAIT, SettledStores.interval(platform.config()), () -> quarantined("?device_id=dc-meter-002"),
        a -> a.size() >= 1);
    assertThat(rows).hasSize(1);
    JsonObject row = rows.getJsonObject(0);
    assertThat(row.getString("sink")).isEqualTo("timeseries");
    assertThat(row.getLong("journal_id")).isEqualTo(poison);
    assertThat(row.getString("reason")).contains("measurements[0].unit");
    assertThat(row.getString("replayed_at")).isNull();

    // Every message behind it is in the time series (5 datagrams × 2 samples), and the poison's
    // other sinks took it: only the time-series sink gave it up.
    String range = "?start=2026-02-12T09:00:00Z&stop=2026-02-12T11:00:00Z&metric=voltage_dc";
    Eventually.within(WAIT, () -> assertThat(platform.get("/api/devices/dc-meter-002/metrics" + range).array()).hasSize(5));
    Eventually.within(WAIT, () -> assertThat(TestPostgres.count(platform.postgres(),
        "SELECT count(*) FROM journal_waiting WHERE device_id = 'dc-meter-002'")).isZero());
    assertThat(keys("dc-meter-002/telemetry/")).isNotEmpty();

    // Archived under _quarantine/ with the reason and the bytes; counted; alerted once.
    long id = row.getLong("id");
    String key = Eventually.value(WAIT, () -> keys("_quarantine/dc-meter-002/"), k -> !k.isEmpty()).get(0);
    assertThat(key).startsWith("_quarantine/dc-meter-002/telemetry/").endsWith("_" + id + ".json");
    JsonObject evidence = object(key);
    assertThat(evidence.getString("reason")).isEqualTo(row.getString("reason"));
    assertThat(new JsonObject(evidence.getString("payload")).getLong("seq")).isEqualTo(1000);
    Eventually.within(WAIT, () -> assertThat(quarantined("?device_id=dc-meter-002").getJsonObject(0).getString("archive_key")).isEqualTo(key));
    assertThat(platform.get("/metrics").body()).contains("mqtt_collector_messages_errors_total{error_type=\"quarantined\"} 1.0")
        .containsPattern("mqtt_collector_quarantine_messages [1-9]");
    JsonArray alerts = platform.get("/api/devices/dc-meter-002/alerts").array();
    assertThat(alerts.stream().map(a -> ((JsonObject) a).getString("alert_type")).filter("message_quarantined"::equals)).hasSize(1);

    // One message with its payload.
    JsonObject one = platform.get("/api/quarantine/" + id).json();
    assertThat(new JsonObject(one.getString("payload")).getLong("seq")).isEqualTo(1000);

    // Replay: it goes back to the time-series sink, which (not fixed) quarantines it anew.
    Reply replay = platform.post("/api/quarantine/" + id + "/replay", null);
    assertThat(replay.status()).as(replay.toString()).isEqualTo(202);
    long replayJournalId = replay.json().getLong("journal_id");
    assertThat(replay.json().getString("sink")).isEqualTo("timeseries");
    assertThat(platform.post("/api/quarantine/" + id + "/replay", null).status()).isEqualTo(409);
    assertThat(platform.get("/api/quarantine/" + id).json().getString("replayed_at")).isNotNull();
    JsonArray again = Eventually.settled(WAIT, SettledStores.interval(platform.config()),
        () -> quarantined("?device_id=dc-meter-002&replayed=false"), a -> a.size() >= 1);
    assertThat(again).as("quarantined anew, once").hasSize(1);
    assertThat(again.getJsonObject(0).getLong("journal_id")).isEqualTo(replayJournalId);
    assertThat(again.getJsonObject(0).getLong("id")).isNotEqualTo(id);
    Eventually.within(WAIT, () -> assertThat(TestPostgres.count(platform.postgres(),
        "SELECT count(*) FROM journal_waiting WHERE id = " + replayJournalId)).isZero());
    // Still one alert within the hour.
    assertThat(platform.get("/api/devices/dc-meter-002/alerts").array().stream()
        .map(a -> ((JsonObject) a).getString("alert_type")).filter("message_quarantined"::equals)).hasSize(1);
  }

  @Test
  void aMessageRefusedAtTheIntakeIsKeptUnderRejected() {
    JsonObject bad = Datagrams.telemetry("dc-meter-003", 1);
    bad.getJsonArray("measurements").getJsonObject(0).put("unit", "k V");
    try (TestMeter meter = TestMeter.connect(platform.vertx(), platform.mqttPort(), "dc-meter-003", true)) {
      meter.send("iot/dc-meter-003/telemetry", bad, 1);
      meter.send("iot/dc-meter-003/telemetry", io.vertx.core.buffer.Buffer.buffer(new byte[] {(byte) 0xff, 0, 1}), 1);
    }
    JsonArray rows = Eventually.value(WAIT, () -> quarantined("?kind=rejected&device_id=dc-meter-003"), a -> a.size() == 2);
    Set<String> types = rows.stream().map(r -> ((JsonObject) r).getString("error_type")).collect(Collectors.toSet());
    assertThat(types).containsExactlyInAnyOrder("invalid_payload", "json_decode");
    JsonObject invalid = rows.stream().map(r -> (JsonObject) r).filter(r -> r.getString("error_type").equals("invalid_payload"))
        .findFirst().orElseThrow();
    assertThat(invalid.getString("reason")).contains("measurements[0].unit");

    List<String> keys = Eventually.value(WAIT, () -> keys("_rejected/dc-meter-003/"), k -> k.size() == 2);
    List<JsonObject> objects = keys.stream().map(QuarantineTest::object).toList();
    assertThat(objects).anySatisfy(o -> assertThat(new JsonObject(o.getString("payload")).getLong("seq")).isEqualTo(1));
    assertThat(objects).anySatisfy(o -> assertThat(o.getString("payload_base64")).isEqualTo("/wAB"));
    // Refused by validation: nothing to replay.
    assertThat(platform.post("/api/quarantine/" + invalid.getLong("id") + "/replay", null).status()).isEqualTo(409);
  }

  @Test
  void listingValidatesItsParametersAndUnknownIdsAre404() {
    assertThat(platform.get("/api/quarantine?kind=other").status()).isEqualTo(400);
    assertThat(platform.get("/api/quarantine?sink=queue").status()).isEqualTo(400);
    assertThat(platform.get("/api/quarantine?limit=0").status()).isEqualTo(400);
    assertThat(platform.get("/api/quarantine?limit=1001").status()).isEqualTo(400);
    assertThat(platform.get("/api/quarantine?before=x").status()).isEqualTo(400);
    assertThat(platform.get("/api/quarantine?device_id=a%20b").status()).isEqualTo(400);
    assertThat(platform.get("/api/quarantine/999999").status()).isEqualTo(404);
    assertThat(platform.get("/api/quarantine/abc").status()).isEqualTo(404);
    assertThat(platform.post("/api/quarantine/999999/replay", null).status()).isEqualTo(404);
    assertThat(platform.get("/api/quarantine?limit=1&before=1").array()).isEmpty();
  }
}
