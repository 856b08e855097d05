package io.iotmeter.ops;

import io.iotmeter.bus.BusAddress;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * {@code iot-meter addresses}: the event-bus address catalogue as a table, with the live
 * counters of a running platform ({@code GET /debug/addresses}). When the platform cannot be
 * reached or its tap is off, it prints the catalogue compiled into this jar instead, says why
 * the counters are missing, and exits with 1 so that scripts can tell.
 */
public final class AddressListing {

  public static final String USAGE = """
      Usage: iot-meter addresses [--url URL] [--verbose] [--offline]

      Lists the event-bus addresses: delivery, scope, message shape, and the messages seen on
      this node since it started with the rate over the last 10 s (needs debug.bus_tap: true,
      or IOT_DEBUG_BUS_TAP=true, on the platform).

        --url URL    the platform's HTTP API (default: http://localhost:8080)
        --verbose    also who sends and who consumes each address, and the notes
        --offline    the catalogue only, without asking a platform""";

  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
  private static final int WIDTH = 100;
  private static final String NO_COUNTER = "-";
  private static final String UNCATALOGUED = "(not in the catalogue)";
  private static final String REPLIES = "(replies, to any request)";

  private AddressListing() {
  }

  private record Options(PlatformEndpoint endpoint, boolean verbose, boolean offline) {
  }

  /** Runs the command; returns the exit code (0 listed, 1 without live counters, 2 bad arguments). */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    Options options;
    try {
      options = parse(args);
    } catch (IllegalArgumentException e) {
      err.println("iot-meter addresses: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    if (options == null) {
      out.println(USAGE);
      return 0;
    }
    if (options.offline()) {
      out.println("Event-bus addresses (the catalogue of this build)");
      print(staticCatalogue(), options.verbose(), out);
      return 0;
    }
    try {
      JsonObject live = fetch(options.endpoint());
      out.println("Event-bus addresses at " + options.endpoint().base() + ", messages sent by that node since "
          + live.getString("since") + ", rates over the last " + live.getInteger("rate_window_s") + " s");
      print(live, options.verbose(), out);
      JsonObject streams = live.getJsonObject("streams");
      out.println();
      out.println("Bus tap streams open: " + streams.getInteger("open") + " of " + streams.getInteger("max"));
      return 0;
    } catch (Unavailable e) {
      err.println("iot-meter addresses: live counters unavailable: " + e.getMessage());
      out.println("Event-bus addresses (the catalogue of this build; live counters unavailable)");
      print(staticCatalogue(), options.verbose(), out);
      return 1;
    }
  }

  /** Why there are no live counters, in one line. */
  private static final class Unavailable extends Exception {
    Unavailable(String message) {
      super(message, null, false, false);
    }
  }

  private static JsonObject fetch(PlatformEndpoint endpoint) throws Unavailable {
    HttpRequest request = HttpRequest.newBuilder(endpoint.resolve("/debug/addresses"))
        .timeout(REQUEST_TIMEOUT).header("accept", "application/json").GET().build();
    HttpResponse<String> response;
    try {
      response = PlatformEndpoint.client().send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new Unavailable(endpoint.unreachable(e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Unavailable("interrupted");
    }
    if (response.statusCode() == 404) {
      throw new Unavailable("the bus tap is off at " + endpoint.base() + " (debug.bus_tap: true, or IOT_DEBUG_BUS_TAP=true, turns it on)");
    }
    try {
      if (response.statusCode() != 200) {
        throw new Unavailable("HTTP " + response.statusCode() + " from " + endpoint.base() + ": "
            + new JsonObject(response.body()).getString("error", ""));
      }
      return new JsonObject(response.body());
    } catch (DecodeException e) {
      throw new Unavailable(endpoint.base() + " answered something that is not the address listing (HTTP " + response.statusCode() + ")");
    }
  }

  /** The catalogue in the shape of {@code /debug/addresses}, without any counter. */
  static JsonObject staticCatalogue() {
    JsonArray entries = new JsonArray();
    for (BusAddress entry : BusAddress.values()) {
      entries.add(AddressCounters.describe(entry));
    }
    return new JsonObject().put("addresses", entries);
  }

  private static void print(JsonObject listing, boolean verbose, PrintStream out) {
    List<JsonObject> entries = objects(listing.getJsonArray("addresses"));
    JsonObject uncatalogued = listing.getJsonObject("uncatalogued");
    int column = Stream.concat(Stream.of(UNCATALOGUED, REPLIES), Stream.concat(entries.stream(), Stream.ofNullable(uncatalogued))
        .flatMap(entry -> Stream.concat(Stream.of(entry.getString("address", "")),
            objects(entry.getJsonArray("addresses", new JsonArray())).stream().map(a -> "  " + a.getString("address")))))
        .mapToInt(String::length).max().orElse(0) + 2;
    String format = "%-" + column + "s%-10s%-9s%10s%10s";
    out.println();
    out.println(String.format(format, "ADDRESS", "DELIVERY", "SCOPE", "SEEN", "MSG/S"));
    for (JsonObject entry : entries) {
      out.println(String.format(format, entry.getString("address"), entry.getString("delivery"), entry.getString("scope"),
          seen(entry), rate(entry)));
      if (entry.getBoolean("family")) {
        printMembers(entry, format, out);
      }
      wrap("shape: ", entry.getString("shape"), out);
      if (verbose) {
        wrap("from:  ", entry.getString("producers"), out);
        wrap("to:    ", entry.getString("consumers"), out);
        wrap("notes: ", entry.getString("notes"), out);
      }
    }
    if (uncatalogued != null && uncatalogued.getLong("seen", 0L) > 0) {
      out.println(String.format(format, UNCATALOGUED, "", "", seen(uncatalogued), rate(uncatalogued)));
      printMembers(uncatalogued, format, out);
    }
    JsonObject replies = listing.getJsonObject("replies");
    if (replies != null) {
      out.println(String.format(format, REPLIES, "", "", seen(replies), rate(replies)));
    }
  }

  private static void printMembers(JsonObject group, String format, PrintStream out) {
    for (JsonObject member : objects(group.getJsonArray("addresses", new JsonArray()))) {
      out.println(String.format(format, "  " + member.getString("address"), "", "", seen(member), rate(member)));
    }
    long others = group.getLong("other_addresses_seen", 0L);
    if (others > 0) {
      out.println(String.format(format, "  (more addresses, not listed)", "", "", others, ""));
    }
  }

  private static String seen(JsonObject counters) {
    return counters.containsKey("seen") ? String.valueOf(counters.getLong("seen")) : NO_COUNTER;
  }

  private static String rate(JsonObject counters) {
    return counters.containsKey("rate_per_s") ? String.format("%.1f", counters.getDouble("rate_per_s")) : NO_COUNTER;
  }

  /** Prints {@code text} after {@code label}, indented, folded at word boundaries to the table's width. */
  private static void wrap(String label, String text, PrintStream out) {
    String indent = "    ";
    StringBuilder line = new StringBuilder(indent).append(label);
    int hanging = line.length();
    for (String word : text.split(" ")) {
      if (line.length() > hanging && line.length() + 1 + word.length() > WIDTH) {
        out.println(line);
        line = new StringBuilder(" ".repeat(hanging));
      } else if (line.length() > hanging) {
        line.append(' ');
      }
      line.append(word);
    }
    out.println(line);
  }

  private static List<JsonObject> objects(JsonArray array) {
    List<JsonObject> objects = new ArrayList<>();
    array.forEach(value -> objects.add((JsonObject) value));
    return objects;
  }

  /** The options, or null for --help. */
  private static Options parse(String[] args) {
    PlatformEndpoint endpoint = PlatformEndpoint.parse(PlatformEndpoint.DEFAULT_URL);
    boolean verbose = false;
    boolean offline = false;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
      switch (name) {
        case "--help", "-h" -> {
          return null;
        }
        case "--verbose", "-v" -> verbose = true;
        case "--offline" -> offline = true;
        case "--url" -> {
          if (arg.contains("=")) {
            endpoint = PlatformEndpoint.parse(arg.substring(arg.indexOf('=') + 1));
          } else if (i + 1 < args.length) {
            endpoint = PlatformEndpoint.parse(args[++i]);
          } else {
            throw new IllegalArgumentException("Option --url needs a value");
          }
        }
        default -> throw new IllegalArgumentException(arg.startsWith("-") ? "Unknown option '" + name + "'" : "Unexpected argument '" + arg + "'");
      }
    }
    return new Options(endpoint, verbose, offline);
  }
}
