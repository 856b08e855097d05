package io.iotmeter.security;

import io.iotmeter.config.Settings;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A {@code tls} section ({@code mqtt.tls}, {@code http.tls}), typed: PEM certificate chain and
 * private key, and optionally the CA whose client certificates a listener accepts (mutual TLS).
 *
 * @param section the configuration key, for error messages ({@code mqtt.tls})
 */
public record TlsSettings(String section, boolean enabled, String certPath, String keyPath, String clientCaPath) {

  public static TlsSettings of(String section, JsonObject tls) {
    Settings t = Settings.section(section, tls);
    // Only the device endpoint (mqtt.tls) takes client certificates: elsewhere the key is not a setting.
    String clientCa = t.json().containsKey("client_ca_path") ? t.text("client_ca_path") : "";
    return new TlsSettings(section, t.flag("enabled"), t.text("cert_path"), t.text("key_path"), clientCa);
  }

  public boolean mutual() {
    return !clientCaPath.isEmpty();
  }

  /**
   * Turns TLS on in {@code options}; a missing file is named in one line. With a client CA,
   * client certificates are requested, not required: devices with a password still connect.
   */
  public <T extends NetServerOptions> T applyTo(T options) {
    require(certPath, "cert_path");
    require(keyPath, "key_path");
    options.setSsl(true).setKeyCertOptions(new PemKeyCertOptions().setCertPath(certPath).setKeyPath(keyPath));
    if (mutual()) {
      require(clientCaPath, "client_ca_path");
      options.setTrustOptions(new PemTrustOptions().addCertPath(clientCaPath)).setClientAuth(ClientAuth.REQUEST);
    }
    return options;
  }

  /**
   * {@code iot_meter_tls_certificate_expiry_seconds{listener}}: how long this listener's
   * certificate is still valid (negative once expired), read from {@code cert_path}.
   */
  public void exportExpiry(io.micrometer.core.instrument.MeterRegistry registry, String listener) {
    java.time.Instant notAfter;
    try (java.io.InputStream in = Files.newInputStream(Path.of(certPath))) {
      notAfter = ((java.security.cert.X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
          .generateCertificate(in)).getNotAfter().toInstant();
    } catch (java.io.IOException | java.security.cert.CertificateException e) {
      throw new IllegalArgumentException(section + ".cert_path: not a PEM certificate: " + e.getMessage());
    }
    io.micrometer.core.instrument.Gauge.builder("iot_meter.tls.certificate.expiry.seconds",
            () -> java.time.Duration.between(java.time.Instant.now(), notAfter).toSeconds())
        .description("Seconds until the listener's TLS certificate expires").tag("listener", listener).register(registry);
  }

  private void require(String path, String key) {
    if (path.isEmpty()) {
      throw new IllegalArgumentException(section + "." + key + " is required when " + section + ".enabled is true");
    }
    if (!Files.isReadable(Path.of(path))) {
      throw new IllegalArgumentException(section + "." + key + ": cannot read " + path);
    }
  }
}
