package io.iotmeter.timeseries;

import com.influxdb.LogLevel;
import com.influxdb.client.InfluxDBClient;
import com.influxdb.client.InfluxDBClientFactory;
import com.influxdb.client.InfluxDBClientOptions;
import com.influxdb.exceptions.InfluxException;
import okhttp3.OkHttpClient;

import java.time.Duration;
import java.util.List;

/**
 * An InfluxDB v2 HTTP API as both stores use it — InfluxDB itself, or QuestDB's compatible
 * {@code /api/v2/write}: one client with our own timeouts, gzip-compressed line-protocol writes,
 * a ping, and failures turned into {@link TimeSeriesException}s that name the store.
 */
final class InfluxV2Endpoint implements AutoCloseable {

  /** InfluxDB's advice for one write request; larger batches are split. */
  static final int MAX_POINTS_PER_REQUEST = 5_000;

  // An unreachable store fails the caller within seconds; a 5,000-point write (a few hundred
  // kilobytes) still has ample time; the call timeout bounds everything, OkHttp's retry included.
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
  private static final Duration READ_WRITE_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);

  private final String storeName;
  private final String url;
  private final String bucket;
  private final InfluxDBClient client;

  InfluxV2Endpoint(String storeName, String url, String org, String bucket, String token, boolean gzip) {
    this.storeName = storeName;
    this.url = url;
    this.bucket = bucket;
    OkHttpClient.Builder http = new OkHttpClient.Builder()
        .connectTimeout(CONNECT_TIMEOUT)
        .readTimeout(READ_WRITE_TIMEOUT)
        .writeTimeout(READ_WRITE_TIMEOUT)
        .callTimeout(CALL_TIMEOUT)
        // OkHttp's own retry stays on: it only covers a pooled connection the server has
        // closed meanwhile (or another address of the host), which would otherwise fail the
        // first write after every idle period. Safe because writes are idempotent.
        .retryOnConnectionFailure(true);
    InfluxDBClient created = InfluxDBClientFactory.create(InfluxDBClientOptions.builder()
        .url(url)
        .org(org)
        .bucket(bucket)
        .authenticateToken(token.toCharArray())
        .precision(LineProtocol.PRECISION)
        .okHttpClient(http)
        // Never HEADERS or BODY: those levels log the token.
        .logLevel(LogLevel.NONE)
        .build());
    this.client = gzip ? created.enableGzip() : created;
  }

  InfluxDBClient client() {
    return client;
  }

  void write(List<Point> points) {
    for (int from = 0; from < points.size(); from += MAX_POINTS_PER_REQUEST) {
      List<Point> chunk = points.subList(from, Math.min(points.size(), from + MAX_POINTS_PER_REQUEST));
      StringBuilder body = new StringBuilder(chunk.size() * 110);
      for (Point point : chunk) {
        if (body.length() > 0) {
          body.append('\n');
        }
        LineProtocol.appendLine(body, point);
      }
      try {
        client.getWriteApiBlocking().writeRecord(LineProtocol.PRECISION, body.toString());
      } catch (RuntimeException e) {
        throw failure("Writing " + chunk.size() + (chunk.size() == 1 ? " point" : " points") + " to bucket " + bucket, e);
      }
    }
  }

  void ping() {
    try {
      // version() rather than ping(): both ask /ping, but ping() swallows the reason it failed.
      client.version();
    } catch (RuntimeException e) {
      throw failure("Ping", e);
    }
  }

  /**
   * A failure as the operator needs it: which store, what was attempted, the HTTP status and the
   * store's own message, or why no answer came.
   */
  TimeSeriesException failure(String action, Throwable e) {
    String prefix = storeName + " at " + url + ": " + action + " failed: ";
    if (e instanceof InfluxException influx && influx.status() > 0) {
      int status = influx.status();
      return new TimeSeriesException(prefix + "HTTP " + status + " " + reason(influx) + hint(status),
          status == 408 || status == 429 || status >= 500, status == 400 || status == 413 || status == 422, e);
    }
    return new TimeSeriesException(prefix + rootMessage(e), true, e);
  }

  /** InfluxDB's JSON error {@code message}, else what the client made of the answer. */
  private static String reason(InfluxException e) {
    if (e.errorBody().get("message") instanceof String message && !message.isBlank()) {
      return message;
    }
    // A proxy's error page, for example, carries no message the client can read.
    String message = e.getMessage();
    return message == null ? "without an InfluxDB error message" : message.replaceFirst("^HTTP status code: \\d+; Message: ", "");
  }

  private static String hint(int status) {
    return switch (status) {
      case 401, 403 -> " (check the token and its permissions on the bucket)";
      case 413 -> " (request too large: write smaller batches)";
      case 429, 503 -> " (store overloaded or not ready: retry later)";
      default -> "";
    };
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getMessage() == null ? root.getClass().getSimpleName() : root.getClass().getSimpleName() + ": " + root.getMessage();
  }

  @Override
  public void close() {
    // Also shuts down OkHttp's dispatcher and connection pool, whose threads would otherwise
    // keep the JVM alive for a minute after the platform stops.
    client.close();
  }
}
