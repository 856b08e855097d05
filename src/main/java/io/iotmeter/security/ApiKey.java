package io.iotmeter.security;

import java.util.Optional;

/**
 * The text of an API key: {@code iot_<id>_<secret>}, where the id (public, listed by
 * {@code GET /api/keys}) finds the stored hash and the secret is checked against it. A key of
 * any other form can only be the configured bootstrap admin key ({@code security.admin_key}),
 * whose id is {@value #BOOTSTRAP_ID}.
 */
public record ApiKey(String id, String secret) {

  public static final String BOOTSTRAP_ID = "admin";
  private static final String PREFIX = "iot_";

  public static ApiKey generate(String id) {
    return new ApiKey(id, Secrets.newSecret());
  }

  public static Optional<ApiKey> parse(String text) {
    if (text == null || !text.startsWith(PREFIX)) {
      return Optional.empty();
    }
    int end = text.indexOf('_', PREFIX.length());
    if (end <= PREFIX.length() || end == text.length() - 1) {
      return Optional.empty();
    }
    String id = text.substring(PREFIX.length(), end);
    return id.chars().allMatch(c -> (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        ? Optional.of(new ApiKey(id, text.substring(end + 1))) : Optional.empty();
  }

  /** The id a presented key is looked up under. */
  public static String idOf(String text) {
    return parse(text).map(ApiKey::id).orElse(BOOTSTRAP_ID);
  }

  /** The whole key, as the client sends it. */
  public String text() {
    return PREFIX + id + "_" + secret;
  }

  @Override
  public String toString() {
    return "ApiKey[" + id + "]"; // never the secret
  }
}
