package io.iotmeter.archive;

import io.minio.BucketExistsArgs;
import io.minio.GetObjectArgs;
import io.minio.GetObjectResponse;
import io.minio.ListObjectsArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.Result;
import io.minio.errors.ErrorResponseException;
import io.minio.messages.Item;
import okhttp3.ConnectionPool;
import okhttp3.Dispatcher;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;

import java.io.ByteArrayInputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An {@link ObjectStore} on one bucket of MinIO, S3 or S3Proxy, through the MinIO Java SDK.
 *
 * <p>The store owns its HTTP client and releases its threads and connections on {@link #close()}.
 * Thread-safe: share one instance between worker threads.
 */
public final class MinioObjectStore implements ObjectStore {

  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
  private static final Duration READ_WRITE_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration PING_TIMEOUT = Duration.ofSeconds(3);
  // The SDK runs even its blocking calls through OkHttp's dispatcher, whose default of 5
  // requests per host would queue concurrent PUTs from more worker threads than that.
  private static final int MAX_CONCURRENT_REQUESTS = 64;
  private static final int MAX_IDLE_CONNECTIONS = 16;
  // Below the idle timeouts of the servers (Jetty in S3Proxy: 30 s), so a pooled connection is
  // not one the server is closing.
  private static final Duration KEEP_ALIVE = Duration.ofSeconds(20);
  private static final int MAX_KEYS_PER_PAGE = 1000;

  private final String endpoint;
  private final String bucket;
  private final String region;
  private final OkHttpClient http;
  private final MinioClient client;
  private final MinioClient pingClient;

  /** A store on {@code bucket} whose region the SDK asks the server for. */
  public MinioObjectStore(String endpoint, String accessKey, String secretKey, String bucket) {
    this(endpoint, accessKey, secretKey, bucket, null);
  }

  /**
   * A store on {@code bucket} at {@code endpoint} ({@code http://host:port}).
   *
   * @param region null to let the SDK ask the server
   */
  public MinioObjectStore(String endpoint, String accessKey, String secretKey, String bucket, String region) {
    this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
    this.bucket = Objects.requireNonNull(bucket, "bucket");
    this.region = region;
    this.http = httpClient(bucket);
    try {
      this.client = minioClient(http, accessKey, secretKey);
      // Shares the dispatcher and connection pool of the main client; only the deadline differs.
      this.pingClient = minioClient(http.newBuilder().callTimeout(PING_TIMEOUT).build(), accessKey, secretKey);
    } catch (IllegalArgumentException e) {
      releaseHttpResources();
      throw new IllegalArgumentException("Invalid object store endpoint '" + endpoint + "': " + e.getMessage(), e);
    }
  }

  @Override
  public void ensureBucket() {
    call("create bucket", null, () -> {
      if (client.bucketExists(BucketExistsArgs.builder().bucket(bucket).build())) {
        return null;
      }
      try {
        MakeBucketArgs.Builder args = MakeBucketArgs.builder().bucket(bucket);
        client.makeBucket(region == null ? args.build() : args.region(region).build());
      } catch (ErrorResponseException e) {
        // Another node created it between our check and our request (whatever error code the
        // server chose for that): only a bucket still missing is a failure.
        if (!client.bucketExists(BucketExistsArgs.builder().bucket(bucket).build())) {
          throw e;
        }
      }
      return null;
    });
  }

  @Override
  public void put(String key, byte[] content, String contentType) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(content, "content");
    call("put", key, () -> client.putObject(PutObjectArgs.builder()
        .bucket(bucket)
        .object(key)
        .stream(new ByteArrayInputStream(content), content.length, -1)
        .contentType(contentType == null ? "application/octet-stream" : contentType)
        .build()));
  }

  @Override
  public List<StoredObject> list(String prefix, int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1, was " + limit);
    }
    String from = prefix == null ? "" : prefix;
    return call("list", from, () -> {
      Iterable<Result<Item>> pages = client.listObjects(ListObjectsArgs.builder()
          .bucket(bucket)
          .prefix(from)
          .recursive(true)
          .maxKeys(Math.min(limit, MAX_KEYS_PER_PAGE))
          .build());
      // S3 lists keys in ascending order, so the first objects are the ones asked for; the
      // iterator fetches further pages only while we keep reading.
      List<StoredObject> objects = new ArrayList<>();
      for (Result<Item> result : pages) {
        Item item;
        try {
          item = result.get();
        } catch (io.minio.errors.ErrorResponseException e) {
          if ("NoSuchBucket".equals(e.errorResponse().code())) {
            return objects; // nothing has been archived yet
          }
          throw e;
        }
        if (!isFolderMarker(item)) {
          objects.add(new StoredObject(item.objectName(), item.size(), item.lastModified().toInstant()));
          if (objects.size() == limit) {
            break;
          }
        }
      }
      return objects;
    });
  }

  @Override
  public byte[] get(String key) {
    Objects.requireNonNull(key, "key");
    return call("get", key, () -> {
      try (GetObjectResponse response = client.getObject(GetObjectArgs.builder().bucket(bucket).object(key).build())) {
        return response.readAllBytes();
      }
    });
  }

  @Override
  public void ping() {
    boolean exists = call("ping", null, () -> pingClient.bucketExists(BucketExistsArgs.builder().bucket(bucket).build()));
    if (!exists) {
      throw new ObjectStoreException(where("ping", null) + " failed: the bucket does not exist", null);
    }
  }

  /** Idempotent. Calls still running finish; later calls fail. */
  @Override
  public void close() {
    releaseHttpResources();
  }

  @Override
  public String toString() {
    return "MinioObjectStore[" + endpoint + ", bucket " + bucket + "]";
  }

  /**
   * Directory placeholders: S3Proxy's jclouds filesystem store lists one per directory, and
   * consoles create zero-byte keys ending in '/' for folders. Neither is a stored message.
   */
  private static boolean isFolderMarker(Item item) {
    return item.isDir() || item.objectName().endsWith("/");
  }

  private static OkHttpClient httpClient(String bucket) {
    Dispatcher dispatcher = new Dispatcher(dispatcherThreads("object-store-http-" + bucket + "-"));
    dispatcher.setMaxRequests(MAX_CONCURRENT_REQUESTS);
    dispatcher.setMaxRequestsPerHost(MAX_CONCURRENT_REQUESTS);
    return new OkHttpClient.Builder()
        .dispatcher(dispatcher)
        .connectionPool(new ConnectionPool(MAX_IDLE_CONNECTIONS, KEEP_ALIVE.toMillis(), TimeUnit.MILLISECONDS))
        .connectTimeout(CONNECT_TIMEOUT)
        .readTimeout(READ_WRITE_TIMEOUT)
        .writeTimeout(READ_WRITE_TIMEOUT)
        // The SDK's own default: S3 endpoints speak HTTP/1.1.
        .protocols(List.of(Protocol.HTTP_1_1))
        .build();
  }

  /**
   * OkHttp's default dispatcher threads are non-daemon and linger a minute after the last call,
   * holding the JVM open; ours are daemon threads and {@link #close()} shuts them down.
   */
  private static ExecutorService dispatcherThreads(String namePrefix) {
    AtomicInteger count = new AtomicInteger();
    return new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS, new SynchronousQueue<>(), task -> {
      Thread thread = new Thread(task, namePrefix + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    });
  }

  private MinioClient minioClient(OkHttpClient httpClient, String accessKey, String secretKey) {
    MinioClient.Builder builder = MinioClient.builder()
        .endpoint(endpoint)
        .credentials(accessKey, secretKey)
        // false: the client is ours to close (see close()), not the SDK's.
        .httpClient(httpClient, false);
    return (region == null ? builder : builder.region(region)).build();
  }

  private void releaseHttpResources() {
    http.dispatcher().executorService().shutdown();
    http.connectionPool().evictAll();
  }

  @FunctionalInterface
  private interface SdkCall<T> {
    T call() throws Exception;
  }

  private <T> T call(String operation, String key, SdkCall<T> sdkCall) {
    try {
      return sdkCall.call();
    } catch (Exception e) {
      if (causedByInterrupt(e)) {
        Thread.currentThread().interrupt();
      }
      throw new ObjectStoreException(where(operation, key) + " failed: " + describe(e), refusesObject(e), e);
    }
  }

  private String where(String operation, String key) {
    return "Object store " + endpoint + ", bucket '" + bucket + "': " + operation + (key == null ? "" : " '" + key + "'");
  }

  private static String describe(Exception e) {
    if (e instanceof ErrorResponseException error) {
      return error.errorResponse().code() + " (" + error.errorResponse().message() + ")";
    }
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getClass().getSimpleName() + (root.getMessage() == null ? "" : ": " + root.getMessage());
  }

  /** S3 error codes that refuse one object (its key or size) and would refuse it again. */
  private static final java.util.Set<String> OBJECT_REFUSALS = java.util.Set.of("KeyTooLongError", "InvalidArgument",
      "EntityTooLarge", "InvalidObjectName", "MetadataTooLarge");

  private static boolean refusesObject(Exception e) {
    return e instanceof ErrorResponseException error && OBJECT_REFUSALS.contains(error.errorResponse().code());
  }

  private static boolean causedByInterrupt(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof InterruptedException) {
        return true;
      }
    }
    return false;
  }
}
