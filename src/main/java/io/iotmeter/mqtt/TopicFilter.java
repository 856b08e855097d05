package io.iotmeter.mqtt;

/**
 * MQTT 3.1.1 topic names and filters (spec 4.7), limited to the platform's namespace: everything
 * lives under {@code iot/}. A filter may use {@code +} for one whole level and {@code #} as the
 * last level only.
 */
final class TopicFilter {

  static final int MAX_LENGTH = 512;
  private static final String ROOT = "iot/";

  private TopicFilter() {
  }

  /** A topic a client may publish to: under iot/, no wildcards, no empty levels. */
  static boolean isValidTopic(String topic) {
    return topic != null && topic.startsWith(ROOT) && topic.length() <= MAX_LENGTH
        && topic.indexOf('+') < 0 && topic.indexOf('#') < 0 && topic.indexOf('\u0000') < 0
        && !topic.contains("//") && !topic.endsWith("/");
  }

  /** A filter a client may subscribe to: under iot/ (or exactly "iot/#"), wildcards used correctly. */
  static boolean isValidFilter(String filter) {
    if (filter == null || filter.isEmpty() || filter.length() > MAX_LENGTH || filter.indexOf('\u0000') >= 0) {
      return false;
    }
    String[] levels = filter.split("/", -1);
    if (levels.length < 2 || !levels[0].equals("iot")) {
      return false;
    }
    for (int i = 0; i < levels.length; i++) {
      String level = levels[i];
      if (level.contains("#") && (!level.equals("#") || i != levels.length - 1)) {
        return false;
      }
      if (level.contains("+") && !level.equals("+")) {
        return false;
      }
    }
    return true;
  }

  static boolean hasWildcard(String filter) {
    return filter.indexOf('+') >= 0 || filter.indexOf('#') >= 0;
  }

  /** Whether {@code topic} matches {@code filter}. */
  static boolean matches(String filter, String topic) {
    int f = 0;
    int t = 0;
    int fl = filter.length();
    int tl = topic.length();
    while (f < fl) {
      char c = filter.charAt(f);
      if (c == '#') {
        return true;
      }
      if (c == '+') {
        while (t < tl && topic.charAt(t) != '/') {
          t++;
        }
        f++;
      } else {
        if (t >= tl || topic.charAt(t) != c) {
          // "iot/a/#" also matches "iot/a" (the parent level)
          return t == tl && filter.startsWith("/#", f);
        }
        f++;
        t++;
      }
    }
    return t == tl;
  }
}
