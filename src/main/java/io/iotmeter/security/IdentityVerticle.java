package io.iotmeter.security;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.store.Database;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Identity: API keys with roles and device credentials ({@code api_keys},
 * {@code device_credentials}). Checks a presented key or password for the API and the MQTT
 * endpoint, issues and revokes them for the API, and on the first secured start creates the
 * bootstrap admin key. Secrets are hashed and checked (bcrypt) on a small worker pool of its
 * own, so a burst of logins waits there instead of blocking anything else; revocations are
 * published on {@link BusAddress#IDENTITY_REVOKED} for every node to act on at once.
 */
public final class IdentityVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(IdentityVerticle.class);
  static final String BOOTSTRAP_NAME = "bootstrap admin";

  private Pool pool;
  private WorkerExecutor hashing;
  private IdentityStore store;
  private SecuritySettings settings;
  private final List<MessageConsumer<JsonObject>> consumers = new ArrayList<>();

  @Override
  public Future<?> start() {
    settings = SecuritySettings.of(config());
    pool = Database.pool(vertx, config().getJsonObject("postgres"), "identity-" + System.identityHashCode(this));
    store = new IdentityStore(pool);
    // Two threads: bcrypt is CPU-bound; more would only take the cores from everything else.
    hashing = vertx.createSharedWorkerExecutor("identity-hashing", 2);
    consumers.add(vertx.eventBus().consumer(BusAddress.IDENTITY_KEY_VERIFY.address(), this::verifyKey));
    consumers.add(vertx.eventBus().consumer(BusAddress.IDENTITY_DEVICE_VERIFY.address(), this::verifyDevice));
    consumers.add(vertx.eventBus().consumer(BusAddress.IDENTITY_MANAGE.address(), this::manage));
    Future<Void> bootstrap = settings.enabled() ? bootstrapAdminKey() : Future.succeededFuture();
    return bootstrap.compose(v -> Future.all(consumers.stream().map(MessageConsumer::completion).toList()));
  }

  @Override
  public Future<?> stop() {
    return Future.all(consumers.stream().map(MessageConsumer::unregister).toList())
        .eventually(() -> hashing.close()).eventually(() -> pool.close());
  }

  /**
   * A configured {@code security.admin_key} is stored (its hash replaces an older one: rotation
   * by configuration). Without one, the first start generates a key and prints it once; a
   * concurrent start on another node loses the insert and prints nothing.
   */
  private Future<Void> bootstrapAdminKey() {
    if (!settings.adminKey().isEmpty()) {
      String configured = settings.adminKey();
      return hash(configured).compose(h -> store.upsertBootstrap(BOOTSTRAP_NAME, h));
    }
    return store.key(ApiKey.BOOTSTRAP_ID).compose(existing -> {
      if (existing.isPresent()) {
        return Future.succeededFuture();
      }
      ApiKey key = ApiKey.generate(ApiKey.BOOTSTRAP_ID);
      return hash(key.text()).compose(h -> store.insertBootstrapIfMissing(BOOTSTRAP_NAME, h)).map(inserted -> {
        if (inserted) {
          printOnce(key);
        }
        return null;
      });
    });
  }

  /** On the console only, never through the logger (whose files outlive the console). */
  private static void printOnce(ApiKey key) {
    System.out.println("""

        ======================================================================
        IoT Meter: security is on and no admin API key was configured, so one
        was generated. It is shown only now; only its hash is stored:

            %s

        Use it as  curl -H "Authorization: Bearer <key>" http://localhost:8080/api/devices
        To rotate: create another admin key (POST /api/keys {"name":"ops","role":"admin"}),
        then DELETE /api/keys/admin — or set IOT_SECURITY_ADMIN_KEY and restart.
        ======================================================================
        """.formatted(key.text()));
    LOG.warn("Generated the bootstrap admin API key (id '{}'); it was printed once on the console", key.id());
  }

  private void verifyKey(Message<JsonObject> request) {
    String text = request.body().getString("key", "");
    store.key(ApiKey.idOf(text))
        .compose(found -> found.isEmpty() ? Future.succeededFuture(Optional.<IdentityStore.StoredKey>empty())
            : matches(found.get().secretHash(), text).map(ok -> ok ? found : Optional.<IdentityStore.StoredKey>empty()))
        .onSuccess(found -> {
          if (found.isPresent()) {
            request.reply(found.get().toJson());
          } else {
            request.fail(401, "unknown API key");
          }
        })
        .onFailure(e -> fail(request, e));
  }

  private void verifyDevice(Message<JsonObject> request) {
    String deviceId = request.body().getString("device_id", "");
    if (request.body().getBoolean("certificate", false)) {
      // A client certificate the TLS handshake verified: the device must be registered.
      store.deviceExists(deviceId).onSuccess(exists -> {
        if (exists) {
          request.reply(new JsonObject().put("device_id", deviceId));
        } else {
          request.fail(401, "no registered device " + deviceId);
        }
      }).onFailure(e -> fail(request, e));
      return;
    }
    String password = request.body().getString("password", "");
    store.deviceHash(deviceId)
        .compose(hash -> hash.isEmpty() ? Future.succeededFuture(false) : matches(hash.get(), password))
        .onSuccess(ok -> {
          if (ok) {
            request.reply(new JsonObject().put("device_id", deviceId));
          } else {
            request.fail(401, "bad user name or password");
          }
        })
        .onFailure(e -> fail(request, e));
  }

  private void manage(Message<JsonObject> request) {
    JsonObject body = request.body();
    Future<JsonObject> result;
    try {
      result = switch (body.getString("action", "")) {
        case "create_key" -> createKey(body.getString("name"), Role.parse(body.getString("role")));
        case "list_keys" -> store.keys().map(keys -> new JsonObject().put("keys", keys));
        case "delete_key" -> deleteKey(body.getString("id"));
        case "issue_device" -> issueDevice(body.getString("device_id"));
        case "revoke_device" -> revokeDevice(body.getString("device_id"));
        default -> Future.failedFuture(new ReplyException(io.vertx.core.eventbus.ReplyFailure.RECIPIENT_FAILURE, 400,
            "unknown action '" + body.getString("action") + "'"));
      };
    } catch (IllegalArgumentException e) {
      request.fail(400, e.getMessage());
      return;
    }
    result.onSuccess(request::reply).onFailure(e -> fail(request, e));
  }

  private Future<JsonObject> createKey(String name, Role role) {
    if (name == null || name.isBlank() || name.length() > 100) {
      return refused(400, "field 'name' is required (1 to 100 characters)");
    }
    ApiKey key = ApiKey.generate(Secrets.newId());
    return hash(key.text()).compose(h -> store.insertKey(key.id(), name, role, h))
        .map(stored -> {
          LOG.info("API key '{}' ({}, id {}) created", name, role.wireName(), key.id());
          return stored.toJson().put("key", key.text());
        });
  }

  private Future<JsonObject> deleteKey(String id) {
    return store.deleteKey(id == null ? "" : id).compose(deleted -> {
      if (!deleted) {
        return refused(404, "API key " + id + " not found");
      }
      LOG.info("API key {} deleted", id);
      vertx.eventBus().publish(BusAddress.IDENTITY_REVOKED.address(), new JsonObject().put("key_id", id));
      return Future.succeededFuture(new JsonObject().put("id", id).put("deleted", true));
    });
  }

  private Future<JsonObject> issueDevice(String deviceId) {
    if (deviceId == null) {
      return refused(400, "field 'device_id' is required");
    }
    String password = Secrets.newSecret();
    return store.deviceExists(deviceId).compose(exists -> exists
        ? hash(password).compose(h -> store.saveDeviceHash(deviceId, h)).compose(v -> {
          // A session that used the old password ends now.
          vertx.eventBus().publish(BusAddress.IDENTITY_REVOKED.address(), new JsonObject().put("device_id", deviceId));
          LOG.info("Credentials issued for device {}", deviceId);
          JsonObject issued = new JsonObject().put("device_id", deviceId).put("username", deviceId).put("password", password);
          return provisionBrokers(new JsonObject().put("action", "set").put("device_id", deviceId).put("password", password))
              .map(brokers -> brokers == null ? issued : issued.put("brokers", brokers));
        })
        : refused(404, "Device " + deviceId + " not found"));
  }

  private Future<JsonObject> revokeDevice(String deviceId) {
    return store.deleteDeviceCredentials(deviceId == null ? "" : deviceId).compose(deleted -> {
      if (!deleted) {
        return refused(404, "Device " + deviceId + " has no credentials");
      }
      vertx.eventBus().publish(BusAddress.IDENTITY_REVOKED.address(), new JsonObject().put("device_id", deviceId));
      LOG.info("Credentials of device {} revoked", deviceId);
      JsonObject revoked = new JsonObject().put("device_id", deviceId).put("revoked", true);
      return provisionBrokers(new JsonObject().put("action", "delete").put("device_id", deviceId))
          .map(brokers -> brokers == null ? revoked : revoked.put("brokers", brokers));
    });
  }

  /**
   * Into (or out of) external brokers' dynamic security, where a bridge provisions them: their
   * outcome per broker, or null without such a bridge. A broker that missed them is named, not
   * hidden; the platform's own endpoint already checks against the table.
   */
  private Future<JsonObject> provisionBrokers(JsonObject request) {
    return vertx.eventBus().<JsonObject>request(BusAddress.BRIDGE_PROVISION.address(), request)
        .map(reply -> reply.body().getJsonObject("brokers"))
        .recover(e -> {
          if (e instanceof ReplyException reply && reply.failureType() == io.vertx.core.eventbus.ReplyFailure.NO_HANDLERS) {
            return Future.succeededFuture(null);
          }
          LOG.warn("Brokers did not take the credentials change of {}: {}", request.getString("device_id"), e.getMessage());
          return Future.succeededFuture(new JsonObject().put("error", e.getMessage()));
        });
  }

  private Future<String> hash(String secret) {
    return hashing.executeBlocking(() -> Secrets.hash(secret, settings.hashCost()), false);
  }

  private Future<Boolean> matches(String hash, String secret) {
    return hashing.executeBlocking(() -> Secrets.matches(hash, secret), false);
  }

  private static <T> Future<T> refused(int code, String message) {
    return Future.failedFuture(new ReplyException(io.vertx.core.eventbus.ReplyFailure.RECIPIENT_FAILURE, code, message));
  }

  private static void fail(Message<JsonObject> request, Throwable e) {
    if (e instanceof ReplyException reply && reply.failureType() == io.vertx.core.eventbus.ReplyFailure.RECIPIENT_FAILURE) {
      request.fail(reply.failureCode(), reply.getMessage());
    } else {
      LOG.warn("Identity request failed: {}", e.getMessage());
      request.fail(503, "identity store unavailable: " + e.getMessage());
    }
  }
}
