package io.iotmeter.archive;

import io.iotmeter.embedded.EmbeddedS3Server;
import io.iotmeter.support.FreePorts;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

/** The archive store against a real S3 server (the embedded S3Proxy), one bucket per test. */
@Timeout(60)
class MinioObjectStoreTest {

  private static final String ACCESS_KEY = "minioadmin";
  private static final String SECRET_KEY = "minioadmin123";
  private static final AtomicInteger BUCKETS = new AtomicInteger();

  @TempDir
  static Path dataDir;
  private static EmbeddedS3Server server;

  private final List<ObjectStore> stores = new ArrayList<>();
  private String bucket;
  private ObjectStore store;

  @BeforeAll
  static void startServer() {
    server = EmbeddedS3Server.start(dataDir, FreePorts.next(), ACCESS_KEY, SECRET_KEY);
  }

  @AfterAll
  static void stopServer() {
    server.close();
  }

  @BeforeEach
  void setUp() {
    bucket = "archive-" + BUCKETS.incrementAndGet();
    store = open(server.endpoint());
    store.ensureBucket();
  }

  @AfterEach
  void tearDown() {
    stores.forEach(ObjectStore::close);
  }

  @Test
  void ensureBucketIsIdempotentAlsoWhenNodesRace() throws Exception {
    store.ensureBucket();
    store.ping();

    bucket = "archive-raced-" + BUCKETS.incrementAndGet();
    List<ObjectStore> nodes = List.of(open(server.endpoint()), open(server.endpoint()), open(server.endpoint()));
    assertThatThrownBy(nodes.get(0)::ping).hasMessageContaining("bucket does not exist");
    CountDownLatch go = new CountDownLatch(1);
    List<Callable<Void>> tasks = nodes.stream().<Callable<Void>>map(node -> () -> {
      go.await();
      node.ensureBucket();
      return null;
    }).toList();
    ExecutorService threads = Executors.newFixedThreadPool(nodes.size());
    try {
      List<Future<Void>> results = tasks.stream().map(threads::submit).toList();
      go.countDown();
      for (Future<Void> result : results) {
        result.get(); // rethrows a node's failure
      }
    } finally {
      threads.shutdownNow();
    }
    nodes.forEach(ObjectStore::ping);
  }

  @Test
  void getReturnsTheBytesPutByteForByte() {
    byte[] binary = new byte[256 * 1024];
    new Random(7).nextBytes(binary);
    store.put("dc-meter-001/blob.bin", binary, "application/octet-stream");
    store.put("dc-meter-001/empty.json", new byte[0], "application/json");

    assertThat(store.get("dc-meter-001/blob.bin")).isEqualTo(binary);
    assertThat(store.get("dc-meter-001/empty.json")).isEmpty();
  }

  @Test
  void puttingTheSameKeyTwiceLeavesOneObjectWithTheLatestContent() {
    String key = "dc-meter-001/telemetry/2026-02-12T10:00:10.123Z_0-42.json";
    store.put(key, "first attempt".getBytes(StandardCharsets.UTF_8), "application/json");
    store.put(key, "retry".getBytes(StandardCharsets.UTF_8), "application/json");

    assertThat(store.list("", 100)).extracting(StoredObject::key, StoredObject::size).containsExactly(tuple(key, 5L));
    assertThat(new String(store.get(key), StandardCharsets.UTF_8)).isEqualTo("retry");
  }

  @Test
  void listsObjectsUnderAPrefixInKeyOrderWithoutFolderMarkers() {
    Instant before = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    List<String> device1 = List.of(
        "dc-meter-001/telemetry/2026-02-12T10:00:10.123Z_0-42.json",
        "dc-meter-001/hello/2026-02-12T09:59:00.000Z.json",
        "dc-meter-001/telemetry/2026-02-12T10:00:09.999Z_0-41.json",
        "dc-meter-001/telemetry/2026-02-12T10:00:11.000Z_0-43.json");
    device1.forEach(key -> store.put(key, key.getBytes(StandardCharsets.UTF_8), "application/json"));
    // Same leading characters, another device: a prefix ending in '/' must not reach it.
    store.put("dc-meter-0010/telemetry/2026-02-12T10:00:00.000Z_0-1.json", new byte[1], "application/json");
    // A folder marker as consoles create them.
    store.put("dc-meter-001/telemetry/", new byte[0], "application/x-directory");

    List<StoredObject> all = store.list("dc-meter-001/", 100);
    assertThat(all).extracting(StoredObject::key).containsExactly(
        "dc-meter-001/hello/2026-02-12T09:59:00.000Z.json",
        "dc-meter-001/telemetry/2026-02-12T10:00:09.999Z_0-41.json",
        "dc-meter-001/telemetry/2026-02-12T10:00:10.123Z_0-42.json",
        "dc-meter-001/telemetry/2026-02-12T10:00:11.000Z_0-43.json");
    assertThat(all).allSatisfy(object -> {
      assertThat(object.size()).isEqualTo(object.key().getBytes(StandardCharsets.UTF_8).length);
      assertThat(object.lastModified()).isBetween(before, Instant.now().plusSeconds(1));
    });

    assertThat(store.list("dc-meter-001/telemetry/", 2)).extracting(StoredObject::key).containsExactly(
        "dc-meter-001/telemetry/2026-02-12T10:00:09.999Z_0-41.json",
        "dc-meter-001/telemetry/2026-02-12T10:00:10.123Z_0-42.json");
    assertThat(store.list("dc-meter-001", 100)).hasSize(5);
    assertThat(store.list("", 100)).extracting(StoredObject::key).noneMatch(key -> key.endsWith("/")).hasSize(5);
    assertThat(store.list("dc-meter-002/", 100)).isEmpty();
  }

  @Test
  void keysKeepColonsDashesAndDotsThroughPutListAndGet() {
    String key = "dc-meter-001/telemetry/2026-02-12T10:00:10.123Z_0-42.json";
    byte[] content = "{\"v\":2}".getBytes(StandardCharsets.UTF_8);
    store.put(key, content, "application/json");

    assertThat(store.list("dc-meter-001/telemetry/2026-02-12T10:00:1", 10)).extracting(StoredObject::key).containsExactly(key);
    assertThat(store.get(key)).isEqualTo(content);
  }

  @Test
  void concurrentPutsFromSeveralThreadsAllLandExactlyOnce() throws Exception {
    int threads = 4;
    int perThread = 100;
    ExecutorService workers = Executors.newFixedThreadPool(threads);
    long start = System.nanoTime();
    try {
      List<Future<?>> done = IntStream.range(0, threads).<Future<?>>mapToObj(t -> workers.submit(() -> {
        for (int i = 0; i < perThread; i++) {
          String key = String.format("dc-meter-%03d/telemetry/2026-02-12T10:00:00.000Z_0-%d.json", t, i);
          store.put(key, ("{\"seq\":" + i + "}").getBytes(StandardCharsets.UTF_8), "application/json");
        }
      })).toList();
      for (Future<?> future : done) {
        future.get();
      }
    } finally {
      workers.shutdownNow();
    }
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    System.out.printf("Object store: %d PUTs from %d threads in %d ms = %.0f PUTs/s%n",
        threads * perThread, threads, took.toMillis(), threads * perThread * 1000.0 / Math.max(1, took.toMillis()));

    List<StoredObject> listed = store.list("dc-meter-", 1000);
    assertThat(listed).hasSize(threads * perThread);
    assertThat(listed).extracting(StoredObject::key).doesNotHaveDuplicates().isSorted();
    assertThat(store.list("dc-meter-002/", 1000)).hasSize(perThread)
        .anySatisfy(object -> assertThat(object.key()).endsWith("_0-99.json"));
  }

  @Test
  void anUnreachableStoreFailsWithinSecondsNamingTheEndpoint() {
    String endpoint = "http://127.0.0.1:" + FreePorts.next();
    ObjectStore unreachable = open(endpoint);
    long start = System.nanoTime();

    assertThatThrownBy(() -> unreachable.put("dc-meter-001/x.json", new byte[1], "application/json"))
        .isInstanceOf(ObjectStoreException.class)
        .hasMessageContaining(endpoint)
        .hasMessageContaining("bucket '" + bucket + "'")
        .hasMessageContaining("put 'dc-meter-001/x.json'");
    assertThatThrownBy(unreachable::ping).isInstanceOf(ObjectStoreException.class).hasMessageContaining(endpoint);

    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
  }

  @Test
  void pingGivesUpWithinSecondsOnAServerThatNeverAnswers() throws Exception {
    // The kernel accepts the connection into the backlog; nobody ever reads or answers.
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
      String endpoint = "http://127.0.0.1:" + silent.getLocalPort();
      ObjectStore hanging = open(endpoint);
      long start = System.nanoTime();

      assertThatThrownBy(hanging::ping).isInstanceOf(ObjectStoreException.class).hasMessageContaining(endpoint);

      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(6));
    }
  }

  @Test
  void aMissingKeyIsAnErrorNamingIt() {
    assertThatThrownBy(() -> store.get("dc-meter-001/none.json"))
        .isInstanceOf(ObjectStoreException.class)
        .hasMessageContaining("get 'dc-meter-001/none.json'")
        .hasMessageContaining("NoSuchKey");
  }

  @Test
  void aLimitBelowOneIsRefused() {
    assertThatThrownBy(() -> store.list("", 0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void closeStopsTheHttpThreads() throws Exception {
    store.put("dc-meter-001/x.json", new byte[1], "application/json");
    assertThat(httpThreads()).isNotEmpty();

    store.close();

    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (!httpThreads().isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(httpThreads()).isEmpty();
    assertThatThrownBy(() -> store.put("dc-meter-001/y.json", new byte[1], "application/json"))
        .isInstanceOf(ObjectStoreException.class);
  }

  private List<Thread> httpThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(thread -> thread.getName().startsWith("object-store-http-" + bucket + "-") && thread.isAlive())
        .toList();
  }

  private ObjectStore open(String endpoint) {
    ObjectStore opened = new MinioObjectStore(endpoint, ACCESS_KEY, SECRET_KEY, bucket);
    stores.add(opened);
    return opened;
  }
}
