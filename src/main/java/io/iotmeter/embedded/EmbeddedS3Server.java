package io.iotmeter.embedded;

import io.iotmeter.config.StartupException;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import org.jclouds.logging.slf4j.config.SLF4JLoggingModule;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.BindException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;

/**
 * An S3-compatible object store in-process (S3Proxy), keeping buckets and objects as directories
 * and files under a directory of ours so that a restart finds all data again.
 *
 * <p>It stands in for MinIO: path-style requests, AWS signature V2 or V4 (the MinIO SDK signs
 * with V4), listening on 127.0.0.1 only. Starting and stopping block: call them from a worker
 * thread.
 */
public final class EmbeddedS3Server implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedS3Server.class);
  private static final String HOST = "127.0.0.1";
  // jclouds' filesystem store, the one probed on these machines. S3Proxy 2.6.0 calls it
  // deprecated in favour of its own "filesystem-nio2" (which passes the same tests but wants a
  // placeholder identity and credential); its quirk of listing folder markers is filtered by the
  // object store. A key cannot be both an object and a folder ("a/b" and "a/b/c").
  private static final String BLOBSTORE = "filesystem";

  private final S3Proxy proxy;
  private final BlobStoreContext blobStores;
  // Read once: Jetty reports no port after a stop, and an endpoint in a late error message
  // should still name the server.
  private final int port;

  private EmbeddedS3Server(S3Proxy proxy, BlobStoreContext blobStores) {
    this.proxy = proxy;
    this.blobStores = blobStores;
    this.port = proxy.getPort();
  }

  /**
   * Starts a server on {@code dataDirectory} (created when missing; each bucket is a
   * subdirectory) that accepts requests signed with {@code accessKey} / {@code secretKey}.
   *
   * @param port 0 for a free port
   */
  public static EmbeddedS3Server start(Path dataDirectory, int port, String accessKey, String secretKey) {
    BlobStoreContext blobStores = null;
    S3Proxy proxy = null;
    try {
      Files.createDirectories(dataDirectory);
      removeUnfinishedWrites(dataDirectory);
      Properties properties = new Properties();
      properties.setProperty("jclouds.filesystem.basedir", dataDirectory.toAbsolutePath().toString());
      blobStores = ContextBuilder.newBuilder(BLOBSTORE)
          .overrides(properties)
          // Without it jclouds logs through java.util.logging, past our logback levels.
          .modules(List.of(new SLF4JLoggingModule()))
          .build(BlobStoreContext.class);
      // No virtual host: buckets are addressed by path (http://127.0.0.1:port/bucket/key).
      proxy = S3Proxy.builder()
          .blobStore(new FinishedObjectsOnly(blobStores.getBlobStore()))
          .endpoint(URI.create("http://" + HOST + ":" + port))
          .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, accessKey, secretKey)
          .build();
      proxy.start();
      EmbeddedS3Server server = new EmbeddedS3Server(proxy, blobStores);
      LOG.info("Embedded S3 server (S3Proxy) listening on {}, data in {}", server.endpoint(), dataDirectory);
      return server;
    } catch (Exception e) {
      stopQuietly(proxy, blobStores);
      throw new StartupException(startFailure(dataDirectory, port, e), e);
    }
  }

  /**
   * jclouds' filesystem store writes an object to {@code <key>-<uuid>} and renames it when done:
   * a process killed in between leaves that file, which the store would list as an object of its
   * own (a second, partial copy of the records in it). Such leftovers are removed before serving;
   * while serving, {@link FinishedObjectsOnly} keeps writes in progress out of listings.
   */
  static int removeUnfinishedWrites(Path dataDirectory) throws java.io.IOException {
    List<Path> files;
    try (java.util.stream.Stream<Path> walk = Files.walk(dataDirectory)) {
      files = walk.filter(Files::isRegularFile).filter(f -> FinishedObjectsOnly.unfinished(f.getFileName().toString())).toList();
    }
    for (Path file : files) {
      Files.deleteIfExists(file);
    }
    if (!files.isEmpty()) {
      LOG.warn("Removed {} unfinished object writes left by a process that was killed while writing (e.g. {})", files.size(),
          dataDirectory.relativize(files.get(0)));
    }
    return files.size();
  }

  public int port() {
    return port;
  }

  /** Where S3 clients reach the server, for example {@code http://127.0.0.1:39017}. */
  public String endpoint() {
    return "http://" + HOST + ":" + port();
  }

  @Override
  public void close() {
    stopQuietly(proxy, blobStores);
  }

  private static void stopQuietly(S3Proxy proxy, BlobStoreContext blobStores) {
    try {
      if (proxy != null) {
        proxy.stop();
      }
    } catch (Exception e) {
      LOG.warn("Stopping the embedded S3 server failed", e);
    } finally {
      if (blobStores != null) {
        blobStores.close();
      }
    }
  }

  private static String startFailure(Path dataDirectory, int port, Exception e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    if (root instanceof BindException) {
      return "Embedded S3 server port " + port + " on " + HOST + " is already in use";
    }
    return "Cannot start the embedded S3 server (S3Proxy) on " + HOST + ":" + port + " with data in "
        + dataDirectory + ": " + (root.getMessage() == null ? root.toString() : root.getMessage());
  }
}
