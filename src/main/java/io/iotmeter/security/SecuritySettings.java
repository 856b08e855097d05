package io.iotmeter.security;

import io.iotmeter.config.Settings;
import io.vertx.core.json.JsonObject;

/**
 * The {@code security} section, typed; its defaults live in {@code conf/default.yaml}.
 *
 * @param enabled       false reproduces the reference system: anonymous MQTT, open API, unknown
 *                      devices registered on their first message
 * @param adminKey      the bootstrap admin API key; empty: generated on the first start and
 *                      printed once
 * @param hashCost      bcrypt cost of stored secrets (2^cost rounds; 10 takes tens of ms)
 * @param cacheSeconds  how long a node trusts a secret it verified (revocation clears it at once)
 * @param mintAdminKey  without {@code adminKey} and without a bootstrap key in the table: make and
 *                      print a new one even though one was made (and deleted) before
 */
public record SecuritySettings(boolean enabled, String adminKey, int hashCost, int cacheSeconds, boolean mintAdminKey) {

  /** 128 bits as URL-safe base64: the shortest configured admin key taken. */
  public static final int MIN_ADMIN_KEY_CHARS = 22;

  public static SecuritySettings of(JsonObject config) {
    Settings security = Settings.of(config, "security");
    int cost = security.integer("hash_cost");
    if (cost < 4 || cost > 31) {
      throw new IllegalArgumentException("security.hash_cost must be between 4 and 31, got " + cost);
    }
    String adminKey = security.text("admin_key");
    if (!adminKey.isEmpty() && adminKey.length() < MIN_ADMIN_KEY_CHARS) {
      // Never the key itself in the message: it ends up in logs.
      throw new IllegalArgumentException("security.admin_key has " + adminKey.length() + " characters; it must carry at least "
          + "128 bits: " + MIN_ADMIN_KEY_CHARS + " or more random characters (e.g. openssl rand -base64 32), or leave it empty "
          + "to have one generated");
    }
    return new SecuritySettings(security.flag("enabled"), adminKey, cost, security.integer("cache_s"),
        security.flag("mint_admin_key"));
  }
}
