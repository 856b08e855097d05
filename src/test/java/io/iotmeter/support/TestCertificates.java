package io.iotmeter.support;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Certificates made in the test (BouncyCastle): a CA, server certificates for 127.0.0.1 and
 * client certificates with a device id as CN, written as PEM files for the platform's settings.
 */
public final class TestCertificates {

  private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

  /** A PEM certificate and its PEM private key on disk. */
  public record Issued(Path cert, Path key) {
  }

  private final Path dir;
  private final KeyPair caKeys;
  private final X509CertificateHolder ca;
  private final Path caFile;

  /** A fresh CA named {@code name}, with its files under {@code dir}. */
  public TestCertificates(Path dir, String name) {
    try {
      this.dir = dir;
      caKeys = keys();
      X500Name subject = new X500Name("CN=" + name);
      ca = new JcaX509v3CertificateBuilder(subject, serial(), from(), until(), subject, caKeys.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
          .build(new JcaContentSignerBuilder("SHA256withRSA").build(caKeys.getPrivate()));
      caFile = write(name + "-ca.pem", pem(ca));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  public Path caFile() {
    return caFile;
  }

  /** A server certificate for 127.0.0.1 and localhost. */
  public Issued server(String name) {
    return issue(name, new GeneralNames(new GeneralName[] {new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
        new GeneralName(GeneralName.dNSName, "localhost")}));
  }

  /** A client certificate whose CN is {@code commonName} (a device id). */
  public Issued client(String commonName) {
    return issue(commonName, null);
  }

  private Issued issue(String commonName, GeneralNames altNames) {
    try {
      KeyPair pair = keys();
      JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(ca.getSubject(), serial(), from(), until(),
          new X500Name("CN=" + commonName), pair.getPublic());
      if (altNames != null) {
        builder.addExtension(Extension.subjectAlternativeName, false, altNames);
      }
      X509CertificateHolder cert = builder.build(new JcaContentSignerBuilder("SHA256withRSA").build(caKeys.getPrivate()));
      String file = commonName.replaceAll("[^A-Za-z0-9.-]", "_") + "-" + cert.getSerialNumber();
      return new Issued(write(file + ".pem", pem(cert)), write(file + "-key.pem", pem(pair.getPrivate())));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static KeyPair keys() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(2048);
    return generator.generateKeyPair();
  }

  private static BigInteger serial() {
    return BigInteger.valueOf(SERIAL.incrementAndGet());
  }

  private static Date from() {
    return Date.from(Instant.now().minus(1, ChronoUnit.HOURS));
  }

  private static Date until() {
    return Date.from(Instant.now().plus(30, ChronoUnit.DAYS));
  }

  private static String pem(Object object) throws IOException {
    StringWriter text = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
      writer.writeObject(object instanceof PrivateKey key ? new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(key, null) : object);
    }
    return text.toString();
  }

  private Path write(String name, String content) throws IOException {
    return Files.writeString(dir.resolve(name), content);
  }
}
