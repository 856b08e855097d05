package io.iotmeter.ops;

import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A {@code GET /debug/bus} client for the tests, on the JDK's HTTP client: it returns once the
 * response headers are in (the platform subscribes before it sends them) and collects the
 * events on a thread of its own until closed.
 */
public final class TapStreamClient implements AutoCloseable {

  private final int status;
  private final String errorBody;
  private final Stream<String> lines;
  private final List<SseParser.SseEvent> events = new CopyOnWriteArrayList<>();

  private TapStreamClient(HttpResponse<Stream<String>> response) {
    this.status = response.statusCode();
    if (status == 200) {
      this.lines = response.body();
      this.errorBody = null;
      Thread reader = new Thread(this::read, "tap-stream-reader");
      reader.setDaemon(true);
      reader.start();
    } else {
      this.lines = null;
      try (Stream<String> body = response.body()) {
        this.errorBody = body.collect(Collectors.joining("\n"));
      }
    }
  }

  public static TapStreamClient open(int httpPort, String query) {
    return open(httpPort, query, null);
  }

  /** A stream opened with an API key (security on). */
  public static TapStreamClient open(int httpPort, String query, String key) {
    HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/debug/bus?" + query)).GET();
    if (key != null) {
      builder.header("Authorization", "Bearer " + key);
    }
    HttpRequest request = builder.build();
    try {
      return new TapStreamClient(HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
          .send(request, HttpResponse.BodyHandlers.ofLines()));
    } catch (IOException e) {
      throw new AssertionError("cannot open the tap stream", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private void read() {
    SseParser parser = new SseParser();
    try {
      lines.forEach(line -> parser.accept(line).ifPresent(events::add));
    } catch (RuntimeException e) {
      // The stream was closed by the test, or the platform stopped: the collected events stay.
    }
  }

  public int status() {
    return status;
  }

  public JsonObject error() {
    return new JsonObject(errorBody);
  }

  /** The data of every {@code message} event so far. */
  public List<JsonObject> messages() {
    return events.stream().filter(e -> e.name().equals("message")).map(e -> new JsonObject(e.data())).toList();
  }

  /** The messages whose body names {@code deviceId}. */
  public List<JsonObject> messagesOf(String deviceId) {
    return messages().stream().filter(m -> m.getValue("body") instanceof JsonObject body
        && deviceId.equals(body.getString("device_id"))).toList();
  }

  /** The data of every event of this name so far. */
  public List<JsonObject> events(String name) {
    return events.stream().filter(e -> e.name().equals(name)).map(e -> new JsonObject(e.data())).toList();
  }

  /** The sum of the {@code skipped} events so far. */
  public long skipped() {
    return events.stream().filter(e -> e.name().equals("skipped"))
        .mapToLong(e -> new JsonObject(e.data()).getLong("skipped")).sum();
  }

  @Override
  public void close() {
    if (lines != null) {
      lines.close();
    }
  }
}
