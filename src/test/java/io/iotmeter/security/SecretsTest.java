package io.iotmeter.security;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** How secrets are stored: generated ones as SHA-256, chosen ones as bcrypt; and which shapes are refused unseen. */
class SecretsTest {

  @Test
  void aGeneratedSecretHasTheShapeThatIsCheckedBeforeAnyLookup() {
    for (int i = 0; i < 100; i++) {
      assertThat(Secrets.looksGenerated(Secrets.newSecret())).isTrue();
    }
    String good = Secrets.newSecret();
    assertThat(Secrets.looksGenerated(good.substring(1))).as("one character short").isFalse();
    assertThat(Secrets.looksGenerated(good + "A")).as("one character long").isFalse();
    assertThat(Secrets.looksGenerated(good.substring(1) + "=")).as("padding").isFalse();
    assertThat(Secrets.looksGenerated(good.substring(1) + "+")).as("standard base64").isFalse();
    assertThat(Secrets.looksGenerated(good.substring(1) + "é")).isFalse();
    assertThat(Secrets.looksGenerated("")).isFalse();
    assertThat(Secrets.looksGenerated(null)).isFalse();
  }

  @Test
  void aGeneratedSecretIsStoredAsItsSha256AndCheckedWithoutBcrypt() {
    String secret = Secrets.newSecret();
    String stored = Secrets.fastHash(secret);
    assertThat(stored).startsWith("sha256:").hasSize(7 + 64).doesNotContain(secret);
    assertThat(Secrets.isSlow(stored)).isFalse();
    assertThat(Secrets.matchesFast(stored, secret)).isTrue();
    assertThat(Secrets.matchesFast(stored, Secrets.newSecret())).isFalse();
    assertThat(Secrets.matchesFast(stored, null)).isFalse();
    assertThat(Secrets.matchesFast(null, secret)).isFalse();
    // a bcrypt hash is never taken for a SHA-256 one
    assertThat(Secrets.matchesFast(Secrets.slowHash(secret, 4), secret)).isFalse();
  }

  @Test
  void aChosenSecretIsStoredAsBcryptAndOnlyTheSlowCheckReadsIt() {
    String stored = Secrets.slowHash("a person's long admin key 0123", 4);
    assertThat(stored).startsWith("$2b$04$");
    assertThat(Secrets.isSlow(stored)).isTrue();
    assertThat(Secrets.matchesSlow(stored, "a person's long admin key 0123")).isTrue();
    assertThat(Secrets.matchesSlow(stored, "a person's long admin key 0124")).isFalse();
    assertThat(Secrets.matchesSlow("not a hash", "x")).isFalse();
    assertThat(Secrets.matchesSlow(stored, "x".repeat(Secrets.MAX_SECRET_BYTES + 1))).isFalse();
    assertThatThrownBy(() -> Secrets.slowHash("", 4)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void textsAreComparedWhole() {
    assertThat(Secrets.sameText("admin-key-0123456789abcdef", "admin-key-0123456789abcdef")).isTrue();
    assertThat(Secrets.sameText("admin-key-0123456789abcdef", "admin-key-0123456789abcdeF")).isFalse();
    assertThat(Secrets.sameText("admin-key-0123456789abcdef", "admin-key-0123456789abcde")).isFalse();
    assertThat(Secrets.sameText(null, "x")).isFalse();
  }
}
