package io.iotmeter.sim;

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
    JsonObject sim = root.getJsonObject("simulator", new JsonObject());
    List<BrokerAddress> brokers = brokers(sim, root);
    MeterConfig provisioned;
    try {
      provisioned = new MeterConfig(
          positive(sim, "sampling_cadence_ms", MeterConfig.DEFAULT_SAMPLING_CADENCE_MS),
          positive(sim, "send_interval_s", MeterConfig.DEFAULT_SEND_INTERVAL_S),
          positive(sim, "hello_interval_s", MeterConfig.DEFAULT_HELLO_INTERVAL_S),
          brokers);
    } catch (IllegalArgumentException e) {
      throw new StartupException("simulator: " + e.getMessage());
    }
    String fwVersion = sim.getString("fw_version", "1.0.0");
    MeterSettings settings = new MeterSettings(provisioned, fwVersion,
        Duration.ofMillis(nonNegative(sim, "reboot_delay_ms", 2000)),
        Duration.ofMillis(nonNegative(sim, "ota_step_ms", 500)),
        Duration.ofMillis(positive(sim, "min_backoff_ms", 500)),
        Duration.ofMillis(positive(sim, "max_backoff_ms", 30_000)),
        positive(sim, "outbox_capacity", 1000));
    return new SimulatorConfig(meters(sim), settings);
  }

  private static List<BrokerAddress> brokers(JsonObject sim, JsonObject root) {
    JsonArray list = sim.getJsonArray("brokers", new JsonArray());
    if (list.isEmpty()) {
      int port = root.getJsonObject("mqtt", new JsonObject()).getInteger("port", 1883);
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

  private static List<MeterSpec> meters(JsonObject sim) {
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
          .orElseThrow(() -> new StartupException(where + ".type must be dc or ac, not " + entry.getValue("type")));
      if (!ids.add(id)) {
        throw new StartupException(where + ".device_id " + id + " is listed twice");
      }
      meters.add(new MeterSpec(id, type));
    }
    int count = nonNegative(sim, "count", 0);
    double dcRatio = sim.getDouble("dc_ratio", 0.5);
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

  private static int positive(JsonObject sim, String key, int fallback) {
    int value = integer(sim, key, fallback);
    if (value < 1) {
      throw new StartupException("simulator." + key + " must be positive, not " + value);
    }
    return value;
  }

  private static int nonNegative(JsonObject sim, String key, int fallback) {
    int value = integer(sim, key, fallback);
    if (value < 0) {
      throw new StartupException("simulator." + key + " must not be negative, not " + value);
    }
    return value;
  }

  private static int integer(JsonObject sim, String key, int fallback) {
    Object value = sim.getValue(key);
    if (value == null) {
      return fallback;
    }
    if (!(value instanceof Number number) || number.doubleValue() != Math.rint(number.doubleValue())
        || Math.abs(number.doubleValue()) > Integer.MAX_VALUE) {
      throw new StartupException("simulator." + key + " must be a whole number, not " + value);
    }
    return number.intValue();
  }
}
