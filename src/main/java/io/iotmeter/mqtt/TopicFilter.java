package io.iotmeter.mqtt;

/**
 * MQTT topic names and filters (3.1.1 spec 4.7, 5.0 spec 4.7 and 4.8.2), limited to the
 * platform's namespace: everything lives under {@code iot/}. A filter may use {@code +} for one
 * whole level and {@code #} as the last level only; an MQTT 5 shared subscription's filter is
 * {@code $share/<group>/<filter>}.
 */
final class TopicFilter {

  static final int MAX_LENGTH = 512;
  static final String SHARE_PREFIX = "$share/";
  private static final String ROOT = "iot/";

  private TopicFilter() {
  }

  /** A topic a client may publish to: under iot/, no wildcards, no empty levels. */
  static boolean isValidTopic(String topic) {
    return topic != null && topic.startsWith(ROOT) && topic.length() <= MAX_LENGTH
        && topic.indexOf('+') < 0 && topic.indexOf('#') < 0 && topic.indexOf('\u0000') < 0
        && !topic.contains("//") && !topic.endsWith("/");
  }

  /** A filter a client may subscribe to: under iot/ (or exactly "iot/#"), wildcards used correctly; shared or not. */
  static boolean isValidFilter(String filter) {
    if (filter != null && isShared(filter)) {
      String group = shareGroup(filter);
      return group != null && !group.isEmpty() && !hasWildcard(group) && isValidFilter(matchingFilter(filter));
    }
    return isWellFormed(filter) && filter.startsWith(ROOT);
  }

  /**
   * A filter as MQTT allows it, wherever it points (wildcards used correctly, not empty): a
   * well-formed filter outside the platform's namespace is refused for that reason alone.
   */
  static boolean isWellFormed(String filter) {
    if (filter == null || filter.isEmpty() || filter.length() > MAX_LENGTH || filter.indexOf('\u0000') >= 0) {
      return false;
    }
    if (isShared(filter)) {
      String group = shareGroup(filter);
      return group != null && !group.isEmpty() && !hasWildcard(group) && isWellFormed(matchingFilter(filter));
    }
    String[] levels = filter.split("/", -1);
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

  /** An MQTT 5 shared subscription: {@code $share/<group>/<filter>}. */
  static boolean isShared(String filter) {
    return filter.startsWith(SHARE_PREFIX);
  }

  /** The group of a shared subscription's filter, null when it has no filter after the group. */
  static String shareGroup(String filter) {
    int end = filter.indexOf('/', SHARE_PREFIX.length());
    return end < 0 ? null : filter.substring(SHARE_PREFIX.length(), end);
  }

  /** The filter topics are matched against: a shared subscription's without its {@code $share/<group>/}. */
  static String matchingFilter(String filter) {
    if (!isShared(filter)) {
      return filter;
    }
    int end = filter.indexOf('/', SHARE_PREFIX.length());
    return end < 0 ? "" : filter.substring(end + 1);
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
