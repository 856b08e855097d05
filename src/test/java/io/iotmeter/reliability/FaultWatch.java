package io.iotmeter.reliability;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Watches a platform while a fault is injected, so that a row of the fault suite can show the
 * fault took effect — a row that passes when the injection did nothing proves nothing. Every
 * half second it asks {@code /readyz} (which components failed, and why), reads the error
 * counters from {@code /metrics}, and counts each sink's backlog in the journal (straight from
 * PostgreSQL, past any relay the fault cuts).
 */
final class FaultWatch implements AutoCloseable {

  private static final Pattern ERROR_COUNTER =
      Pattern.compile("^mqtt_collector_messages_errors_total\\{[^}]*error_type=\"([^\"]+)\"[^}]*\\} ([0-9.eE+-]+)$");

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final String base;
  private final JsonObject postgres;
  private final Thread thread;
  private volatile boolean running = true;

  private final Set<String> notReady = ConcurrentHashMap.newKeySet();
  private final List<String> reasons = java.util.Collections.synchronizedList(new ArrayList<>());
  private volatile int unanswered;
  private volatile int polls;
  private final Map<String, Double> countersAtStart = new ConcurrentHashMap<>();
  private final Map<String, Double> countersMax = new ConcurrentHashMap<>();
  private final Map<String, Long> backlogMax = new ConcurrentHashMap<>();

  /** @param postgres the journal's database as the test reaches it directly (null: no backlog) */
  FaultWatch(int httpPort, JsonObject postgres) {
    this.base = "http://127.0.0.1:" + httpPort;
    this.postgres = postgres;
    countersAtStart.putAll(counters());
    this.thread = new Thread(this::watch, "fault-watch");
    thread.setDaemon(true);
    thread.start();
  }

  private void watch() {
    while (running) {
      polls++;
      readiness();
      counters().forEach((type, value) -> countersMax.merge(type, value, Math::max));
      backlog();
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private void readiness() {
    try {
      HttpResponse<String> ready = http.send(HttpRequest.newBuilder(URI.create(base + "/readyz")).timeout(Duration.ofSeconds(3))
          .build(), HttpResponse.BodyHandlers.ofString());
      if (ready.statusCode() != 200) {
        JsonObject body = new JsonObject(ready.body());
        body.getJsonArray("failed", new JsonArray()).forEach(name -> notReady.add(String.valueOf(name)));
        body.getJsonArray("checks", new JsonArray()).forEach(check -> {
          String reason = ((JsonObject) check).getString("reason");
          if (reason != null) {
            reasons.add(((JsonObject) check).getString("name") + ": " + reason);
          }
        });
      }
    } catch (IOException | RuntimeException e) {
      unanswered++; // no answer within 3 s is a fault seen too (a stalled database holds readiness)
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private Map<String, Double> counters() {
    Map<String, Double> counters = new java.util.HashMap<>();
    try {
      HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).timeout(Duration.ofSeconds(3))
          .build(), HttpResponse.BodyHandlers.ofString());
      for (String line : metrics.body().split("\n")) {
        Matcher m = ERROR_COUNTER.matcher(line);
        if (m.matches()) {
          counters.put(m.group(1), Double.parseDouble(m.group(2)));
        }
      }
    } catch (IOException | RuntimeException e) {
      // unanswered: counted by readiness
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return counters;
  }

  private void backlog() {
    if (postgres == null) {
      return;
    }
    try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + postgres.getInteger("port") + "/"
        + postgres.getString("database") + "?connectTimeout=2&socketTimeout=3", postgres.getString("user", "postgres"),
        postgres.getString("password", ""));
         var s = c.createStatement();
         ResultSet rows = s.executeQuery("SELECT count(*) FILTER (WHERE sink = 'archive'), count(*) FILTER (WHERE sink = 'timeseries'), "
             + "count(*) FILTER (WHERE sink = 'registry') FROM journal_waiting")) {
      rows.next();
      backlogMax.merge("archive", rows.getLong(1), Math::max);
      backlogMax.merge("timeseries", rows.getLong(2), Math::max);
      backlogMax.merge("registry", rows.getLong(3), Math::max);
    } catch (SQLException e) {
      // the database itself may be the fault
    }
  }

  @Override
  public void close() {
    running = false;
    thread.interrupt();
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Components {@code /readyz} named as failed at least once. */
  Set<String> notReady() {
    return new TreeSet<>(notReady);
  }

  List<String> reasons() {
    synchronized (reasons) {
      return List.copyOf(reasons);
    }
  }

  /** Polls that got no answer from {@code /readyz} within 3 s. */
  int unanswered() {
    return unanswered;
  }

  int polls() {
    return polls;
  }

  /** How much an error counter rose during the watch. */
  double rise(String errorType) {
    return countersMax.getOrDefault(errorType, 0.0) - countersAtStart.getOrDefault(errorType, 0.0);
  }

  /** The most messages a sink had pending in the journal at once. */
  long backlog(String sink) {
    return backlogMax.getOrDefault(sink, 0L);
  }

  /** One line for the table: what was seen. */
  String seen(String... errorTypes) {
    List<String> parts = new ArrayList<>();
    if (!notReady.isEmpty()) {
      parts.add("/readyz 503 naming " + String.join(", ", notReady()));
    }
    if (unanswered > 0) {
      parts.add(String.format("/readyz unanswered %d of %d polls", unanswered, polls));
    }
    for (String type : errorTypes) {
      if (rise(type) > 0) {
        parts.add(String.format("%s errors +%.0f", type, rise(type)));
      }
    }
    backlogMax.forEach((sink, max) -> {
      if (max > 200) {
        parts.add(String.format("%s backlog up to %,d", sink, max));
      }
    });
    return String.join("; ", parts);
  }
}
