package io.iotmeter.ops;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code iot-meter tap}: prints the messages of the platform's event bus as they pass, one line
 * each, from {@code GET /debug/bus}. Runs until Ctrl-C, {@code --count} messages, or the
 * platform ends the stream.
 */
public final class BusTapClient {

  public static final String USAGE = """
      Usage: iot-meter tap [--url URL] [--rate N] [--sample N] [--count N] [--full] ADDRESS...

      Prints the event-bus messages of a running platform as they pass (its configuration needs
      debug.bus_tap: true, or IOT_DEBUG_BUS_TAP=true):
        HH:mm:ss.SSS  ADDRESS  KIND  BODY
      ADDRESS is an address or a pattern; * matches any characters, dots included:
        iot.accepted.*   every accepted message     iot.inbound   what MQTT hands to the intake
        *                everything                 iot.accepted.<category> works too

        --url URL    the platform's HTTP API (default: http://localhost:8080)
        --rate N     at most N messages a second (1-1000, default: the platform's debug.default_rate);
                     the others are skipped and counted
        --sample N   only every N-th matching message
        --count N    stop after N messages
        --full       print whole bodies (up to 4 KiB) instead of one abbreviated line""";

  /** Bodies are abbreviated to this many characters unless --full. */
  static final int BODY_WIDTH = 160;
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS").withZone(ZoneId.systemDefault());

  private BusTapClient() {
  }

  private record Options(PlatformEndpoint endpoint, List<String> addresses, Integer rate, Integer sample, long count, boolean full) {
  }

  /** Runs the command; returns the exit code (0 done, 1 platform unreachable or refused, 2 bad arguments). */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    Options options;
    try {
      options = parse(args);
    } catch (IllegalArgumentException e) {
      err.println("iot-meter tap: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    if (options == null) {
      out.println(USAGE);
      return 0;
    }
    HttpRequest request = HttpRequest.newBuilder(options.endpoint().resolve(query(options)))
        .header("accept", "text/event-stream").GET().build();
    HttpResponse<Stream<String>> response;
    try {
      response = PlatformEndpoint.client().send(request, HttpResponse.BodyHandlers.ofLines());
    } catch (IOException e) {
      err.println("iot-meter tap: " + options.endpoint().unreachable(e));
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
    try (Stream<String> lines = response.body()) {
      if (response.statusCode() != 200) {
        err.println("iot-meter tap: " + refusal(options.endpoint(), response.statusCode(), lines));
        return 1;
      }
      err.println("Tapping " + String.join(" ", options.addresses()) + " at " + options.endpoint().base() + " (Ctrl-C to stop)");
      return print(lines.iterator(), options, out, err);
    }
  }

  private static int print(Iterator<String> lines, Options options, PrintStream out, PrintStream err) {
    SseParser parser = new SseParser();
    long shown = 0;
    try {
      while (lines.hasNext()) {
        var event = parser.accept(lines.next());
        if (event.isEmpty()) {
          continue;
        }
        JsonObject data = new JsonObject(event.get().data());
        if (event.get().name().equals("skipped")) {
          out.println(TIME.format(Instant.now()) + "  (" + data.getLong("skipped")
              + " messages skipped: over the rate limit, or arriving faster than this connection reads)");
        } else if (event.get().name().equals("refused")) {
          out.println(TIME.format(Instant.now()) + "  (node " + data.getString("node") + " streams nothing: "
              + data.getString("refused") + ")");
        } else if (event.get().name().equals("message")) {
          out.println(line(data, options.full()));
          if (++shown == options.count()) {
            return 0;
          }
        }
      }
    } catch (UncheckedIOException e) {
      err.println("iot-meter tap: the connection to " + options.endpoint().base() + " broke: " + e.getCause().getMessage());
      return 1;
    } catch (DecodeException e) {
      err.println("iot-meter tap: " + options.endpoint().base() + " sent something that is not a bus tap event: " + e.getMessage());
      return 1;
    }
    err.println("iot-meter tap: the platform at " + options.endpoint().base() + " ended the stream");
    return 1;
  }

  /** {@code HH:mm:ss.SSS  address  kind  [@node]  body}, the body on one line; the node for another node's message. */
  static String line(JsonObject event, boolean full) {
    String body = Json.encode(event.getValue("body"));
    if (!full && body.length() > BODY_WIDTH) {
      body = body.substring(0, BODY_WIDTH - 1) + "…";
    }
    String from = event.getString("node") == null ? "" : "@" + event.getString("node") + "  ";
    return String.format("%s  %-22s  %-7s  %s%s", TIME.format(Instant.parse(event.getString("time"))),
        event.getString("address"), event.getString("kind"), from, body);
  }

  private static String refusal(PlatformEndpoint endpoint, int status, Stream<String> body) {
    if (status == 404) {
      return "the bus tap is off at " + endpoint.base() + " (set debug.bus_tap: true, or IOT_DEBUG_BUS_TAP=true, and restart the platform)";
    }
    String text = body.collect(Collectors.joining("\n"));
    try {
      return new JsonObject(text).getString("error", "HTTP " + status);
    } catch (DecodeException e) {
      return "HTTP " + status + " from " + endpoint.base() + ": " + text.lines().findFirst().orElse("");
    }
  }

  private static String query(Options options) {
    List<String> parameters = new ArrayList<>();
    options.addresses().forEach(a -> parameters.add("address=" + URLEncoder.encode(a, StandardCharsets.UTF_8)));
    if (options.rate() != null) {
      parameters.add("rate=" + options.rate());
    }
    if (options.sample() != null) {
      parameters.add("sample=" + options.sample());
    }
    return "/debug/bus?" + String.join("&", parameters);
  }

  /** The options, or null for --help. */
  private static Options parse(String[] args) {
    PlatformEndpoint endpoint = PlatformEndpoint.parse(PlatformEndpoint.DEFAULT_URL);
    List<String> addresses = new ArrayList<>();
    Integer rate = null;
    Integer sample = null;
    long count = -1;
    boolean full = false;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (!arg.startsWith("--") && !arg.equals("-h")) {
        addresses.add(arg);
        continue;
      }
      String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
      switch (name) {
        case "--help", "-h" -> {
          return null;
        }
        case "--full" -> full = true;
        case "--url", "--rate", "--sample", "--count" -> {
          String value;
          if (arg.contains("=")) {
            value = arg.substring(arg.indexOf('=') + 1);
          } else if (i + 1 < args.length) {
            value = args[++i];
          } else {
            throw new IllegalArgumentException("Option " + name + " needs a value");
          }
          switch (name) {
            case "--url" -> endpoint = PlatformEndpoint.parse(value);
            case "--rate" -> rate = positive(name, value, TapRequest.MAX_RATE);
            case "--sample" -> sample = positive(name, value, TapRequest.MAX_SAMPLE);
            default -> count = positive(name, value, Integer.MAX_VALUE);
          }
        }
        default -> throw new IllegalArgumentException("Unknown option '" + name + "'");
      }
    }
    if (addresses.isEmpty()) {
      throw new IllegalArgumentException("Name at least one ADDRESS (a pattern such as iot.accepted.*, or * for everything)");
    }
    return new Options(endpoint, addresses, rate, sample, count, full);
  }

  static int positive(String option, String value, int max) {
    try {
      int number = Integer.parseInt(value);
      if (number >= 1 && number <= max) {
        return number;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException("Option " + option + " must be a whole number from 1 to " + max + ", not '" + value + "'");
  }
}
