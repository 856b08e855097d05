package io.iotmeter.support;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The monitoring files the deployments ship — alert rules and Grafana dashboards — read as
 * data, their PromQL expressions and the metric names in them, and promtool (Debian's
 * {@code prometheus} package, installed by .ci/run) to check them.
 */
public final class Monitoring {

  public static final Path RULES = Path.of("docker/prometheus/rules/iot-meter.rules.yml");
  public static final Path RULE_TESTS = Path.of("docker/prometheus/rules/tests/iot-meter.test.yml");
  public static final Path OVERVIEW = Path.of("docker/grafana/dashboards/platform-overview.json");
  public static final Path FLEET = Path.of("docker/grafana/dashboards/fleet.json");

  private static final Set<String> KEYWORDS = Set.of("by", "without", "and", "or", "unless", "on", "ignoring", "bool", "offset",
      "group_left", "group_right");
  private static final Pattern IDENTIFIER = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");

  private Monitoring() {
  }

  /** alert name → expression, from the rules file. */
  @SuppressWarnings("unchecked")
  public static Map<String, String> alertExpressions() throws IOException {
    Map<String, Object> rules = new Yaml().load(Files.readString(RULES));
    Map<String, String> alerts = new java.util.LinkedHashMap<>();
    for (Map<String, Object> group : (List<Map<String, Object>>) rules.get("groups")) {
      for (Map<String, Object> rule : (List<Map<String, Object>>) group.get("rules")) {
        alerts.put((String) rule.get("alert"), ((String) rule.get("expr")).trim());
      }
    }
    return alerts;
  }

  public static JsonObject dashboard(Path file) throws IOException {
    return new JsonObject(Files.readString(file));
  }

  /** Every Prometheus expression of a dashboard's panels, with Grafana's interval variables made concrete. */
  public static List<String> dashboardExpressions(Path file) throws IOException {
    List<String> expressions = new ArrayList<>();
    for (Object p : dashboard(file).getJsonArray("panels", new JsonArray())) {
      for (Object t : ((JsonObject) p).getJsonArray("targets", new JsonArray())) {
        String expr = ((JsonObject) t).getString("expr");
        if (expr != null) {
          expressions.add(expr.replace("$__rate_interval", "5m").replace("$__interval", "1m").replace("$__range", "1h"));
        }
      }
    }
    return expressions;
  }

  /** The metric names a PromQL expression reads (functions, keywords, labels and strings left out). */
  public static Set<String> metricNames(String expression) {
    String bare = expression.replaceAll("\"[^\"]*\"", "\"\"")
        .replaceAll("\\{[^}]*}", " ")
        .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ")
        .replaceAll("\\[[^]]*]", " ");
    Set<String> names = new TreeSet<>();
    Matcher m = IDENTIFIER.matcher(bare);
    while (m.find()) {
      String name = m.group();
      int after = m.end();
      while (after < bare.length() && bare.charAt(after) == ' ') {
        after++;
      }
      boolean function = after < bare.length() && bare.charAt(after) == '(';
      boolean number = m.start() > 0 && Character.isDigit(bare.charAt(m.start() - 1));
      if (!function && !number && !KEYWORDS.contains(name)) {
        names.add(name);
      }
    }
    return names;
  }

  /** Runs promtool with these arguments; returns its exit code and output. */
  public static Result promtool(String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Files.isExecutable(Path.of("/usr/bin/promtool")) ? "/usr/bin/promtool" : "promtool");
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("promtool " + String.join(" ", args) + " did not finish");
    }
    return new Result(process.exitValue(), output);
  }

  /** What promtool said. */
  public record Result(int exitCode, String output) {
  }
}
