package io.iotmeter.sim;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The firmware a simulated meter "downloads" in {@code start_ota}: nothing is fetched from
 * {@code fw_url}; the image of version {@code V} is the UTF-8 bytes of
 * {@code "iot-meter-firmware-" + V}. So the {@code fw_sha256} that makes an update succeed is
 * {@code printf 'iot-meter-firmware-2.1.0' | sha256sum}, or {@link #sha256Hex(String)}.
 */
public final class FirmwareImage {

  public static final String PREFIX = "iot-meter-firmware-";

  private FirmwareImage() {
  }

  public static byte[] bytes(String fwVersion) {
    return (PREFIX + fwVersion).getBytes(StandardCharsets.UTF_8);
  }

  /** The lower-case hex SHA-256 of the image of {@code fwVersion}. */
  public static String sha256Hex(String fwVersion) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes(fwVersion)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }
}
