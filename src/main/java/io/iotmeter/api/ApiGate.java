package io.iotmeter.api;

import io.iotmeter.security.Access;
import io.iotmeter.security.FailedLogins;
import io.iotmeter.security.Role;
import io.iotmeter.security.SecuritySettings;
import io.iotmeter.security.KeyVerifier;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;

import java.time.Duration;

/**
 * Who is calling, and may they: reads {@code Authorization: Bearer <key>}, has the identity
 * verticle check a key it has not seen lately, and holds the caller's role against the route's
 * {@link Access}. Missing or unknown key: 401 with {@code WWW-Authenticate: Bearer}; a role that
 * does not allow the call: 403. With security off every caller may do everything, as in the
 * reference system.
 */
public final class ApiGate {

  /** The caller, as the routes see it: the key's id and name (for audits) and its role. */
  public record Caller(String keyId, String name, Role role) {
    static final Caller ANONYMOUS = new Caller(null, "anonymous", Role.ADMIN);
  }

  private static final String CALLER = "iot.caller";

  private final Vertx vertx;
  private final boolean enabled;
  private final KeyVerifier keys;
  private final FailedLogins failedLogins = new FailedLogins();

  public ApiGate(Vertx vertx, SecuritySettings settings) {
    this.vertx = vertx;
    this.enabled = settings.enabled();
    this.keys = new KeyVerifier(vertx, settings, keyId -> { });
  }

  public boolean enabled() {
    return enabled;
  }

  /** Completes when the caller may use a route of {@code access}; fails with 401/403 otherwise. */
  Future<Caller> admit(RoutingContext ctx, Access access, String route) {
    if (!enabled) {
      ctx.put(CALLER, Caller.ANONYMOUS);
      return Future.succeededFuture(Caller.ANONYMOUS);
    }
    String key = bearer(ctx);
    if (key == null) {
      return access == Access.PUBLIC ? Future.succeededFuture(null)
          : Future.failedFuture(new ApiException(401, "API key required: send Authorization: Bearer <key>"));
    }
    String remote = ctx.request().remoteAddress() == null ? "?" : ctx.request().remoteAddress().hostAddress();
    // A public route answers everyone: it never spends a slow hash on what a caller sends.
    return slowedDown(identify(key, remote, access != Access.PUBLIC), remote).recover(e -> access == Access.PUBLIC && e instanceof ApiException api && api.status() == 401
            ? Future.succeededFuture(null) : Future.failedFuture(e))
        .compose(caller -> {
          if (caller != null) {
            ctx.put(CALLER, caller);
          }
          if (!access.allows(caller == null ? null : caller.role())) {
            return Future.failedFuture(new ApiException(403, "API key '" + caller.name() + "' (role " + caller.role().wireName()
                + ") may not " + ctx.request().method() + " " + route + ": it needs the " + access.least().wireName() + " role"));
          }
          return Future.succeededFuture(caller);
        });
  }

  /** A wrong key is answered late once its address guessed too often ({@link FailedLogins}). */
  private Future<Caller> slowedDown(Future<Caller> identified, String remote) {
    return identified.onSuccess(c -> failedLogins.succeeded(remote)).recover(e -> {
      if (!(e instanceof ApiException api) || api.status() != 401) {
        return Future.failedFuture(e);
      }
      Duration delay = failedLogins.failed(remote);
      return delay.isZero() ? Future.failedFuture(e)
          : Future.future(p -> vertx.setTimer(delay.toMillis(), id -> p.fail(e)));
    });
  }

  /** The authenticated caller of this request (anonymous with security off); null if none. */
  public static Caller caller(RoutingContext ctx) {
    return ctx.get(CALLER);
  }

  private Future<Caller> identify(String key, String remote, boolean mayHash) {
    return keys.verify(key, remote, mayHash)
        .map(v -> new Caller(v.keyId(), v.name(), v.role()))
        .recover(e -> Future.failedFuture(e instanceof KeyVerifier.KeyRefused refused
            ? new ApiException(refused.status(), refused.getMessage()) : e));
  }

  private static String bearer(RoutingContext ctx) {
    String header = ctx.request().getHeader("Authorization");
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    String key = header.substring(7).trim();
    return key.isEmpty() || key.length() > 256 ? null : key;
  }

  void close() {
    keys.close();
  }
}
