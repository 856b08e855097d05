package io.iotmeter.sim;

import io.iotmeter.config.Settings;
import io.iotmeter.config.StartupException;
import io.iotmeter.protocol.DeviceTopic;
import io.iotmeter.protocol.WireEnum;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The {@code simulator} section of the configuration: which meters to run and how they behave.
 * A mistake is reported naming the key, as every startup error is.
 */
public record SimulatorConfig(List<MeterSpec> meters, MeterSettings settings) {

  /** Reads {@code simulator}; its empty {@code brokers} means the platform's own endpoint (127.0.0.1:{@code mqtt.port}). */
  public static SimulatorConfig from(JsonObject root) {
    // The lists (brokers, meters) are what the configuration gives; every other value is a setting over its default.
    JsonObject sim = root.getJsonObject("simulator", new JsonObject());
    Settings values = Settings.section("simulator", sim);
    List<BrokerAddress> brokers = brokers(sim, root);
    MeterConfig provisioned;
    try {
      provisioned = new MeterConfig(
          positive(values, "sampling_cadence_ms"),
          positive(values, "send_interval_s"),
          positive(values, "hello_interval_s"),
          brokers);
    } catch (IllegalArgumentException e) {
      throw new StartupException("simulator: " + e.getMessage());
    }
    MeterSettings settings = new MeterSettings(provisioned, values.text("fw_version"),
        Duration.ofMillis(nonNegative(values, "reboot_delay_ms")),
        Duration.ofMillis(nonNegative(values, "ota_step_ms")),
        Duration.ofMillis(positive(values, "min_backoff_ms")),
        Duration.ofMillis(positive(values, "max_backoff_ms")),
        positive(values, "outbox_capacity"), mqttVersion(values));
    return new SimulatorConfig(meters(sim, values), settings);
  }

  private static int mqttVersion(Settings values) {
    try {
      return MeterSettings.mqttVersion(values.json().getValue("mqtt_version"));
    } catch (IllegalArgumentException e) {
      throw new StartupException(e.getMessage());
    }
  }

  private static List<BrokerAddress> brokers(JsonObject sim, JsonObject root) {
    JsonArray list = sim.getJsonArray("brokers", new JsonArray());
    if (list.isEmpty()) {
      int port = Settings.of(root, "mqtt").integer("port");
      return List.of(new BrokerAddress("127.0.0.1", port));
    }
    if (list.size() > 5) {
      throw new StartupException("simulator.brokers lists " + list.size() + " brokers; meters take 1 to 5");
    }
    List<BrokerAddress> brokers = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      try {
        brokers.add(BrokerAddress.parse(String.valueOf(list.getValue(i))));
      } catch (IllegalArgumentException e) {
        throw new StartupException("simulator.brokers[" + i + "]: " + e.getMessage());
      }
    }
    return brokers.stream().distinct().toList();
  }

  private static List<MeterSpec> meters(JsonObject sim, Settings values) {
    List<MeterSpec> meters = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    JsonArray explicit = sim.getJsonArray("meters", new JsonArray());
    for (int i = 0; i < explicit.size(); i++) {
      String where = "simulator.meters[" + i + "]";
      if (!(explicit.getValue(i) instanceof JsonObject entry)) {
        throw new StartupException(where + " must be {device_id, type}");
      }
      String id = entry.getString("device_id");
      if (id == null || !DeviceTopic.DEVICE_ID.matcher(id).matches()) {
        throw new StartupException(where + ".device_id must be 1-100 letters, digits, '.', '_', '-', not " + id);
      }
      MeterType type = WireEnum.parse(MeterType.class, String.valueOf(entry.getValue("type")).toLowerCase(Locale.ROOT))
          .filter(t -> t != MeterType.TRACTION)
          .orElseThrow(() -> new StartupException(where + ".type must be dc or ac, not " + entry.getValue("type")
              + " (traction meters come with their train: simulator.trains)"));
      if (!ids.add(id)) {
        throw new StartupException(where + ".device_id " + id + " is listed twice");
      }
      meters.add(new MeterSpec(id, type));
    }
    meters.addAll(trains(sim, ids));
    int count = nonNegative(values, "count");
    double dcRatio = values.number("dc_ratio");
    if (!(dcRatio >= 0 && dcRatio <= 1)) {
      throw new StartupException("simulator.dc_ratio must be from 0 to 1, not " + dcRatio);
    }
    int dc = (int) Math.round(count * dcRatio);
    for (int n = 1; n <= count; n++) {
      boolean isDc = n <= dc;
      String id = String.format(Locale.ROOT, "sim-%s-%04d", isDc ? "dc" : "ac", isDc ? n : n - dc);
      if (!ids.add(id)) {
        throw new StartupException("simulator.meters lists " + id + ", which simulator.count generates as well");
      }
      meters.add(new MeterSpec(id, isDc ? MeterType.DC : MeterType.AC));
    }
    return meters;
  }

  /** {@code simulator.trains}: {train_id, meters (1-8, 2), traction_system (3kV_DC)}; the meters are {@code <train_id>-m<car>}. */
  private static List<MeterSpec> trains(JsonObject sim, Set<String> ids) {
    List<MeterSpec> meters = new ArrayList<>();
    JsonArray trains = sim.getJsonArray("trains", new JsonArray());
    for (int i = 0; i < trains.size(); i++) {
      String where = "simulator.trains[" + i + "]";
      if (!(trains.getValue(i) instanceof JsonObject train)) {
        throw new StartupException(where + " must be {train_id, meters, traction_system}");
      }
      String trainId = train.getString("train_id");
      if (trainId == null || !trainId.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,60}")) {
        throw new StartupException(where + ".train_id must be 1-61 letters, digits, '.', '_', '-', not " + trainId);
      }
      Object count = train.getValue("meters", 2);
      if (!(count instanceof Integer n) || n < 1 || n > 8) {
        throw new StartupException(where + ".meters must be a whole number from 1 to 8, not " + count);
      }
      String system = train.getString("traction_system", "3kV_DC");
      if (!io.iotmeter.energy.DeviceMetadata.TRACTION_SYSTEMS.contains(system)) {
        throw new StartupException(where + ".traction_system must be one of "
            + String.join(", ", io.iotmeter.energy.DeviceMetadata.TRACTION_SYSTEMS) + ", not " + system);
      }
      for (int car = 1; car <= (Integer) count; car++) {
        String id = trainId + "-m" + car;
        if (!ids.add(id)) {
          throw new StartupException(where + " makes meter " + id + ", which is listed already");
        }
        meters.add(new MeterSpec(id, MeterType.TRACTION, new MeterSpec.Train(trainId, car, (Integer) count, system)));
      }
    }
    return meters;
  }

  private static int positive(Settings sim, String key) {
    int value = sim.integer(key);
    if (value < 1) {
      throw new StartupException("simulator." + key + " must be positive, not " + value);
    }
    return value;
  }

  private static int nonNegative(Settings sim, String key) {
    int value = sim.integer(key);
    if (value < 0) {
      throw new StartupException("simulator." + key + " must not be negative, not " + value);
    }
    return value;
  }
}
