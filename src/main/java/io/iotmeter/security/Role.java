package io.iotmeter.security;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * What an API key may do. Each role includes the ones before it: an operator may do everything a
 * viewer may, an admin everything.
 */
public enum Role {
  /** Every GET under {@code /api}. */
  VIEWER,
  /** A viewer, plus commands, command acks, alerts, heartbeats and status changes. */
  OPERATOR,
  /** Everything, including devices, their credentials and API keys. */
  ADMIN;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public boolean includes(Role other) {
    return ordinal() >= other.ordinal();
  }

  /** The role of a wire name ({@code viewer}, {@code operator}, {@code admin}). */
  public static Role parse(String name) {
    for (Role role : values()) {
      if (role.wireName().equals(name)) {
        return role;
      }
    }
    throw new IllegalArgumentException("field 'role' must be one of " + names() + ", got '" + name + "'");
  }

  public static String names() {
    return Arrays.stream(values()).map(Role::wireName).collect(Collectors.joining(", "));
  }
}
