package io.iotmeter.security;

import io.vertx.core.http.HttpMethod;

import java.util.List;
import java.util.Optional;

/**
 * Who may call each HTTP route — the one declared table of the REST API's permissions. A route
 * the API mounts without a rule here is refused at startup, so a new route cannot go out open
 * by accident. Paths are Vert.x route templates ({@code :id} for a path parameter).
 */
public final class AccessRules {

  /** One route and who may call it. */
  public record Rule(HttpMethod method, String path, Access access) {
  }

  public static final List<Rule> HTTP = List.of(
      // Probes stay open (without failure details unless a key is sent); /metrics is mounted apart, open.
      new Rule(HttpMethod.GET, "/health", Access.PUBLIC),
      new Rule(HttpMethod.GET, "/healthz", Access.PUBLIC),
      new Rule(HttpMethod.GET, "/readyz", Access.PUBLIC),
      // The API's description and its documentation page (their assets are static files).
      new Rule(HttpMethod.GET, "/openapi.json", Access.PUBLIC),
      new Rule(HttpMethod.GET, "/docs", Access.PUBLIC),
      // Who the caller is (nobody, without a valid key): how the dashboard knows to ask for a key.
      new Rule(HttpMethod.GET, "/api/whoami", Access.PUBLIC),
      // viewer: every GET under /api (keys, the audit trail and the bus tap excepted)
      new Rule(HttpMethod.GET, "/api/devices", Access.VIEWER),
      new Rule(HttpMethod.GET, "/api/devices/:id", Access.VIEWER),
      new Rule(HttpMethod.GET, "/api/devices/:id/status", Access.VIEWER),
      new Rule(HttpMethod.GET, "/api/devices/:id/alerts", Access.VIEWER),
      new Rule(HttpMethod.GET, "/api/devices/:id/commands", Access.VIEWER),
      new Rule(HttpMethod.GET, "/api/devices/:id/metrics", Access.VIEWER),
      new Rule(HttpMethod.GET, "/api/devices/:id/raw-data", Access.VIEWER),
      new Rule(HttpMethod.GET, "/api/devices/:id/energy-periods", Access.VIEWER),
      new Rule(HttpMethod.GET, "/api/devices/:id/energy-periods/:period_start/versions", Access.VIEWER),
      new Rule(HttpMethod.GET, "/api/energy/export", Access.VIEWER),
      new Rule(HttpMethod.GET, "/api/energy/completeness", Access.VIEWER),
      new Rule(HttpMethod.GET, "/api/trains/:train_id/energy", Access.VIEWER),
      new Rule(HttpMethod.GET, "/api/commands/:cmd_id", Access.VIEWER),
      new Rule(HttpMethod.GET, "/api/stats", Access.VIEWER),
      new Rule(HttpMethod.GET, "/api/alerts", Access.VIEWER),
      new Rule(HttpMethod.GET, "/api/quarantine", Access.VIEWER),
      new Rule(HttpMethod.GET, "/api/quarantine/:qid", Access.VIEWER),
      // operator: commands, command acks, alerts, heartbeats, status
      new Rule(HttpMethod.POST, "/api/devices/:id/commands", Access.OPERATOR),
      new Rule(HttpMethod.PUT, "/api/commands/:cmd_id/ack", Access.OPERATOR),
      new Rule(HttpMethod.POST, "/api/devices/:id/alerts", Access.OPERATOR),
      new Rule(HttpMethod.POST, "/api/alerts/:alert_id/acknowledge", Access.OPERATOR),
      new Rule(HttpMethod.POST, "/api/devices/:id/heartbeat", Access.OPERATOR),
      new Rule(HttpMethod.PUT, "/api/devices/:id/status", Access.OPERATOR),
      // admin: the registry, credentials, keys, replays, the bus tap
      new Rule(HttpMethod.POST, "/api/devices", Access.ADMIN),
      new Rule(HttpMethod.PUT, "/api/devices/:id", Access.ADMIN),
      new Rule(HttpMethod.DELETE, "/api/devices/:id", Access.ADMIN),
      new Rule(HttpMethod.POST, "/api/devices/:id/credentials", Access.ADMIN),
      new Rule(HttpMethod.DELETE, "/api/devices/:id/credentials", Access.ADMIN),
      new Rule(HttpMethod.POST, "/api/quarantine/:qid/replay", Access.ADMIN),
      new Rule(HttpMethod.GET, "/api/keys", Access.ADMIN),
      new Rule(HttpMethod.POST, "/api/keys", Access.ADMIN),
      new Rule(HttpMethod.DELETE, "/api/keys/:key_id", Access.ADMIN),
      new Rule(HttpMethod.GET, "/api/audit", Access.ADMIN),
      new Rule(HttpMethod.GET, "/debug/addresses", Access.ADMIN),
      new Rule(HttpMethod.GET, "/debug/bus", Access.ADMIN));

  private AccessRules() {
  }

  public static Optional<Access> of(HttpMethod method, String path) {
    return HTTP.stream().filter(r -> r.method().equals(method) && r.path().equals(path)).map(Rule::access).findFirst();
  }

  /** The rule of a route the API mounts; a route without one is a programming error caught at startup. */
  public static Access required(HttpMethod method, String path) {
    return of(method, path).orElseThrow(() -> new IllegalStateException(
        "HTTP route " + method + " " + path + " has no access rule in " + AccessRules.class.getName()));
  }
}
