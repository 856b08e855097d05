package io.iotmeter;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The packages show the architecture only if they form layers: no package may depend, however
 * indirectly, on one that depends on it. Read from the sources (imports and qualified names), so a
 * new cycle fails here with its path, e.g. {@code intake -> sink -> intake}.
 */
class PackageCyclesTest {

  private static final Path SOURCES = Path.of("src/main/java/io/iotmeter");
  /** {@code io.iotmeter.<package>.<Type>} anywhere in a source: imports, qualified names, Javadoc links. */
  private static final Pattern REFERENCE = Pattern.compile("\\bio\\.iotmeter\\.([a-z]+)\\.[A-Z]");

  @Test
  void noPackageDependsOnItself() {
    Map<String, Set<String>> graph = dependencies();
    assertThat(graph).as("the sources were found").containsKeys("intake", "sink", "journal", "boot");
    List<String> cycles = new ArrayList<>();
    for (String start : graph.keySet()) {
      List<String> path = cycleThrough(graph, start);
      if (path != null) {
        cycles.add(String.join(" -> ", path));
      }
    }
    assertThat(cycles).as("package cycles").isEmpty();
  }

  /**
   * The MQTT side (endpoint and broker client) hands messages over the bus and knows nothing of
   * who takes them; the sinks know the journal only through what they read. The records they pass
   * live in {@code protocol}.
   */
  @Test
  void theMqttSideKnowsNothingOfTheIntake() {
    Map<String, Set<String>> graph = dependencies();
    assertThat(graph.get("mqtt")).as("packages mqtt depends on").doesNotContain("intake", "sink", "journal");
  }

  @Test
  void theCheckFindsACycle() {
    Map<String, Set<String>> graph = new TreeMap<>(Map.of("a", Set.of("b"), "b", Set.of("c"), "c", Set.of("a"), "d", Set.of("a")));
    assertThat(cycleThrough(graph, "a")).containsExactly("a", "b", "c", "a");
    assertThat(cycleThrough(graph, "d")).isNull();
  }

  /** The shortest path from {@code start} back to itself (breadth first), or null. */
  static List<String> cycleThrough(Map<String, Set<String>> graph, String start) {
    Map<String, String> cameFrom = new TreeMap<>();
    List<String> frontier = new ArrayList<>(List.of(start));
    while (!frontier.isEmpty()) {
      List<String> next = new ArrayList<>();
      for (String node : frontier) {
        for (String target : graph.getOrDefault(node, Set.of())) {
          if (target.equals(start)) {
            List<String> path = new ArrayList<>(List.of(start));
            for (String at = node; !at.equals(start); at = cameFrom.get(at)) {
              path.add(1, at);
            }
            path.add(start);
            return path;
          }
          if (!cameFrom.containsKey(target)) {
            cameFrom.put(target, node);
            next.add(target);
          }
        }
      }
      frontier = next;
    }
    return null;
  }

  private static Map<String, Set<String>> dependencies() {
    Map<String, Set<String>> graph = new TreeMap<>();
    try (Stream<Path> files = Files.walk(SOURCES)) {
      files.filter(f -> f.toString().endsWith(".java") && !f.getParent().equals(SOURCES)).forEach(file -> {
        String pkg = SOURCES.relativize(file.getParent()).toString().replace('/', '.');
        Set<String> targets = graph.computeIfAbsent(pkg, p -> new TreeSet<>());
        Matcher m = REFERENCE.matcher(read(file));
        while (m.find()) {
          if (!m.group(1).equals(pkg)) {
            targets.add(m.group(1));
          }
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return graph;
  }

  private static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
