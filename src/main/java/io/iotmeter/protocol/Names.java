package io.iotmeter.protocol;

import java.util.concurrent.ConcurrentHashMap;

/**
 * One shared copy of each metric name and unit. A fleet uses a few dozen of them, but the JSON
 * parser makes a new string for every sample; with thousands of messages waiting in the sinks'
 * buffers those copies were most of the heap. Bounded, so a device inventing names cannot grow
 * it: past its bound, new names are simply not shared.
 */
final class Names {

  /** The parser's: far more names than a fleet uses. */
  static final Names SHARED = new Names(4096);

  private final int max;
  private final ConcurrentHashMap<String, String> names = new ConcurrentHashMap<>();

  Names(int max) {
    this.max = max;
  }

  String canonical(String name) {
    if (name == null) {
      return null;
    }
    String shared = names.get(name);
    if (shared != null) {
      return shared;
    }
    if (names.size() >= max) {
      return name;
    }
    String previous = names.putIfAbsent(name, name);
    return previous == null ? name : previous;
  }
}
