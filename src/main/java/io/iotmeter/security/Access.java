package io.iotmeter.security;

/** Who may call a route: anybody, or an API key with at least a role. */
public enum Access {
  /** Probes and Prometheus: no key needed. */
  PUBLIC(null),
  VIEWER(Role.VIEWER),
  OPERATOR(Role.OPERATOR),
  ADMIN(Role.ADMIN);

  private final Role least;

  Access(Role least) {
    this.least = least;
  }

  /** The least role that may call it; null for {@link #PUBLIC}. */
  public Role least() {
    return least;
  }

  public boolean allows(Role role) {
    return least == null || (role != null && role.includes(least));
  }
}
