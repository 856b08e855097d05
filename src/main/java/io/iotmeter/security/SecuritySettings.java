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

  public static SecuritySettings of(JsonObject config) {
    Settings security = Settings.of(config, "security");
    int cost = security.integer("hash_cost");
    if (cost < 4 || cost > 31) {
      throw new IllegalArgumentException("security.hash_cost must be between 4 and 31, got " + cost);
    }
    return new SecuritySettings(security.flag("enabled"), security.text("admin_key"), cost, security.integer("cache_s"),
        security.flag("mint_admin_key"));
  }
}
