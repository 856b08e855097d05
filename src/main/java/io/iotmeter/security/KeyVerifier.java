package io.iotmeter.security;

import io.iotmeter.bus.BusAddress;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.function.Consumer;

/**
 * Checks presented API keys for one verticle (the API, a bridge): asks the identity verticle
 * about a key it has not seen lately ({@code iot.identity.key.verify}) and remembers the answer
 * for {@code security.cache_s}, until {@code iot.identity.revoked} names the key — then it is
 * forgotten at once and the owner is told, so open connections of that key can be closed.
 * Event-loop confined, like its cache.
 */
public final class KeyVerifier {

  /** Who a key belongs to. */
  public record Verified(String keyId, String name, Role role) {
  }

  /** A key the identity verticle does not know (401), or a check that could not be made (503). */
  public static final class KeyRefused extends RuntimeException {
    private final int status;

    KeyRefused(int status, String message) {
      super(message, null, false, false);
      this.status = status;
    }

    public int status() {
      return status;
    }
  }

  private final Vertx vertx;
  private final VerifiedCache verified;
  private final MessageConsumer<JsonObject> revocations;

  /** @param revoked told the id of each key deleted anywhere in the cluster */
  public KeyVerifier(Vertx vertx, SecuritySettings settings, Consumer<String> revoked) {
    this.vertx = vertx;
    this.verified = new VerifiedCache(Duration.ofSeconds(settings.cacheSeconds()));
    // A deleted key stops working at once, on every node.
    this.revocations = vertx.eventBus().<JsonObject>consumer(BusAddress.IDENTITY_REVOKED.address(), m -> {
      String keyId = m.body().getString("key_id");
      if (keyId != null) {
        verified.revoke(keyId);
        revoked.accept(keyId);
      }
    });
  }

  /**
   * Who {@code key} belongs to. {@code address} is the caller's (the identity verticle sheds slow
   * checks by it); {@code mayHash} false (public routes) never spends a slow hash on the key.
   */
  public Future<Verified> verify(String key, String address, boolean mayHash) {
    JsonObject known = verified.get(key);
    if (known != null) {
      return Future.succeededFuture(toVerified(known));
    }
    return vertx.eventBus().<JsonObject>request(BusAddress.IDENTITY_KEY_VERIFY.address(),
            new JsonObject().put("key", key).put("address", address).put("may_hash", mayHash))
        .map(reply -> {
          verified.put(key, reply.body().getString("id"), reply.body());
          return toVerified(reply.body());
        })
        .recover(e -> Future.failedFuture(e instanceof ReplyException reply && reply.failureCode() == 401
            ? new KeyRefused(401, "unknown API key") : new KeyRefused(503, "identity check unavailable: " + e.getMessage())));
  }

  private static Verified toVerified(JsonObject answer) {
    return new Verified(answer.getString("id"), answer.getString("name"), Role.parse(answer.getString("role")));
  }

  public Future<Void> close() {
    return revocations.unregister();
  }
}
