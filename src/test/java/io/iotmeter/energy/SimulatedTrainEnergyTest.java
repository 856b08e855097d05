package io.iotmeter.energy;

import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.RunningPlatform.Reply;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The simulator's train end to end, security on: its two traction meters register with their
 * billing metadata, send registers and positions, and their periods come out measured, in time,
 * located, and summed for the train. Periods of 10 s.
 */
@Timeout(120)
class SimulatedTrainEnergyTest {

  private static final Duration WAIT = Duration.ofSeconds(60);

  @RegisterExtension
  static final RunningPlatform platform = RunningPlatform.perClassWith(() -> {
    JsonObject config = RunningPlatform.securedConfig();
    config.getJsonObject("deploy").put("simulator", 1);
    config.getJsonObject("simulator").put("meters", new JsonArray()).put("send_interval_s", 2)
        .put("trains", new JsonArray().add(new JsonObject().put("train_id", "ICE-9").put("meters", 2)));
    config.getJsonObject("energy").put("period_s", 10).put("grace_s", 3).put("late_settle_s", 1).put("compile_interval_ms", 200);
    config.getJsonObject("sinks").getJsonObject("timeseries").put("linger_ms", 100);
    return config;
  });

  /** The registration the simulator asks for: a known device is left as it is, bad metadata refused. */
  @Test
  void registeringADeviceLeavesAKnownOneAsItIsAndRefusesBadMetadata() {
    var bus = platform.vertx().eventBus();
    JsonObject again = bus.<JsonObject>request(io.iotmeter.bus.BusAddress.IDENTITY_MANAGE.address(), new JsonObject()
        .put("action", "register_device").put("device_id", "dc-meter-001").put("metadata", new JsonObject().put("train_id", "X")))
        .await().body();
    assertThat(again.getBoolean("registered")).isFalse();
    assertThat(platform.as(RunningPlatform.ADMIN_KEY).get("/api/devices/dc-meter-001").json().getJsonObject("metadata")
        .getString("train_id")).isNotEqualTo("X");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> bus.request(io.iotmeter.bus.BusAddress.IDENTITY_MANAGE.address(),
            new JsonObject().put("action", "register_device").put("device_id", "new-meter")
                .put("metadata", new JsonObject().put("traction_system", "9kV"))).await())
        .hasMessageContaining("traction_system");
    assertThat(platform.as(RunningPlatform.ADMIN_KEY).get("/api/devices/new-meter").status()).isEqualTo(404);
  }

  @Test
  void aSimulatedTrainsMetersGiveMeasuredLocatedPeriodsAndTheTrainsSum() {
    RunningPlatform.As admin = platform.as(RunningPlatform.ADMIN_KEY);
    Instant started = Instant.now();
    JsonObject device = Eventually.value(WAIT, () -> admin.get("/api/devices/ICE-9-m2"), r -> r.status() == 200).json();
    assertThat(device.getString("device_type")).isEqualTo("traction_meter_dc");
    assertThat(device.getJsonObject("metadata")).isEqualTo(new JsonObject().put("train_id", "ICE-9").put("car", 2)
        .put("traction_system", "3kV_DC").put("consumption_point_id", "CP-ICE-9-m2"));

    // Two periods the meters covered from start to end (the first began before they ran).
    Instant from = Instant.ofEpochSecond((started.getEpochSecond() / 10 + 2) * 10);
    for (String meter : List.of("ICE-9-m1", "ICE-9-m2")) {
      Eventually.within(WAIT, () -> {
        JsonArray periods = admin.get("/api/devices/" + meter + "/energy-periods?start=" + from + "&stop=" + from.plusSeconds(20))
            .array();
        assertThat(periods).hasSize(2);
        for (Object o : periods) {
          JsonObject p = (JsonObject) o;
          assertThat(p.getString("source")).isEqualTo("register");
          assertThat(p.getJsonObject("quality")).isEqualTo(new JsonObject().put("time", "valid").put("energy", "measured")
              .put("location", "valid"));
          assertThat(p.getDouble("coverage_pct")).isEqualTo(100.0);
          assertThat(p.getString("consumption_point_id")).isEqualTo("CP-" + meter);
          assertThat(p.getDouble("latitude")).isBetween(52.5, 53.6);
          assertThat(p.getDouble("active_import_kwh") + p.getDouble("active_export_kwh")).as("a train in service").isPositive();
        }
      });
    }
    Reply train = admin.get("/api/trains/ICE-9/energy?date=" + LocalDate.now(ZoneOffset.UTC));
    assertThat(train.status()).isEqualTo(200);
    assertThat(train.json().getJsonArray("meters")).containsExactly("ICE-9-m1", "ICE-9-m2");
    JsonObject first = train.json().getJsonArray("periods").stream().map(o -> (JsonObject) o)
        .filter(p -> p.getString("period_start").equals(from.toString())).findFirst().orElseThrow();
    assertThat(first.getInteger("meters")).isEqualTo(2);
    assertThat(first.getJsonObject("quality").getString("energy")).isEqualTo("measured");
  }
}
