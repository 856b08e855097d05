package io.iotmeter.timeseries;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.GZIPInputStream;

/**
 * Stands in for an InfluxDB 2.7 server, which cannot run on these machines: an HTTP server on
 * 127.0.0.1 that answers each API path with a response recorded from InfluxDB (status, headers,
 * body) and keeps every request it received, its body gzip-decoded.
 */
final class RecordedInfluxDbServer implements AutoCloseable {

  /** What the client sent: method, path with query string, headers (lower-case names), body. */
  record Request(String method, String uri, Map<String, String> headers, String body) {
    String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }
  }

  record Response(int status, String contentType, String body, Map<String, String> headers) {
    static Response noContent() {
      return new Response(204, null, "", Map.of());
    }

    static Response json(int status, String body) {
      return new Response(status, "application/json; charset=utf-8", body, Map.of());
    }

    static Response csv(String body) {
      return new Response(200, "text/csv; charset=utf-8", body, Map.of());
    }

    Response withHeader(String name, String value) {
      Map<String, String> more = new TreeMap<>(headers);
      more.put(name, value);
      return new Response(status, contentType, body, more);
    }
  }

  private final HttpServer server;
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  private final Map<String, Response> responses = new ConcurrentHashMap<>();

  RecordedInfluxDbServer() {
    try {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // InfluxDB 2.7's answers when all is well: writes accepted, ping with its version header.
    answer("/api/v2/write", Response.noContent());
    answer("/ping", Response.noContent().withHeader("X-Influxdb-Version", "v2.7.11").withHeader("X-Influxdb-Build", "OSS"));
    server.createContext("/", this::handle);
    server.start();
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** From now on, requests to {@code path} get {@code response}. */
  void answer(String path, Response response) {
    responses.put(path, response);
  }

  List<Request> requests() {
    return List.copyOf(requests);
  }

  List<Request> requestsTo(String path) {
    return requests.stream().filter(r -> r.uri().equals(path) || r.uri().startsWith(path + "?")).toList();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      Map<String, String> headers = new TreeMap<>();
      exchange.getRequestHeaders().forEach((name, values) -> headers.put(name.toLowerCase(Locale.ROOT), String.join(",", values)));
      byte[] raw = exchange.getRequestBody().readAllBytes();
      InputStream body = new ByteArrayInputStream(raw);
      if ("gzip".equalsIgnoreCase(headers.get("content-encoding"))) {
        body = new GZIPInputStream(body);
      }
      requests.add(new Request(exchange.getRequestMethod(), exchange.getRequestURI().toString(), headers,
          new String(body.readAllBytes(), StandardCharsets.UTF_8)));

      Response response = responses.get(exchange.getRequestURI().getPath());
      if (response == null) {
        response = Response.json(404, "{\"code\":\"not found\",\"message\":\"path not found\"}");
      }
      response.headers().forEach((name, value) -> exchange.getResponseHeaders().add(name, value));
      if (response.contentType() != null) {
        exchange.getResponseHeaders().add("Content-Type", response.contentType());
      }
      byte[] bytes = response.body().getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(response.status(), bytes.length == 0 ? -1 : bytes.length);
      if (bytes.length > 0) {
        exchange.getResponseBody().write(bytes);
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
