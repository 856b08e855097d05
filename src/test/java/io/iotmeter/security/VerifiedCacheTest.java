package io.iotmeter.security;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** What a node remembers of secrets it checked: until expiry or a revocation of their owner. */
class VerifiedCacheTest {

  @Test
  void aRevocationForgetsEverySecretOfItsOwnerOnly() {
    VerifiedCache cache = new VerifiedCache(Duration.ofMinutes(5));
    cache.put("secret-a1", "a", new JsonObject().put("id", "a"));
    cache.put("secret-a2", "a", new JsonObject().put("id", "a"));
    cache.put("secret-b", "b", new JsonObject().put("id", "b"));
    cache.revoke("a");
    assertThat(cache.get("secret-a1")).isNull();
    assertThat(cache.get("secret-a2")).isNull();
    assertThat(cache.get("secret-b").getString("id")).isEqualTo("b");
    assertThat(cache.get("unknown")).isNull();
  }

  @Test
  void anExpiredOrDisabledEntryIsNotTrusted() throws InterruptedException {
    VerifiedCache shortLived = new VerifiedCache(Duration.ofMillis(50));
    shortLived.put("secret", "a", new JsonObject());
    assertThat(shortLived.get("secret")).isNotNull();
    Thread.sleep(120);
    assertThat(shortLived.get("secret")).isNull();
    VerifiedCache off = new VerifiedCache(Duration.ZERO);
    off.put("secret", "a", new JsonObject());
    assertThat(off.get("secret")).isNull();
  }
}
