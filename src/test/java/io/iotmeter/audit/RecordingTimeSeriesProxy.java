package io.iotmeter.audit;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.RequestOptions;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPInputStream;

/**
 * An HTTP relay between the platform and its time-series store that counts every point the
 * store accepted (a line-protocol write answered 2xx), by (series, time): a point accepted a
 * second time is a <em>rewrite</em>. Under QuestDB's upsert key a rewrite leaves one copy, so
 * only this count shows it; the {@link StoreAudit} reports it apart from a store that kept two.
 *
 * <p>When the store goes down in a fault, the relay goes down with it ({@link #stop}, then
 * {@link #start} on the same port), so the platform meets a refused connection, as it would
 * without the relay. Memory: one {@code long} per distinct point (a 64-bit hash of its line's
 * series and time), so it can count a long benchmark.
 */
public final class RecordingTimeSeriesProxy implements StoreAudit.PointSends, AutoCloseable {

  private final Vertx vertx;
  private final HttpClient client;
  private final int targetPort;
  private final int port;
  private final LongSet seen = new LongSet();
  private final AtomicLong points = new AtomicLong();
  private final AtomicLong rewrites = new AtomicLong();
  private HttpServer server;

  private RecordingTimeSeriesProxy(Vertx vertx, int port, int targetPort) {
    this.vertx = vertx;
    this.port = port;
    this.targetPort = targetPort;
    this.client = vertx.createHttpClient();
  }

  /** A relay on {@code port} (0: any free one) in front of the store's HTTP port. */
  public static RecordingTimeSeriesProxy start(Vertx vertx, int port, int targetPort) {
    RecordingTimeSeriesProxy proxy = new RecordingTimeSeriesProxy(vertx, port, targetPort);
    proxy.listen(port);
    return proxy;
  }

  public int port() {
    return server == null ? port : server.actualPort();
  }

  /** Accepted points, copies included. */
  public long points() {
    return points.get();
  }

  @Override
  public long rewrites() {
    return rewrites.get();
  }

  /** Stops listening and drops every relayed connection: the store is away. */
  public synchronized void stop() {
    if (server != null) {
      server.close().await();
      server = null;
    }
  }

  /** Listens again on the same port: the store is back. */
  public synchronized void start() {
    if (server == null) {
      listen(port);
    }
  }

  private synchronized void listen(int onPort) {
    server = vertx.createHttpServer().requestHandler(this::relay);
    server.listen(onPort, "127.0.0.1").await();
  }

  private void relay(HttpServerRequest in) {
    in.body().compose(body -> {
      RequestOptions options = new RequestOptions().setHost("127.0.0.1").setPort(targetPort).setMethod(in.method())
          .setURI(in.uri());
      return client.request(options).compose((HttpClientRequest out) -> {
        out.headers().setAll(in.headers());
        out.headers().remove("host");
        return out.send(body);
      }).compose(answer -> answer.body().map(answerBody -> {
        if (answer.statusCode() / 100 == 2 && in.path().endsWith("/write")) {
          record(body, "gzip".equalsIgnoreCase(in.getHeader("content-encoding")));
        }
        in.response().setStatusCode(answer.statusCode()).headers().setAll(answer.headers());
        return in.response().end(answerBody);
      }));
    }).onFailure(e -> in.connection().close()); // the store is away: the platform sees the connection go
  }

  private void record(Buffer body, boolean gzip) {
    String text;
    try {
      text = gzip ? new String(new GZIPInputStream(new ByteArrayInputStream(body.getBytes())).readAllBytes(),
          StandardCharsets.UTF_8) : body.toString(StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    for (String line : text.split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      // series (measurement and tags) and time identify the point; the value may differ on a rewrite
      int firstSpace = line.indexOf(' ');
      int lastSpace = line.lastIndexOf(' ');
      long key = hash(line.substring(0, firstSpace), line.substring(lastSpace + 1));
      points.incrementAndGet();
      if (!seen.add(key)) {
        rewrites.incrementAndGet();
      }
    }
  }

  /** FNV-1a, 64 bits, over the series and the time. */
  private static long hash(String series, String time) {
    long h = 0xcbf29ce484222325L;
    for (String part : new String[] {series, " ", time}) {
      for (int i = 0; i < part.length(); i++) {
        h ^= part.charAt(i);
        h *= 0x100000001b3L;
      }
    }
    return h;
  }

  @Override
  public void close() {
    stop();
    client.close();
  }

  /** A set of longs by open addressing: no boxing, 8 bytes a slot. */
  static final class LongSet {
    private long[] slots = new long[1 << 16];
    private boolean hasZero;
    private int size;

    /** Adds {@code value}; false when it was there already. */
    synchronized boolean add(long value) {
      if (value == 0) {
        boolean added = !hasZero;
        hasZero = true;
        return added;
      }
      if (size * 2 >= slots.length) {
        grow();
      }
      int mask = slots.length - 1;
      for (int i = (int) (value ^ (value >>> 32)) & mask; ; i = (i + 1) & mask) {
        if (slots[i] == value) {
          return false;
        }
        if (slots[i] == 0) {
          slots[i] = value;
          size++;
          return true;
        }
      }
    }

    private void grow() {
      long[] old = slots;
      slots = new long[old.length * 2];
      size = 0;
      for (long v : old) {
        if (v != 0) {
          add(v);
        }
      }
    }
  }

  /**
   * The relay as a process of its own (the benchmark: its CPU is then charged to neither the
   * platform nor the stores): {@code --port P --target T}; prints {@code @READY}, and
   * {@code @RESULT {points, rewrites}} for every {@code report} line on stdin.
   */
  public static void main(String[] args) throws Exception {
    java.util.Map<String, String> options = new java.util.HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      options.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    Vertx vertx = Vertx.vertx();
    RecordingTimeSeriesProxy proxy = start(vertx, Integer.parseInt(options.get("port")), Integer.parseInt(options.get("target")));
    System.out.println("@READY {\"port\":" + proxy.port() + "}");
    System.out.flush();
    java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null; ) {
      if (line.trim().equals("report")) {
        System.out.println("@RESULT {\"points\":" + proxy.points() + ",\"rewrites\":" + proxy.rewrites() + "}");
        System.out.flush();
      }
    }
    Runtime.getRuntime().halt(0);
  }

}
