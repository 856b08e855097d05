package io.iotmeter.energy;

import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.iotmeter.support.TestMeter;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.mqtt.MqttClientOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Energy billing end to end, against the real servers (PostgreSQL, QuestDB, the MQTT endpoint
 * with security on): meters with known power profiles send over MQTT; the periods the energy
 * verticle compiles from the stored time series are read through the API. Periods of 10 s here
 * (the compilation is the same at 300 s), so that a live meter fills some in seconds.
 */
@Timeout(180)
class EnergyBillingTest {

  private static final Duration WAIT = Duration.ofSeconds(40);
  private static final long PERIOD_S = 10;
  /** A past morning: the meters' data arrives long after it was measured (late, as after an outage). */
  private static final Instant BASE = Instant.parse("2026-03-01T08:00:00Z");

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClassWith(() -> {
    JsonObject config = RunningPlatform.securedConfig();
    config.getJsonObject("energy").put("period_s", PERIOD_S).put("grace_s", 2).put("late_settle_s", 1)
        .put("compile_interval_ms", 200);
    config.getJsonObject("sinks").getJsonObject("timeseries").put("linger_ms", 100);
    return config;
  });
  private static final Vertx devices = Vertx.vertx();

  @AfterAll
  static void close() {
    devices.close().await();
  }

  private static RunningPlatform.As admin() {
    return platform.as(RunningPlatform.ADMIN_KEY);
  }

  /** Registers the meter with this metadata, issues its credentials and connects it. */
  private static TestMeter meter(String deviceId, JsonObject metadata) {
    Reply created = admin().post("/api/devices", new JsonObject().put("device_id", deviceId).put("device_name", deviceId)
        .put("metadata", metadata));
    assertThat(created.status()).as(created.toString()).isEqualTo(201);
    String password = platform.issueDeviceCredentials(deviceId);
    return TestMeter.connect(devices, platform.mqttPort(), new MqttClientOptions().setClientId(deviceId)
        .setCleanSession(true).setUsername(deviceId).setPassword(password));
  }

  /** Sends the samples at {@code times} in datagrams of ten, each stamped 200 ms after its last sample. */
  private static long sendSeconds(TestMeter meter, TractionProfile profile, String deviceId, long seq, List<Instant> times,
                                  boolean registers, double registerBase) {
    for (int from = 0; from < times.size(); from += 10) {
      List<Instant> chunk = times.subList(from, Math.min(times.size(), from + 10));
      meter.send("iot/" + deviceId + "/telemetry",
          profile.datagram(seq++, chunk.get(chunk.size() - 1).plusMillis(200), chunk, registers, registerBase), 1);
    }
    return seq;
  }

  private static JsonArray periods(String deviceId, Instant from, Instant to) {
    Reply reply = admin().get("/api/devices/" + deviceId + "/energy-periods?start=" + from + "&stop=" + to);
    assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
    return reply.array();
  }

  /** Waits until the meter has {@code count} periods in [from, to) matching {@code done}, and returns them. */
  private static List<JsonObject> compiled(String deviceId, Instant from, Instant to, int count,
                                           java.util.function.Predicate<JsonObject> done) {
    List<JsonObject> result = new ArrayList<>();
    Eventually.within(WAIT, () -> {
      List<JsonObject> list = periods(deviceId, from, to).stream().map(o -> (JsonObject) o).toList();
      assertThat(list).hasSize(count).allMatch(done);
      result.clear();
      result.addAll(list);
    });
    return result;
  }

  private static void assertKwh(double actual, double expected, double relative) {
    assertThat(actual).isCloseTo(expected, within(Math.max(relative * Math.abs(expected), 1e-6)));
  }

  @Test
  void aKnownProfileGivesTheAnalyticEnergyFromRegistersAndIntegratedFromPower() {
    // The profile's cycle starts 5 s before the first period: periods that draw, that draw and
    // feed back, that only feed back.
    Instant origin = BASE.minusSeconds(5);
    JsonObject metadata = new JsonObject().put("consumption_point_id", "CP-DE-0001").put("train_id", "ICE-4711")
        .put("car", 3).put("traction_system", "15kV_16.7Hz");
    try (TestMeter registers = meter("ebt-reg", metadata);
         TestMeter power = meter("ebt-pow", new JsonObject().put("train_id", "ICE-4711"))) {
      List<Instant> times = TractionProfile.seconds(BASE.minusSeconds(2), BASE.plusSeconds(33));
      sendSeconds(registers, new TractionProfile("ebt-reg", origin), "ebt-reg", 1, times, true, 1_000);
      sendSeconds(power, new TractionProfile("ebt-pow", origin), "ebt-pow", 1, times, false, 0);
    }
    TractionProfile profile = new TractionProfile("any", origin);
    Instant end = BASE.plusSeconds(3 * PERIOD_S);
    List<JsonObject> fromRegisters = compiled("ebt-reg", BASE, end, 3, p -> true);
    List<JsonObject> integrated = compiled("ebt-pow", BASE, end, 3, p -> true);
    for (int i = 0; i < 3; i++) {
      Instant start = BASE.plusSeconds(i * PERIOD_S);
      Instant stop = start.plusSeconds(PERIOD_S);
      JsonObject r = fromRegisters.get(i);
      assertThat(r.getString("period_start")).isEqualTo(start.toString());
      assertThat(r.getString("period_end")).isEqualTo(stop.toString());
      assertKwh(r.getDouble("active_import_kwh"), profile.kwh(start, stop, 1), 0.001);
      assertKwh(r.getDouble("active_export_kwh"), profile.kwh(start, stop, -1), 0.001);
      assertThat(r.getString("source")).isEqualTo("register");
      assertThat(r.getJsonObject("quality").getString("energy")).isEqualTo("measured");
      assertThat(r.getDouble("coverage_pct")).isEqualTo(100.0);
      assertThat(r.getString("consumption_point_id")).isEqualTo("CP-DE-0001");
      assertThat(r.getString("train_id")).isEqualTo("ICE-4711");
      assertThat(r.getInteger("version")).isEqualTo(1);
      assertThat(r.getString("reason")).isEqualTo("initial");
      // The last fix is the period's last second, 1 s before its end.
      assertThat(r.getJsonObject("quality").getString("location")).isEqualTo("valid");
      assertThat(r.getDouble("location_age_s")).isEqualTo(1.0);
      assertThat(r.getDouble("latitude")).isCloseTo(52.52 + (i * PERIOD_S + PERIOD_S - 1 + 5) * 1e-5, within(1e-7));
      assertThat(r.getDouble("longitude")).isEqualTo(13.40);
      // Measured months ago and delivered now: the platform could not confirm the meter's clock.
      assertThat(r.getJsonObject("quality").getString("time")).isEqualTo("invalid");

      JsonObject p = integrated.get(i);
      assertKwh(p.getDouble("active_import_kwh"), profile.kwh(start, stop, 1), 0.01);
      assertKwh(p.getDouble("active_export_kwh"), profile.kwh(start, stop, -1), 0.01);
      assertThat(p.getString("source")).isEqualTo("integrated");
      assertThat(p.getJsonObject("quality").getString("energy")).isEqualTo("estimated");
      assertThat(p.getString("consumption_point_id")).as("the device id without one").isEqualTo("ebt-pow");
      assertThat(p.getJsonObject("quality").getString("location")).isEqualTo("none");
    }
    assertThat(fromRegisters.get(1).getDouble("active_export_kwh")).as("the middle period draws and feeds back").isPositive();
    assertThat(fromRegisters.get(1).getDouble("active_import_kwh")).isPositive();

    // The train: both meters summed per period, as good as the worse of them.
    Reply train = admin().get("/api/trains/ICE-4711/energy?date=2026-03-01");
    assertThat(train.status()).as(train.toString()).isEqualTo(200);
    JsonObject first = train.json().getJsonArray("periods").stream().map(o -> (JsonObject) o)
        .filter(p -> p.getString("period_start").equals(BASE.toString())).findFirst().orElseThrow();
    assertThat(first.getInteger("meters")).isEqualTo(2);
    assertThat(first.getDouble("active_import_kwh")).isCloseTo(fromRegisters.get(0).getDouble("active_import_kwh")
        + integrated.get(0).getDouble("active_import_kwh"), within(1e-9));
    assertThat(first.getJsonObject("quality").getString("energy")).isEqualTo("estimated");
    assertThat(train.json().getJsonArray("meters")).containsExactly("ebt-pow", "ebt-reg");

    // The settlement export as CSV: a header, one line per period with the settlement codes.
    Reply csv = admin().get("/api/energy/export?date=2026-03-01&format=csv");
    assertThat(csv.status()).isEqualTo(200);
    assertThat(csv.contentType()).startsWith("text/csv");
    List<String> lines = csv.body().lines().toList();
    assertThat(lines.get(0)).isEqualTo(EnergyVersion.CSV_HEADER);
    String line = lines.stream().filter(l -> l.startsWith("CP-DE-0001,ebt-reg,ICE-4711," + BASE + ",")).findFirst().orElseThrow();
    assertThat(line).contains(",register,invalid,measured,valid,3D,7F,7F,1,initial,");
  }

  @Test
  void lateDataMakesVersionTwoAndVersionOneIsKeptUnchanged() {
    Instant start = BASE.plusSeconds(3600);
    TractionProfile profile = new TractionProfile("ebt-late", start.minusSeconds(5));
    try (TestMeter meter = meter("ebt-late", new JsonObject())) {
      // seq 1 and 3 first: the seconds 4 to 6 are missing, a gap longer than twice the cadence.
      sendSeconds(meter, profile, "ebt-late", 1, TractionProfile.seconds(start.minusSeconds(2), start.plusSeconds(4)), false, 0);
      sendSeconds(meter, profile, "ebt-late", 3, TractionProfile.seconds(start.plusSeconds(7), start.plusSeconds(13)), false, 0);
      JsonObject v1 = compiled("ebt-late", start, start.plusSeconds(PERIOD_S), 1, p -> true).get(0);
      assertThat(v1.getJsonObject("quality").getString("energy")).isEqualTo("incomplete");
      assertThat(v1.getDouble("coverage_pct")).isLessThan(100.0);
      assertThat(v1.getInteger("version")).isEqualTo(1);

      // The meter's buffer comes through later: seq 2 with the missing seconds.
      sendSeconds(meter, profile, "ebt-late", 2, TractionProfile.seconds(start.plusSeconds(4), start.plusSeconds(7)), false, 0);
      JsonObject v2 = compiled("ebt-late", start, start.plusSeconds(PERIOD_S), 1, p -> p.getInteger("version") == 2).get(0);
      assertThat(v2.getString("reason")).isEqualTo("late_data");
      assertThat(v2.getJsonObject("quality").getString("energy")).isEqualTo("estimated");
      assertThat(v2.getDouble("coverage_pct")).isEqualTo(100.0);
      assertKwh(v2.getDouble("active_import_kwh"), profile.kwh(start, start.plusSeconds(PERIOD_S), 1), 0.01);
      assertThat(v2.getDouble("active_import_kwh")).isGreaterThan(v1.getDouble("active_import_kwh"));

      Reply versions = admin().get("/api/devices/ebt-late/energy-periods/" + start + "/versions");
      assertThat(versions.status()).as(versions.toString()).isEqualTo(200);
      assertThat(versions.array()).hasSize(2);
      assertThat(versions.array().getJsonObject(0)).as("version 1 as it was").isEqualTo(v1);
      assertThat(versions.array().getJsonObject(1)).isEqualTo(v2);

      // A settlement system that fetched up to version 1 gets version 2 alone.
      JsonObject all = admin().get("/api/energy/export?date=2026-03-01").json();
      long v2Change = changeOf(all, "ebt-late", start);
      assertThat(rowsOf(admin().get("/api/energy/export?date=2026-03-01&since=" + (v2Change - 1)).json(), "ebt-late"))
          .extracting(p -> p.getInteger("version")).containsExactly(2);
      Reply after = admin().get("/api/energy/export?date=2026-03-01&since=" + v2Change);
      assertThat(rowsOf(after.json(), "ebt-late")).isEmpty();
      assertThat(platform.lastHeader("X-Next-Since")).isNotNull();
    }
  }

  private static List<JsonObject> rowsOf(JsonObject export, String deviceId) {
    return export.getJsonArray("periods").stream().map(o -> (JsonObject) o).filter(p -> p.getString("device_id").equals(deviceId))
        .collect(Collectors.toList());
  }

  private static long changeOf(JsonObject export, String deviceId, Instant start) {
    return rowsOf(export, deviceId).stream().filter(p -> p.getString("period_start").equals(start.toString())).findFirst()
        .orElseThrow().getLong("change_id");
  }

  @Test
  void aRegisterThatRestartsFromZeroAtAMeterResetCountsOnAndOneThatDropsOtherwiseIsInvalid() {
    Instant start = BASE.plusSeconds(7200);
    TractionProfile profile = new TractionProfile("ebt-reset", start.minusSeconds(5));
    Instant restart = start.plusMillis(4_500);
    try (TestMeter meter = meter("ebt-reset", new JsonObject())) {
      long seq = sendSeconds(meter, profile, "ebt-reset", 100, TractionProfile.seconds(start.minusSeconds(2), start.plusSeconds(5)),
          true, 500);
      assertThat(seq).isEqualTo(101);
      // Restarted at 4.5 s: seq from 1 again, the registers count from zero.
      TractionProfile afterRestart = new TractionProfile("ebt-reset", restart) {
        @Override
        double kwh(Instant t, int sign) {
          return profile.kwh(restart, t, sign);
        }
      };
      sendSeconds(meter, afterRestart, "ebt-reset", 1, TractionProfile.seconds(start.plusSeconds(5), start.plusSeconds(13)),
          true, 0);
    }
    JsonObject period = compiled("ebt-reset", start, start.plusSeconds(PERIOD_S), 1, p -> true).get(0);
    double expected = profile.kwh(start, start.plusSeconds(4), 1) + profile.kwh(restart, start.plusSeconds(PERIOD_S), 1);
    assertKwh(period.getDouble("active_import_kwh"), expected, 0.001);
    assertThat(period.getString("source")).isEqualTo("register");
    assertThat(period.getJsonObject("quality").getString("energy")).as("across a reset").isEqualTo("estimated");

    Instant other = BASE.plusSeconds(7300);
    TractionProfile dropping = new TractionProfile("ebt-drop", other.minusSeconds(5)) {
      @Override
      double kwh(Instant t, int sign) {
        double kwh = super.kwh(t, sign);
        return t.isBefore(other.plusSeconds(5)) ? kwh : kwh - 1;
      }
    };
    try (TestMeter meter = meter("ebt-drop", new JsonObject())) {
      sendSeconds(meter, dropping, "ebt-drop", 1, TractionProfile.seconds(other.minusSeconds(2), other.plusSeconds(13)), true, 50);
    }
    JsonObject invalid = compiled("ebt-drop", other, other.plusSeconds(PERIOD_S), 1, p -> true).get(0);
    assertThat(invalid.getJsonObject("quality").getString("energy")).as("backwards without a reset").isEqualTo("invalid");
  }

  @Test
  void aLiveMeterInStepHasValidTimeOneWhoseClockIsAheadOrIsSetBackInvalid() throws Exception {
    Instant until = Instant.now().plusSeconds(3 * PERIOD_S + 2);
    TractionProfile live = new TractionProfile("ebt-live", Instant.now());
    TractionProfile ahead = new TractionProfile("ebt-ahead", Instant.now());
    TractionProfile jumping = new TractionProfile("ebt-jump", Instant.now());
    Instant first = Instant.now();
    // The first period the meters cover from start to end; the third meter's clock is set back by 5 s 18 s into it.
    Instant from = Instant.ofEpochSecond((first.getEpochSecond() / PERIOD_S + 1) * PERIOD_S);
    Instant jump = from.plusSeconds(18);
    try (TestMeter inStep = meter("ebt-live", new JsonObject()); TestMeter fast = meter("ebt-ahead", new JsonObject());
         TestMeter setBack = meter("ebt-jump", new JsonObject())) {
      long seq = 1;
      while (Instant.now().isBefore(until)) {
        Instant now = Instant.now();
        inStep.send("iot/ebt-live/telemetry", live.datagram(seq, now, List.of(now), true, 0), 1);
        Instant skewed = now.plusSeconds(5);
        fast.send("iot/ebt-ahead/telemetry", ahead.datagram(seq, skewed, List.of(skewed), false, 0), 1);
        Instant clock = now.isBefore(jump) ? now : now.minusSeconds(5);
        setBack.send("iot/ebt-jump/telemetry", jumping.datagram(seq, clock, List.of(clock), false, 0), 1);
        seq++;
        Thread.sleep(1000 - Instant.now().toEpochMilli() % 1000);
      }
    }
    List<JsonObject> inStep = compiled("ebt-live", from, from.plusSeconds(2 * PERIOD_S), 2, p -> true);
    assertThat(inStep).allSatisfy(p -> {
      assertThat(p.getJsonObject("quality").getString("time")).isEqualTo("valid");
      assertThat(p.getJsonObject("quality").getString("energy")).isEqualTo("measured");
    });
    List<JsonObject> fast = compiled("ebt-ahead", from.plusSeconds(5), from.plusSeconds(5 + 2 * PERIOD_S), 2, p -> true);
    assertThat(fast).allSatisfy(p -> assertThat(p.getJsonObject("quality").getString("time")).isEqualTo("invalid"));
    // Before the jump in step; the period the clock went back in is invalid (its latest version: late
    // datagrams of the set-back clock may have made more than one).
    List<JsonObject> jumped = compiled("ebt-jump", from, from.plusSeconds(2 * PERIOD_S), 2,
        p -> !p.getString("period_start").equals(from.plusSeconds(PERIOD_S).toString())
            || p.getJsonObject("quality").getString("time").equals("invalid"));
    assertThat(jumped.get(0).getJsonObject("quality").getString("time")).isEqualTo("valid");
  }

  @Test
  void theBillingMetadataIsCheckedAndTheCompletenessReportCountsEachMetersPeriods() {
    Reply tooLong = admin().post("/api/devices", new JsonObject().put("device_id", "ebt-bad").put("device_name", "x")
        .put("metadata", new JsonObject().put("consumption_point_id", "C".repeat(33))));
    assertThat(tooLong.status()).isEqualTo(400);
    assertThat(tooLong.error()).contains("consumption_point_id");
    Reply traction = admin().post("/api/devices", new JsonObject().put("device_id", "ebt-bad").put("device_name", "x")
        .put("metadata", new JsonObject().put("traction_system", "9kV")));
    assertThat(traction.status()).isEqualTo(400);
    assertThat(traction.error()).contains("25kV_50Hz");
    Reply changed = admin().put("/api/devices/dc-meter-001", new JsonObject().put("metadata", new JsonObject()
        .put("consumption_point_id", "bad\u0001id")));
    assertThat(changed.status()).isEqualTo(400);

    Instant start = BASE.plusSeconds(10_800);
    TractionProfile profile = new TractionProfile("ebt-count", start);
    try (TestMeter meter = meter("ebt-count", new JsonObject())) {
      // Two periods, then nothing until the day's end.
      sendSeconds(meter, profile, "ebt-count", 1, TractionProfile.seconds(start, start.plusSeconds(2 * PERIOD_S + 1)), true, 0);
    }
    compiled("ebt-count", start, start.plusSeconds(2 * PERIOD_S + 10), 3, p -> true);
    Reply report = platform.as(platform.newKey("energy-viewer", "viewer")).get("/api/energy/completeness?date=2026-03-01");
    assertThat(report.status()).as(report.toString()).isEqualTo(200);
    JsonObject meter = report.json().getJsonArray("meters").stream().map(o -> (JsonObject) o)
        .filter(m -> m.getString("device_id").equals("ebt-count")).findFirst().orElseThrow();
    long toDayEnd = (Instant.parse("2026-03-02T00:00:00Z").getEpochSecond() - start.getEpochSecond()) / PERIOD_S;
    assertThat(meter.getLong("expected")).isEqualTo(toDayEnd);
    assertThat(meter.getLong("compiled")).isEqualTo(3);
    assertThat(meter.getLong("missing")).isEqualTo(toDayEnd - 3);
    assertThat(meter.getJsonObject("energy").getLong("measured")).isEqualTo(2);
    assertThat(report.json().getJsonObject("totals").getLong("expected")).isGreaterThanOrEqualTo(toDayEnd);
    assertThat(admin().get("/api/energy/completeness?date=2026-13-01").status()).isEqualTo(400);
  }
}
