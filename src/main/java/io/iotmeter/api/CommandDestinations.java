package io.iotmeter.api;

import io.iotmeter.config.Settings;
import io.iotmeter.protocol.CommandName;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.net.URI;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;

/**
 * Where a command may point a meter: {@code update_config} brokers must be in
 * {@code commands.allowed_brokers} (empty: the brokers this platform is configured with — its
 * own endpoint, the bridge's brokers, the simulator's), {@code start_ota} firmware URLs must name
 * a host in {@code commands.allowed_firmware_hosts}. Enforced with security on: a stolen
 * operator key must not be able to send a fleet to a rogue broker or firmware.
 */
final class CommandDestinations {

  private final boolean enforced;
  private final Set<String> brokers;
  private final Set<String> firmwareHosts;

  private CommandDestinations(boolean enforced, Set<String> brokers, Set<String> firmwareHosts) {
    this.enforced = enforced;
    this.brokers = brokers;
    this.firmwareHosts = firmwareHosts;
  }

  static CommandDestinations of(JsonObject config, boolean secured) {
    Settings commands = Settings.of(config, "commands");
    Set<String> brokers = lowerCase(commands.texts("allowed_brokers"));
    if (brokers.isEmpty()) {
      int port = Settings.of(config, "mqtt").integer("port");
      brokers.add("localhost:" + port);
      brokers.add("127.0.0.1:" + port);
      brokers.addAll(lowerCase(Settings.of(config, "mqtt_bridge").texts("brokers")));
      brokers.addAll(lowerCase(Settings.of(config, "simulator").texts("brokers")));
    }
    return new CommandDestinations(secured, brokers, lowerCase(commands.texts("allowed_firmware_hosts")));
  }

  /** Throws a 400 naming the parameter when the command points outside the allow-lists. */
  void check(CommandName cmd, JsonObject params) {
    if (!enforced) {
      return;
    }
    if (cmd == CommandName.UPDATE_CONFIG && params.getValue("brokers") instanceof JsonArray list) {
      for (int i = 0; i < list.size(); i++) {
        JsonObject broker = list.getJsonObject(i);
        String address = (broker.getString("host") + ":" + broker.getValue("port")).toLowerCase(Locale.ROOT);
        if (!brokers.contains(address)) {
          throw ApiException.badRequest("params.brokers[" + i + "] " + address + " is not an allowed broker "
              + "(commands.allowed_brokers: " + String.join(", ", brokers) + ")");
        }
      }
    }
    if (cmd == CommandName.START_OTA) {
      String host = URI.create(params.getString("fw_url")).getHost().toLowerCase(Locale.ROOT);
      if (!firmwareHosts.contains(host)) {
        throw ApiException.badRequest("params.fw_url host " + host + " is not an allowed firmware host "
            + "(commands.allowed_firmware_hosts: " + (firmwareHosts.isEmpty() ? "none" : String.join(", ", firmwareHosts)) + ")");
      }
    }
  }

  private static Set<String> lowerCase(java.util.List<String> values) {
    Set<String> set = new LinkedHashSet<>();
    values.forEach(v -> set.add(String.valueOf(v).toLowerCase(Locale.ROOT)));
    return set;
  }
}
