package io.iotmeter.ops;

import java.util.Optional;

/**
 * Reads a {@code text/event-stream} one line at a time, by the WHATWG rules the tap needs:
 * {@code event:} names the event, {@code data:} lines are joined with newlines, lines starting
 * with {@code :} are comments (keep-alives), and a blank line ends the event. Not thread-safe:
 * one per stream.
 */
public final class SseParser {

  /** A complete event; {@code name} is {@code message} when the stream gave none. */
  public record SseEvent(String name, String data) {
  }

  private String name;
  private StringBuilder data;

  /** Feeds one line without its line ending; returns the event this line completes, if any. */
  public Optional<SseEvent> accept(String line) {
    if (line.isEmpty()) {
      Optional<SseEvent> event = data == null ? Optional.empty()
          : Optional.of(new SseEvent(name == null ? "message" : name, data.toString()));
      name = null;
      data = null;
      return event;
    }
    if (line.startsWith(":")) {
      return Optional.empty();
    }
    int colon = line.indexOf(':');
    String field = colon < 0 ? line : line.substring(0, colon);
    String value = colon < 0 ? "" : line.substring(line.startsWith(" ", colon + 1) ? colon + 2 : colon + 1);
    if (field.equals("event")) {
      name = value;
    } else if (field.equals("data")) {
      data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
    }
    return Optional.empty();
  }
}
