package io.iotmeter.embedded;

import io.iotmeter.archive.MinioObjectStore;
import io.iotmeter.archive.ObjectStore;
import io.iotmeter.archive.ObjectStoreException;
import io.iotmeter.archive.StoredObject;
import io.iotmeter.config.StartupException;
import io.iotmeter.support.FreePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

/** The in-process S3Proxy: its lifecycle, data directory and credentials, seen through the MinIO SDK. */
@Timeout(60)
class EmbeddedS3ServerTest {

  static final String ACCESS_KEY = "minioadmin";
  static final String SECRET_KEY = "minioadmin123";

  @TempDir
  Path dataDir;

  @Test
  void portZeroPicksAFreePortOnLoopback() {
    try (EmbeddedS3Server server = EmbeddedS3Server.start(dataDir, 0, ACCESS_KEY, SECRET_KEY)) {
      assertThat(server.port()).isPositive();
      assertThat(server.endpoint()).isEqualTo("http://127.0.0.1:" + server.port());
    }
  }

  @Test
  void aRestartOnTheSameDirectoryFindsTheObjectsAgain() {
    String key = "dc-meter-001/telemetry/2026-02-12T10:00:10.123Z_0-42.json";
    byte[] content = "{\"seq\":42}".getBytes(StandardCharsets.UTF_8);
    try (EmbeddedS3Server server = EmbeddedS3Server.start(dataDir, FreePorts.next(), ACCESS_KEY, SECRET_KEY);
         ObjectStore store = storeOn(server)) {
      store.ensureBucket();
      store.put(key, content, "application/json");
    }
    int secondPort = FreePorts.next();
    try (EmbeddedS3Server server = EmbeddedS3Server.start(dataDir, secondPort, ACCESS_KEY, SECRET_KEY);
         ObjectStore store = storeOn(server)) {
      assertThat(server.port()).isEqualTo(secondPort);
      store.ping();
      assertThat(store.list("dc-meter-001/", 10)).extracting(StoredObject::key, StoredObject::size)
          .containsExactly(tuple(key, (long) content.length));
      assertThat(store.get(key)).isEqualTo(content);
    }
  }

  @Test
  void pingFailsOnceTheServerIsClosed() {
    EmbeddedS3Server server = EmbeddedS3Server.start(dataDir, FreePorts.next(), ACCESS_KEY, SECRET_KEY);
    try (ObjectStore store = storeOn(server)) {
      store.ensureBucket();
      store.ping();
      server.close();
      assertThatThrownBy(store::ping)
          .isInstanceOf(ObjectStoreException.class)
          .hasMessageContaining(server.endpoint())
          .hasMessageContaining("ping");
    } finally {
      server.close();
    }
  }

  @Test
  void requestsSignedWithOtherCredentialsAreRefused() {
    try (EmbeddedS3Server server = EmbeddedS3Server.start(dataDir, FreePorts.next(), ACCESS_KEY, SECRET_KEY);
         ObjectStore intruder = new MinioObjectStore(server.endpoint(), ACCESS_KEY, "wrong-secret", "archive")) {
      assertThatThrownBy(intruder::ensureBucket)
          .isInstanceOf(ObjectStoreException.class)
          .hasMessageContaining("SignatureDoesNotMatch");
    }
  }

  @Test
  void aBusyPortIsReportedInOneLineNamingIt() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      int port = taken.getLocalPort();
      assertThatThrownBy(() -> EmbeddedS3Server.start(dataDir, port, ACCESS_KEY, SECRET_KEY))
          .isInstanceOf(StartupException.class)
          .hasMessage("Embedded S3 server port " + port + " on 127.0.0.1 is already in use");
    }
  }

  private static ObjectStore storeOn(EmbeddedS3Server server) {
    return new MinioObjectStore(server.endpoint(), ACCESS_KEY, SECRET_KEY, "archive");
  }

  @Test
  void unfinishedWritesOfAKilledProcessAreRemovedAtStart() throws Exception {
    Path folder = Files.createDirectories(dataDir.resolve("iot-data/dc-meter-001/telemetry"));
    Path done = Files.writeString(folder.resolve("2026-12-01T22:13:59.784Z_465.json"), "{}");
    Path unfinished = Files.writeString(folder.resolve("2026-12-01T22:13:59.784Z_465.json-8f3344e3-4837-4172-b3b6-1dad857cce89"), "{");
    assertThat(EmbeddedS3Server.removeUnfinishedWrites(dataDir)).isEqualTo(1);
    assertThat(done).exists();
    assertThat(unfinished).doesNotExist();
  }

  @Test
  void anObjectStillBeingWrittenIsNotListed() throws Exception {
    try (EmbeddedS3Server server = EmbeddedS3Server.start(dataDir, FreePorts.next(), ACCESS_KEY, SECRET_KEY);
         ObjectStore store = storeOn(server)) {
      store.ensureBucket();
      String key = "dc-meter-001/telemetry/2026-12-01T23:34:19.280Z_8.json";
      store.put(key, "{}".getBytes(StandardCharsets.UTF_8), "application/json");
      // What jclouds has on disk halfway through the next write of an object under that folder.
      Files.writeString(dataDir.resolve("archive/" + key + "-20ed64c7-0d0f-49a9-9d0e-3853bcd9c4c0"), "{");
      assertThat(store.list("dc-meter-001/", 10)).extracting(StoredObject::key).containsExactly(key);
    }
  }
}
