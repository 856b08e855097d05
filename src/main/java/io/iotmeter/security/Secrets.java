package io.iotmeter.security;

import org.bouncycastle.crypto.generators.OpenBSDBCrypt;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/**
 * Secrets (API keys, device passwords): generated from {@link SecureRandom}, stored only as
 * salted bcrypt hashes (BouncyCastle's OpenBSD bcrypt). Hashing and checking are slow on purpose
 * (tens of milliseconds at cost 10): call them on a worker thread, never on an event loop.
 */
public final class Secrets {

  private static final SecureRandom RANDOM = new SecureRandom();
  /** bcrypt reads at most 72 bytes of a secret; longer ones are refused rather than cut. */
  static final int MAX_SECRET_BYTES = 72;

  private Secrets() {
  }

  /** 32 random bytes, URL-safe base64 without padding (43 characters). */
  public static String newSecret() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  /** A short public identifier (16 hex characters). */
  public static String newId() {
    byte[] bytes = new byte[8];
    RANDOM.nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  public static String hash(String secret, int cost) {
    checkLength(secret);
    byte[] salt = new byte[16];
    RANDOM.nextBytes(salt);
    return OpenBSDBCrypt.generate("2b", secret.toCharArray(), salt, cost);
  }

  public static boolean matches(String hash, String secret) {
    if (hash == null || secret == null || secret.getBytes(StandardCharsets.UTF_8).length > MAX_SECRET_BYTES) {
      return false;
    }
    try {
      return OpenBSDBCrypt.checkPassword(hash, secret.toCharArray());
    } catch (IllegalArgumentException malformedHash) {
      return false;
    }
  }

  /**
   * A fast digest for in-memory caches of verified secrets: what a cache holds is not the secret,
   * and a lookup costs no bcrypt. Never stored.
   */
  public static String digest(String secret) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void checkLength(String secret) {
    if (secret.isEmpty() || secret.getBytes(StandardCharsets.UTF_8).length > MAX_SECRET_BYTES) {
      throw new IllegalArgumentException("a secret must have 1 to " + MAX_SECRET_BYTES + " bytes");
    }
  }
}
