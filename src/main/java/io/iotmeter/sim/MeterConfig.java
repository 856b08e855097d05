package io.iotmeter.sim;

import io.iotmeter.protocol.DeviceDefaults;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;

/**
 * The settings a meter takes from {@code update_config} (protocol "Commands"), with their
 * factory defaults ({@link DeviceDefaults}). Immutable: a command yields a new one.
 */
public record MeterConfig(int samplingCadenceMs, int sendIntervalS, int helloIntervalS, List<BrokerAddress> brokers) {

  public MeterConfig {
    if (samplingCadenceMs < 1 || sendIntervalS < 1 || helloIntervalS < 1) {
      throw new IllegalArgumentException("cadence and intervals must be positive");
    }
    if (brokers.isEmpty()) {
      throw new IllegalArgumentException("a meter needs at least one broker");
    }
    brokers = List.copyOf(brokers);
  }

  /** What {@code factory_reset} restores: the protocol's defaults on the provisioned brokers. */
  public static MeterConfig factoryDefaults(List<BrokerAddress> provisionedBrokers) {
    return new MeterConfig(DeviceDefaults.SAMPLING_CADENCE_MS, DeviceDefaults.SEND_INTERVAL_S, DeviceDefaults.HELLO_INTERVAL_S,
        provisionedBrokers);
  }

  /** This configuration with the keys of a validated {@code update_config}; omitted keys keep their value. */
  public MeterConfig updatedBy(JsonObject params) {
    List<BrokerAddress> newBrokers = brokers;
    if (params.getValue("brokers") instanceof JsonArray list) {
      newBrokers = list.stream().map(entry -> BrokerAddress.fromJson((JsonObject) entry)).distinct().toList();
    }
    return new MeterConfig(
        params.getNumber("sampling_cadence_ms", samplingCadenceMs).intValue(),
        params.getNumber("send_interval_s", sendIntervalS).intValue(),
        params.getNumber("hello_interval_s", helloIntervalS).intValue(),
        newBrokers);
  }

  /** Protocol "Hello": when datagrams come at least as often as hellos would, they are the heartbeat. */
  public boolean helloSuppressed() {
    return sendIntervalS <= helloIntervalS;
  }
}
