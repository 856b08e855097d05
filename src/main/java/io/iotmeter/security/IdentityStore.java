package io.iotmeter.security;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

import java.util.Optional;

/** All SQL of {@code api_keys}, {@code device_credentials} and {@code identity_bootstrap}; only the identity verticle uses it. */
final class IdentityStore {

  /** A stored API key, without its hash. */
  record StoredKey(String id, String name, Role role, String secretHash, String createdAt) {
    JsonObject toJson() {
      return new JsonObject().put("id", id).put("name", name).put("role", role.wireName()).put("created_at", createdAt);
    }
  }

  private final Pool pool;

  IdentityStore(Pool pool) {
    this.pool = pool;
  }

  Future<Optional<StoredKey>> key(String id) {
    return pool.preparedQuery("SELECT id, name, role, secret_hash, created_at FROM api_keys WHERE id = $1")
        .execute(Tuple.of(id))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(toKey(rows.iterator().next())));
  }

  Future<JsonArray> keys() {
    return pool.query("SELECT id, name, role, secret_hash, created_at FROM api_keys ORDER BY created_at, id").execute()
        .map(rows -> {
          JsonArray keys = new JsonArray();
          rows.forEach(r -> keys.add(toKey(r).toJson()));
          return keys;
        });
  }

  Future<StoredKey> insertKey(String id, String name, Role role, String hash) {
    return pool.preparedQuery("INSERT INTO api_keys (id, name, role, secret_hash) VALUES ($1, $2, $3, $4) "
            + "RETURNING id, name, role, secret_hash, created_at")
        .execute(Tuple.of(id, name, role.wireName(), hash))
        .map(rows -> toKey(rows.iterator().next()));
  }

  /** Whether a bootstrap admin key was ever stored in this database. */
  Future<Boolean> bootstrapStored() {
    return pool.query("SELECT 1 FROM identity_bootstrap").execute().map(rows -> rows.size() > 0);
  }

  /**
   * Inserts the bootstrap admin key unless one exists, and notes that a bootstrap key was stored,
   * in one statement; true when this call inserted it.
   */
  Future<Boolean> insertBootstrapIfMissing(String name, String hash) {
    return pool.preparedQuery("WITH inserted AS (INSERT INTO api_keys (id, name, role, secret_hash) "
            + "VALUES ($1, $2, 'admin', $3) ON CONFLICT (id) DO NOTHING RETURNING id) "
            + "INSERT INTO identity_bootstrap (id) SELECT 1 FROM inserted "
            + "ON CONFLICT (id) DO UPDATE SET stored_at = now() RETURNING id")
        .execute(Tuple.of(ApiKey.BOOTSTRAP_ID, name, hash))
        .map(rows -> rows.rowCount() == 1);
  }

  /** Stores the configured bootstrap key's hash (inserted, or replacing another key's), noting the bootstrap. */
  Future<Void> upsertBootstrap(String name, String hash) {
    return pool.preparedQuery("WITH stored AS (INSERT INTO api_keys (id, name, role, secret_hash) VALUES ($1, $2, 'admin', $3) "
            + "ON CONFLICT (id) DO UPDATE SET secret_hash = EXCLUDED.secret_hash, role = 'admin' RETURNING id) "
            + "INSERT INTO identity_bootstrap (id) SELECT 1 FROM stored ON CONFLICT (id) DO UPDATE SET stored_at = now()")
        .execute(Tuple.of(ApiKey.BOOTSTRAP_ID, name, hash))
        .mapEmpty();
  }

  /** Replaces a key's stored hash, unless it changed since it was read (then the newer one stays). */
  Future<Void> replaceKeyHash(String id, String old, String hash) {
    return pool.preparedQuery("UPDATE api_keys SET secret_hash = $3 WHERE id = $1 AND secret_hash = $2")
        .execute(Tuple.of(id, old, hash)).mapEmpty();
  }

  /** Replaces a device's stored hash, unless it changed since it was read (then the newer one stays). */
  Future<Void> replaceDeviceHash(String deviceId, String old, String hash) {
    return pool.preparedQuery("UPDATE device_credentials SET secret_hash = $3 WHERE device_id = $1 AND secret_hash = $2")
        .execute(Tuple.of(deviceId, old, hash)).mapEmpty();
  }

  Future<Boolean> deleteKey(String id) {
    return pool.preparedQuery("DELETE FROM api_keys WHERE id = $1").execute(Tuple.of(id)).map(rows -> rows.rowCount() == 1);
  }

  Future<Boolean> deviceExists(String deviceId) {
    return pool.preparedQuery("SELECT 1 FROM devices WHERE device_id = $1").execute(Tuple.of(deviceId))
        .map(rows -> rows.size() == 1);
  }

  /** The stored hashes of these devices, in one query (devices without credentials are absent). */
  Future<java.util.Map<String, String>> deviceHashes(java.util.List<String> deviceIds) {
    return pool.preparedQuery("SELECT device_id, secret_hash FROM device_credentials WHERE device_id = ANY($1)")
        .execute(Tuple.of(deviceIds.toArray(new String[0])))
        .map(rows -> {
          java.util.Map<String, String> hashes = new java.util.HashMap<>();
          rows.forEach(r -> hashes.put(r.getString(0), r.getString(1)));
          return hashes;
        });
  }

  Future<Void> saveDeviceHash(String deviceId, String hash) {
    return pool.preparedQuery("INSERT INTO device_credentials (device_id, secret_hash) VALUES ($1, $2) "
            + "ON CONFLICT (device_id) DO UPDATE SET secret_hash = EXCLUDED.secret_hash, created_at = now()")
        .execute(Tuple.of(deviceId, hash))
        .mapEmpty();
  }

  Future<Boolean> deleteDeviceCredentials(String deviceId) {
    return pool.preparedQuery("DELETE FROM device_credentials WHERE device_id = $1").execute(Tuple.of(deviceId))
        .map(rows -> rows.rowCount() == 1);
  }

  private static StoredKey toKey(Row row) {
    return new StoredKey(row.getString("id"), row.getString("name"), Role.parse(row.getString("role")),
        row.getString("secret_hash"), row.getOffsetDateTime("created_at").toInstant().toString());
  }
}
