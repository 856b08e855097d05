package io.iotmeter.security;

import org.bouncycastle.crypto.generators.OpenBSDBCrypt;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/**
 * Secrets (API keys, device passwords) and how they are stored. What the platform generates
 * carries 256 random bits from {@link SecureRandom}: no one can guess it, so it is stored as its
 * SHA-256 ({@value #FAST_PREFIX}…), checked in microseconds and compared in constant time, as any
 * API token is. A slow salted hash (bcrypt, BouncyCastle's OpenBSD bcrypt) is only for a secret a
 * person chose (a configured {@code security.admin_key}) and for hashes stored before this
 * scheme; checking one takes tens of milliseconds, so callers run it on a bounded worker pool
 * ({@link HashingGate}), never on an event loop.
 */
public final class Secrets {

  private static final SecureRandom RANDOM = new SecureRandom();
  /** bcrypt reads at most 72 bytes of a secret; longer ones are refused rather than cut. */
  static final int MAX_SECRET_BYTES = 72;
  /** The stored form of a generated secret: this prefix and the SHA-256 of the secret in hex. */
  static final String FAST_PREFIX = "sha256:";
  /** The length of {@link #newSecret()}: 32 bytes in URL-safe base64 without padding. */
  static final int GENERATED_LENGTH = 43;

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

  /**
   * Whether {@code secret} has the shape of {@link #newSecret()}: anything else cannot be a
   * secret the platform issued, and is refused before any lookup or hashing.
   */
  public static boolean looksGenerated(String secret) {
    if (secret == null || secret.length() != GENERATED_LENGTH) {
      return false;
    }
    for (int i = 0; i < secret.length(); i++) {
      char c = secret.charAt(i);
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
        return false;
      }
    }
    return true;
  }

  /** The stored form of a secret the platform generated (256 random bits): its SHA-256. */
  public static String fastHash(String secret) {
    return FAST_PREFIX + digest(secret);
  }

  /** The stored form of a secret a person chose: salted bcrypt of {@code 2^cost} rounds. Slow. */
  public static String slowHash(String secret, int cost) {
    checkLength(secret);
    byte[] salt = new byte[16];
    RANDOM.nextBytes(salt);
    return OpenBSDBCrypt.generate("2b", secret.toCharArray(), salt, cost);
  }

  /** Whether checking against {@code stored} needs the slow hash (bcrypt), off the event loop. */
  public static boolean isSlow(String stored) {
    return stored != null && !stored.startsWith(FAST_PREFIX);
  }

  /** Checks a secret against a {@link #fastHash} in constant time; false for any other stored form. */
  public static boolean matchesFast(String stored, String secret) {
    if (stored == null || secret == null || !stored.startsWith(FAST_PREFIX)) {
      return false;
    }
    return MessageDigest.isEqual(stored.getBytes(StandardCharsets.US_ASCII), fastHash(secret).getBytes(StandardCharsets.US_ASCII));
  }

  /** Checks a secret against a {@link #slowHash}. Takes as long as the hash's cost says. */
  public static boolean matchesSlow(String stored, String secret) {
    if (stored == null || secret == null || secret.getBytes(StandardCharsets.UTF_8).length > MAX_SECRET_BYTES) {
      return false;
    }
    try {
      return OpenBSDBCrypt.checkPassword(stored, secret.toCharArray());
    } catch (IllegalArgumentException malformedHash) {
      return false;
    }
  }

  /** Whether two texts are equal, in time that does not depend on where they differ. */
  public static boolean sameText(String a, String b) {
    return a != null && b != null && MessageDigest.isEqual(digestBytes(a), digestBytes(b));
  }

  /**
   * A fast digest for in-memory caches of verified secrets: what a cache holds is not the secret,
   * and a lookup costs no bcrypt. Never stored.
   */
  public static String digest(String secret) {
    return HexFormat.of().formatHex(digestBytes(secret));
  }

  private static byte[] digestBytes(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
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
