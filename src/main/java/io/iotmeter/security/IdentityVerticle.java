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
 * bootstrap admin key. Revocations are published on {@link BusAddress#IDENTITY_REVOKED} for every
 * node to act on at once.
 *
 * <p>No stranger can make it hash: a presented secret that does not have the shape of one the
 * platform issues is refused before any lookup; what it issues is stored as SHA-256
 * ({@link Secrets}); the configured admin key is compared with the configuration in memory. Only
 * hashes from before that scheme (and a configured admin key another node stored) take bcrypt, on
 * two workers behind a {@link HashingGate} that sheds by caller address; a legacy hash that
 * matched is replaced by its SHA-256 at once, so each costs one bcrypt in its life.
 */
public final class IdentityVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(IdentityVerticle.class);
  static final String BOOTSTRAP_NAME = "bootstrap admin";

  /** Slow checks running or waiting at once, and of them per caller address. */
  static final int MAX_SLOW_CHECKS = 16;
  /** Credential queries running at once (of the pool's connections), devices per query, devices waiting at most. */
  static final int LOOKUPS_IN_FLIGHT = 2;
  static final int LOOKUP_BATCH = 1000;
  static final int LOOKUPS_WAITING = 100_000;
  static final int MAX_SLOW_CHECKS_PER_ADDRESS = 2;
  static final int SLOW_CHECKS_PER_ADDRESS_PER_S = 4;

  private Pool pool;
  private WorkerExecutor hashing;
  private HashingGate gate;
  private IdentityStore store;
  /** Device passwords' hashes, looked up many devices a query (a fleet reconnecting at once). */
  private BatchedLookup<String> deviceHashes;
  private SecuritySettings settings;
  private IdentityMetrics metrics;
  /** The stored bcrypt hash this node has checked against the configured admin key (no bcrypt for it again). */
  private String configuredAdminHash;
  private final List<MessageConsumer<JsonObject>> consumers = new ArrayList<>();

  @Override
  public Future<?> start() {
    settings = SecuritySettings.of(config());
    pool = Database.pool(vertx, config().getJsonObject("postgres"), "identity-" + System.identityHashCode(this));
    store = new IdentityStore(pool);
    deviceHashes = new BatchedLookup<>(store::deviceHashes, LOOKUPS_IN_FLIGHT, LOOKUP_BATCH, LOOKUPS_WAITING);
    // Two threads: bcrypt is CPU-bound; more would only take the cores from everything else.
    hashing = vertx.createSharedWorkerExecutor("identity-hashing", 2);
    gate = new HashingGate(hashing, MAX_SLOW_CHECKS, MAX_SLOW_CHECKS_PER_ADDRESS, SLOW_CHECKS_PER_ADDRESS_PER_S);
    metrics = IdentityMetrics.of(config(), gate);
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
   * A configured {@code security.admin_key} is stored; when the table held another key (the
   * configuration rotated it), the old one is revoked on every node at once. Without one, the
   * first start generates a key and prints it once; a concurrent start on another node loses the
   * insert and prints nothing. Once a bootstrap key was stored, a start without one makes no new
   * one (it was deleted on purpose) unless {@code security.mint_admin_key} asks for it.
   */
  private Future<Void> bootstrapAdminKey() {
    if (!settings.adminKey().isEmpty()) {
      // A person chose it: a slow hash in the table; this node compares presented keys with the configuration.
      String configured = settings.adminKey();
      return store.key(ApiKey.BOOTSTRAP_ID).compose(existing -> {
        if (existing.isPresent() && Secrets.isSlow(existing.get().secretHash())) {
          return hashing.executeBlocking(() -> Secrets.matchesSlow(existing.get().secretHash(), configured), false)
              .compose(same -> same ? Future.succeededFuture(existing.get().secretHash()) : storeConfigured(configured, true));
        }
        return storeConfigured(configured, existing.isPresent());
      }).onSuccess(h -> configuredAdminHash = h).mapEmpty();
    }
    return store.key(ApiKey.BOOTSTRAP_ID).compose(existing -> {
      if (existing.isPresent()) {
        return Future.succeededFuture();
      }
      return store.bootstrapStored().compose(stored -> {
        if (stored && !settings.mintAdminKey()) {
          LOG.warn("No bootstrap admin API key: it was deleted, and none is made again on its own. For a new one set "
              + "security.admin_key (IOT_SECURITY_ADMIN_KEY), or start once with security.mint_admin_key: true "
              + "(IOT_SECURITY_MINT_ADMIN_KEY=true); or create one with another admin key (POST /api/keys)");
          return Future.succeededFuture();
        }
        ApiKey key = ApiKey.generate(ApiKey.BOOTSTRAP_ID);
        return store.insertBootstrapIfMissing(BOOTSTRAP_NAME, Secrets.fastHash(key.text())).map(inserted -> {
          if (inserted) {
            printOnce(key);
          }
          return null;
        });
      });
    });
  }

  /** Stores the configured admin key's hash; {@code replaced}: another key was there, revoked now everywhere. */
  private Future<String> storeConfigured(String configured, boolean replaced) {
    return slowHash(configured).compose(h -> store.upsertBootstrap(BOOTSTRAP_NAME, h).map(v -> {
      if (replaced) {
        LOG.info("The admin API key was rotated by configuration (security.admin_key): the old one is revoked on every node");
        vertx.eventBus().publish(BusAddress.IDENTITY_REVOKED.address(), new JsonObject().put("key_id", ApiKey.BOOTSTRAP_ID));
      }
      return h;
    }));
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
        then DELETE /api/keys/admin (no new one is made at the next start) — or set
        IOT_SECURITY_ADMIN_KEY and restart.
        ======================================================================
        """.formatted(key.text()));
    LOG.warn("Generated the bootstrap admin API key (id '{}'); it was printed once on the console", key.id());
  }

  private void verifyKey(Message<JsonObject> request) {
    String text = request.body().getString("key", "");
    String address = request.body().getString("address", "?");
    boolean mayHash = request.body().getBoolean("may_hash", true);
    Optional<ApiKey> parsed = ApiKey.parse(text);
    boolean configured = !settings.adminKey().isEmpty();
    Future<Optional<IdentityStore.StoredKey>> checked;
    if (configured && Secrets.sameText(settings.adminKey(), text)) {
      checked = store.key(ApiKey.BOOTSTRAP_ID).compose(found -> found.isEmpty() ? Future.succeededFuture(found)
          : configuredAdmin(found.get().secretHash(), address, mayHash).map(ok -> ok ? found : Optional.empty()));
    } else if (parsed.isPresent() && Secrets.looksGenerated(parsed.get().secret())
        // with a configured admin key, the bootstrap row holds its hash: no generated key can match it
        && !(configured && parsed.get().id().equals(ApiKey.BOOTSTRAP_ID))) {
      checked = store.key(parsed.get().id()).compose(found -> found.isEmpty()
          ? Future.succeededFuture(found)
          : check(found.get().secretHash(), text, address, mayHash, h -> store.replaceKeyHash(found.get().id(), found.get().secretHash(), h))
              .map(ok -> ok ? found : Optional.empty()));
    } else {
      // Neither a key the platform issued nor the configured one: refused without a lookup or a hash.
      metrics.refused(IdentityMetrics.MALFORMED);
      request.fail(401, "unknown API key");
      return;
    }
    checked.onSuccess(found -> {
          if (found.isPresent()) {
            request.reply(found.get().toJson());
          } else {
            metrics.refused(IdentityMetrics.UNKNOWN);
            request.fail(401, "unknown API key");
          }
        })
        .onFailure(e -> fail(request, e));
  }

  /**
   * The configured admin key was presented: it is valid while the bootstrap row holds a hash of
   * it. The hash this node stored, or one it checked before, needs no bcrypt; another node's (it
   * stored its own salt) is checked once.
   */
  private Future<Boolean> configuredAdmin(String stored, String address, boolean mayHash) {
    if (stored.equals(configuredAdminHash)) {
      return Future.succeededFuture(true);
    }
    return check(stored, settings.adminKey(), address, mayHash, null).onSuccess(ok -> {
      if (ok && Secrets.isSlow(stored)) {
        configuredAdminHash = stored;
      }
    });
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
    String address = request.body().getString("address", "?");
    if (!Secrets.looksGenerated(password)) {
      // Not a password the platform issued: refused without a lookup or a hash.
      metrics.refused(IdentityMetrics.MALFORMED);
      request.fail(401, "bad user name or password");
      return;
    }
    deviceHashes.get(deviceId)
        .compose(hash -> hash.isEmpty() ? Future.succeededFuture(false)
            : check(hash.get(), password, address, true, h -> store.replaceDeviceHash(deviceId, hash.get(), h)))
        .onSuccess(ok -> {
          if (ok) {
            request.reply(new JsonObject().put("device_id", deviceId));
          } else {
            metrics.refused(IdentityMetrics.UNKNOWN);
            request.fail(401, "bad user name or password");
          }
        })
        .onFailure(e -> {
          if (e instanceof BatchedLookup.Busy) {
            metrics.refused(IdentityMetrics.SHED);
            request.fail(503, e.getMessage());
          } else {
            fail(request, e);
          }
        });
  }

  /**
   * Checks {@code secret} against its stored form: a SHA-256 here and now; a bcrypt hash (stored
   * before SHA-256, or a person's) through the gate, and only where the caller allows hashing.
   * A bcrypt hash of a generated secret that matched is replaced by its SHA-256 ({@code upgrade},
   * null for none), so it is never hashed again.
   */
  private Future<Boolean> check(String stored, String secret, String address, boolean mayHash,
                                java.util.function.Function<String, Future<Void>> upgrade) {
    if (!Secrets.isSlow(stored)) {
      return Future.succeededFuture(Secrets.matchesFast(stored, secret));
    }
    if (!mayHash) {
      return Future.succeededFuture(false);
    }
    return gate.<Boolean>submit(address, () -> Secrets.matchesSlow(stored, secret))
        .recover(e -> {
          if (e instanceof HashingGate.Busy) {
            metrics.refused(IdentityMetrics.SHED);
            return refused(503, e.getMessage());
          }
          return Future.failedFuture(e);
        })
        .onSuccess(ok -> {
          if (ok && upgrade != null) {
            upgrade.apply(Secrets.fastHash(secret))
                .onFailure(e -> LOG.warn("Could not replace a bcrypt hash by its SHA-256 (it stays valid): {}", e.getMessage()));
          }
        });
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
        case "register_device" -> registerDevice(body);
        case "revoke_device" -> revokeDevice(body.getString("device_id"));
        case "forget_device" -> forgetDevice(body.getString("device_id"));
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
    return store.insertKey(key.id(), name, role, Secrets.fastHash(key.text()))
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
        ? store.saveDeviceHash(deviceId, Secrets.fastHash(password)).compose(v -> {
          // A session that used the old password ends now.
          vertx.eventBus().publish(BusAddress.IDENTITY_REVOKED.address(), new JsonObject().put("device_id", deviceId));
          LOG.info("Credentials issued for device {}", deviceId);
          JsonObject issued = new JsonObject().put("device_id", deviceId).put("username", deviceId).put("password", password);
          return provisionBrokers(new JsonObject().put("action", "set").put("device_id", deviceId).put("password", password))
              .map(brokers -> brokers == null ? issued : issued.put("brokers", brokers));
        })
        : refused(404, "Device " + deviceId + " not found"));
  }

  /**
   * Registers a device unless it is known (the simulator's traction meters, with their billing
   * metadata), as an operator would with POST /api/devices; a known device is left as it is.
   */
  private Future<JsonObject> registerDevice(JsonObject body) {
    String deviceId = body.getString("device_id");
    if (deviceId == null || !io.iotmeter.protocol.DeviceTopic.DEVICE_ID.matcher(deviceId).matches()) {
      return refused(400, "field 'device_id' must be a device id");
    }
    JsonObject metadata = body.getJsonObject("metadata", new JsonObject());
    java.util.Optional<String> problem = io.iotmeter.energy.DeviceMetadata.problem(metadata);
    if (problem.isPresent()) {
      return refused(400, "field " + problem.get());
    }
    return io.iotmeter.registry.RegistryWrites.registerIfAbsent(pool, deviceId, body.getString("device_name", deviceId),
            body.getString("device_type"), metadata)
        .map(registered -> new JsonObject().put("device_id", deviceId).put("registered", registered));
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
   * A deleted device (its credentials went with its row): its sessions end on every node, any
   * cached secret of it is forgotten, and external brokers drop its client and role.
   */
  private Future<JsonObject> forgetDevice(String deviceId) {
    if (deviceId == null) {
      return refused(400, "field 'device_id' is required");
    }
    return store.deleteDeviceCredentials(deviceId).compose(hadCredentials -> {
      vertx.eventBus().publish(BusAddress.IDENTITY_REVOKED.address(), new JsonObject().put("device_id", deviceId));
      LOG.info("Device {} deleted: revoked everywhere", deviceId);
      JsonObject forgotten = new JsonObject().put("device_id", deviceId).put("revoked", true);
      return provisionBrokers(new JsonObject().put("action", "delete").put("device_id", deviceId))
          .map(brokers -> brokers == null ? forgotten : forgotten.put("brokers", brokers));
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

  private Future<String> slowHash(String secret) {
    return hashing.executeBlocking(() -> Secrets.slowHash(secret, settings.hashCost()), false);
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
