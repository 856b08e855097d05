package io.iotmeter.boot;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The launcher's command line: {@code iot-meter run [--profile P] [--data-dir DIR] [--conf FILE]}.
 * Parsing is strict — an unknown option is an error, not something to guess about.
 */
public record CommandLine(String command, String profile, Optional<String> dataDir, Optional<String> confFile,
                          List<String> roles) {

  public static final String DEFAULT_PROFILE = "embedded";
  public static final List<String> PROFILES = List.of("embedded", "compose", "cluster", "simulator");

  public static final String USAGE = """
      Usage: iot-meter run [--profile embedded|compose|cluster|simulator] [--role ROLE[,ROLE]]
                           [--data-dir DIR] [--conf FILE]
             iot-meter tap [--url URL] [--rate N] [--sample N] [--count N] [--full] ADDRESS...
             iot-meter addresses [--url URL] [--verbose] [--offline]
             iot-meter help

        tap          print a running platform's event-bus messages as they pass (needs debug.bus_tap: true)
        addresses    list the event-bus addresses with live counters (iot-meter <command> --help for more)

        --profile P    configuration profile (default: embedded, or $IOT_PROFILE)
        --data-dir D   where the embedded servers keep their data (default: ./data)
        --conf FILE    a YAML file layered over the profile (or $IOT_CONF)
        --role R       what this node runs: ingest, api, sim, all (default: all, or $IOT_ROLE)

      Every configuration key can also be set by an environment variable: IOT_ + the key's
      path in capitals, e.g. http.port -> IOT_HTTP_PORT.""";

  /** Parses {@code args}; {@code env} supplies IOT_PROFILE / IOT_CONF defaults. */
  public static CommandLine parse(String[] args, Map<String, String> env) {
    List<String> rest = new ArrayList<>(List.of(args));
    String command = "run";
    if (!rest.isEmpty() && !rest.get(0).startsWith("-")) {
      command = rest.remove(0);
    }
    if (!List.of("run", "help").contains(command)) {
      throw new IllegalArgumentException("Unknown command '" + command + "'");
    }
    String profile = env.getOrDefault("IOT_PROFILE", DEFAULT_PROFILE);
    String dataDir = null;
    String conf = env.get("IOT_CONF");
    String roles = env.getOrDefault("IOT_ROLE", "all");
    for (int i = 0; i < rest.size(); i++) {
      String arg = rest.get(i);
      String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
      String value;
      if (arg.contains("=")) {
        value = arg.substring(arg.indexOf('=') + 1);
      } else if (name.equals("--help") || name.equals("-h")) {
        command = "help";
        continue;
      } else if (i + 1 < rest.size()) {
        value = rest.get(++i);
      } else {
        throw new IllegalArgumentException("Option " + name + " needs a value");
      }
      switch (name) {
        case "--profile" -> profile = value;
        case "--data-dir" -> dataDir = value;
        case "--conf" -> conf = value;
        case "--role" -> roles = value;
        default -> throw new IllegalArgumentException("Unknown option '" + name + "'");
      }
    }
    if (!PROFILES.contains(profile)) {
      throw new IllegalArgumentException("Unknown profile '" + profile + "' (known: " + String.join(", ", PROFILES) + ")");
    }
    List<String> roleList = java.util.Arrays.stream(roles.split(",")).map(String::trim).filter(r -> !r.isEmpty()).toList();
    roleList.forEach(NodeRole::parse);
    return new CommandLine(command, profile, Optional.ofNullable(dataDir), Optional.ofNullable(conf), roleList);
  }
}
