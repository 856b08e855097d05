package io.iotmeter;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One owner per table: every table is written (INSERT, UPDATE, DELETE) from one package only, so
 * a rule about a table — when a device goes offline, what a command's result may replace — lives
 * in one place. Read from the sources' SQL, so a write from a second package fails here with
 * both names.
 */
class TableOwnersTest {

  private static final Path SOURCES = Path.of("src/main/java/io/iotmeter");
  private static final Pattern WRITE = Pattern.compile("(?:INSERT INTO|UPDATE|DELETE FROM)\\s+([a-z_]+)\\s");

  /** Table → the packages whose SQL writes it. */
  static Map<String, Set<String>> writers() {
    Map<String, Set<String>> writers = new TreeMap<>();
    try (Stream<Path> files = Files.walk(SOURCES)) {
      files.filter(f -> f.toString().endsWith(".java")).forEach(file -> {
        String pkg = SOURCES.relativize(file).getNameCount() > 1 ? SOURCES.relativize(file).getName(0).toString() : "";
        String text;
        try {
          text = Files.readString(file);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        Matcher m = WRITE.matcher(text);
        while (m.find()) {
          writers.computeIfAbsent(m.group(1), t -> new TreeSet<>()).add(pkg);
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return writers;
  }

  @Test
  void everyTableHasOneWritingPackage() {
    Map<String, Set<String>> writers = writers();
    assertThat(writers).as("the sources' SQL was found").containsKeys("devices", "journal", "device_alerts");
    writers.forEach((table, packages) -> assertThat(packages).as("packages writing " + table).hasSize(1));
  }

  @Test
  void theRegistryOwnsTheDeviceTables() {
    Map<String, Set<String>> writers = writers();
    for (String table : new String[] {"devices", "device_alerts", "device_commands", "device_configs", "device_command_progress"}) {
      assertThat(writers.get(table)).as("packages writing " + table).containsExactly("registry");
    }
    assertThat(writers.get("journal")).containsExactly("journal");
    assertThat(writers.get("journal_cursor")).containsExactly("journal");
  }
}
