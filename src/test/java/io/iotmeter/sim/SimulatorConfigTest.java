package io.iotmeter.sim;

import io.iotmeter.config.StartupException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The {@code simulator} configuration section: meters, generated ids, brokers, and mistakes named by key. */
class SimulatorConfigTest {

  private static JsonObject root(JsonObject simulator) {
    return new JsonObject().put("mqtt", new JsonObject().put("port", 1883)).put("simulator", simulator);
  }

  @Test
  void explicitMetersComeFirstThenGeneratedOnesSplitByTheDcRatio() {
    SimulatorConfig config = SimulatorConfig.from(root(new JsonObject()
        .put("meters", new JsonArray().add(new JsonObject().put("device_id", "dc-meter-001").put("type", "dc"))
            .add(new JsonObject().put("device_id", "ac-meter-001").put("type", "AC")))
        .put("count", 5).put("dc_ratio", 0.6)));
    assertThat(config.meters()).containsExactly(
        new MeterSpec("dc-meter-001", MeterType.DC), new MeterSpec("ac-meter-001", MeterType.AC),
        new MeterSpec("sim-dc-0001", MeterType.DC), new MeterSpec("sim-dc-0002", MeterType.DC),
        new MeterSpec("sim-dc-0003", MeterType.DC), new MeterSpec("sim-ac-0001", MeterType.AC),
        new MeterSpec("sim-ac-0002", MeterType.AC));
  }

  @Test
  void noBrokersMeansThePlatformsOwnEndpointAndOmittedKeysTakeTheDefaults() {
    MeterSettings settings = SimulatorConfig.from(root(new JsonObject().put("brokers", new JsonArray()))).settings();
    assertThat(settings.provisioned()).isEqualTo(new MeterConfig(1000, 10, 30, List.of(new BrokerAddress("127.0.0.1", 1883))));
    assertThat(settings.fwVersion()).isEqualTo("1.0.0");
    assertThat(settings.rebootDelay()).isEqualTo(Duration.ofMillis(2000));
    assertThat(settings.otaStep()).isEqualTo(Duration.ofMillis(500));
  }

  @Test
  void listedBrokersAreUsedAsGiven() {
    MeterSettings settings = SimulatorConfig.from(root(new JsonObject()
        .put("brokers", new JsonArray().add("mosquitto-a:1883").add("10.0.0.7:18830")).put("send_interval_s", 5))).settings();
    assertThat(settings.provisioned().brokers())
        .containsExactly(new BrokerAddress("mosquitto-a", 1883), new BrokerAddress("10.0.0.7", 18830));
    assertThat(settings.provisioned().sendIntervalS()).isEqualTo(5);
  }

  @Test
  void theMetersSpeakMqtt311UnlessTold5() {
    assertThat(SimulatorConfig.from(root(new JsonObject())).settings().mqttVersion()).isEqualTo(4);
    assertThat(SimulatorConfig.from(root(new JsonObject().put("mqtt_version", 5))).settings().mqttVersion()).isEqualTo(5);
    assertThat(SimulatorConfig.from(root(new JsonObject().put("mqtt_version", "5"))).settings().mqttVersion()).isEqualTo(5);
    assertThatThrownBy(() -> SimulatorConfig.from(root(new JsonObject().put("mqtt_version", "3"))))
        .hasMessageContaining("simulator.mqtt_version must be 3.1.1 or 5");
  }

  @Test
  void mistakesNameTheKey() {
    assertThatThrownBy(() -> SimulatorConfig.from(root(new JsonObject().put("brokers", new JsonArray().add("nohost")))))
        .isInstanceOf(StartupException.class).hasMessageContaining("simulator.brokers[0]");
    assertThatThrownBy(() -> SimulatorConfig.from(root(new JsonObject().put("meters", new JsonArray()
        .add(new JsonObject().put("device_id", "x/1").put("type", "dc"))))))
        .hasMessageContaining("simulator.meters[0].device_id");
    assertThatThrownBy(() -> SimulatorConfig.from(root(new JsonObject().put("meters", new JsonArray()
        .add(new JsonObject().put("device_id", "m1").put("type", "hvdc"))))))
        .hasMessageContaining("simulator.meters[0].type");
    assertThatThrownBy(() -> SimulatorConfig.from(root(new JsonObject().put("meters", new JsonArray()
        .add(new JsonObject().put("device_id", "sim-dc-0001").put("type", "dc"))).put("count", 1).put("dc_ratio", 1.0))))
        .hasMessageContaining("sim-dc-0001");
    assertThatThrownBy(() -> SimulatorConfig.from(root(new JsonObject().put("send_interval_s", 0))))
        .hasMessageContaining("simulator.send_interval_s");
    assertThatThrownBy(() -> SimulatorConfig.from(root(new JsonObject().put("dc_ratio", 1.5))))
        .hasMessageContaining("simulator.dc_ratio");
  }

  @Test
  void aTrainBringsItsTractionMetersWithTheirBillingMetadata() {
    SimulatorConfig config = SimulatorConfig.from(root(new JsonObject().put("trains", new JsonArray()
        .add(new JsonObject().put("train_id", "ICE-4711").put("meters", 2))
        .add(new JsonObject().put("train_id", "S-1").put("meters", 1).put("traction_system", "15kV_16.7Hz")))));
    assertThat(config.meters()).extracting(MeterSpec::deviceId).containsExactly("ICE-4711-m1", "ICE-4711-m2", "S-1-m1");
    assertThat(config.meters()).allSatisfy(m -> assertThat(m.type()).isEqualTo(MeterType.TRACTION));
    MeterSpec second = config.meters().get(1);
    assertThat(second.train()).isEqualTo(new MeterSpec.Train("ICE-4711", 2, 2, "3kV_DC"));
    assertThat(second.train().metadata(second.deviceId())).isEqualTo(new JsonObject().put("train_id", "ICE-4711").put("car", 2)
        .put("traction_system", "3kV_DC").put("consumption_point_id", "CP-ICE-4711-m2"));
    assertThat(io.iotmeter.energy.DeviceMetadata.problem(second.train().metadata(second.deviceId()))).isEmpty();
    assertThatThrownBy(() -> SimulatorConfig.from(root(new JsonObject().put("trains", new JsonArray()
        .add(new JsonObject().put("train_id", "T").put("meters", 9))))))
        .hasMessageContaining("simulator.trains[0].meters");
    assertThatThrownBy(() -> SimulatorConfig.from(root(new JsonObject().put("trains", new JsonArray()
        .add(new JsonObject().put("train_id", "T").put("traction_system", "9kV"))))))
        .hasMessageContaining("simulator.trains[0].traction_system");
    assertThatThrownBy(() -> SimulatorConfig.from(root(new JsonObject().put("meters", new JsonArray()
        .add(new JsonObject().put("device_id", "m1").put("type", "traction"))))))
        .hasMessageContaining("simulator.trains");
  }

  @Test
  void theFirmwareImageHashIsTheOneDocumented() {
    // printf 'iot-meter-firmware-2.1.0' | sha256sum
    assertThat(FirmwareImage.sha256Hex("2.1.0")).isEqualTo("157d95cb408643cccd84c400aebd053863ead75a6e4fed8ce5e86a652e769f12");
  }
}
