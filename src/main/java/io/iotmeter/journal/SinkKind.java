package io.iotmeter.journal;

import io.iotmeter.protocol.Category;

import java.util.Collection;
import java.util.EnumSet;
import java.util.Set;

/**
 * The sinks that take accepted messages from the intake journal, each with its bit in the
 * journal's {@code sinks} column and the categories it stores.
 */
public enum SinkKind {
  ARCHIVE("archive", 1, EnumSet.allOf(Category.class)),
  TIMESERIES("timeseries", 2, EnumSet.of(Category.TELEMETRY)),
  REGISTRY("registry", 4, EnumSet.allOf(Category.class));

  private final String configName;
  private final int bit;
  private final Set<Category> categories;

  SinkKind(String configName, int bit, Set<Category> categories) {
    this.configName = configName;
    this.bit = bit;
    this.categories = categories;
  }

  public String configName() {
    return configName;
  }

  public int bit() {
    return bit;
  }

  public Set<Category> categories() {
    return categories;
  }

  /** The journal's {@code sinks} bits for a message of {@code category}: the enabled sinks that store it. */
  public static short mask(Category category, Collection<SinkKind> enabled) {
    int mask = 0;
    for (SinkKind sink : enabled) {
      if (sink.categories.contains(category)) {
        mask |= sink.bit;
      }
    }
    return (short) mask;
  }

  public static SinkKind fromConfigName(String name) {
    for (SinkKind sink : values()) {
      if (sink.configName.equals(name)) {
        return sink;
      }
    }
    throw new IllegalArgumentException("Unknown sink '" + name + "' (known: archive, timeseries, registry)");
  }
}
