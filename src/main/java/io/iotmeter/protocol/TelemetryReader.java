package io.iotmeter.protocol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the telemetry datagrams meters send — v2, {@code type/val/unit/ts} samples, ASCII —
 * with Jackson's streaming parser straight into {@link Measurement} records: no JSON tree of
 * maps and boxed numbers per sample, no copy of the payload as text. It is the fast path of
 * {@link DeviceMessage#parse}, and only that: anything it is not sure of (any escape or
 * non-ASCII byte, SenML samples, v1 payloads, a repeated key, an unusual number, any value
 * the protocol refuses) makes it answer null, and the general parser, which builds the tree,
 * judges the payload and words the error. So what is accepted or refused, and why, never
 * depends on which path read it ({@code TelemetryReaderTest} compares the two on random input).
 */
final class TelemetryReader {

  /** Strict standard JSON (no comments, no single quotes): never more lenient than the general parser. */
  private static final JsonFactory JSON = new JsonFactory();

  private static final int V = 1;
  private static final int SEQ = 2;
  private static final int TS = 4;
  private static final int DEVICE_ID = 8;
  private static final int MSG_TYPE = 16;
  private static final int MEASUREMENTS = 32;

  private TelemetryReader() {
  }

  /** The message, exactly as the general parser would return it without its tree; or null to let it judge. */
  static DeviceMessage read(DeviceTopic topic, byte[] bytes) {
    if (!plainAscii(bytes)) {
      return null;
    }
    try (JsonParser p = JSON.createParser(bytes)) {
      return read(topic, p);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private static DeviceMessage read(DeviceTopic topic, JsonParser p) throws IOException {
    if (p.nextToken() != JsonToken.START_OBJECT) {
      return null;
    }
    int seen = 0;
    long seq = -1;
    Instant ts = null;
    boolean mismatch = false;
    List<Measurement> measurements = null;
    for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
      String field = p.currentName();
      int bit = bit(field);
      if ((seen & bit) != 0) {
        return null; // a repeated key: the general parser keeps the last one
      }
      seen |= bit;
      JsonToken value = p.nextToken();
      switch (bit) {
        case V -> {
          if (value != JsonToken.VALUE_NUMBER_INT || p.getNumberType() != JsonParser.NumberType.INT || p.getIntValue() != 2) {
            return null;
          }
        }
        case SEQ -> {
          if (value != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            return null;
          }
          seq = p.getLongValue();
          if (seq < 0 || seq > DeviceMessage.MAX_SEQ) {
            return null;
          }
        }
        case TS -> {
          ts = value == JsonToken.VALUE_STRING ? instant(p.getText()) : null;
          if (ts == null) {
            return null;
          }
        }
        case DEVICE_ID -> {
          if (value != JsonToken.VALUE_STRING) {
            return null;
          }
          mismatch = !topic.deviceId().equals(p.getText());
        }
        case MSG_TYPE -> {
          if (value != JsonToken.VALUE_STRING || !Category.TELEMETRY.categoryName().equals(p.getText())) {
            return null;
          }
        }
        case MEASUREMENTS -> {
          measurements = value == JsonToken.START_ARRAY ? samples(p) : null;
          if (measurements == null) {
            return null;
          }
        }
        default -> p.skipChildren(); // a field the protocol does not read
      }
    }
    if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
      return null;
    }
    if ((seen & (V | SEQ | TS | MEASUREMENTS)) != (V | SEQ | TS | MEASUREMENTS)) {
      return null;
    }
    return new DeviceMessage(topic, 2, seq, ts, null, mismatch, measurements);
  }

  private static int bit(String field) {
    return switch (field) {
      case "v" -> V;
      case "seq" -> SEQ;
      case "ts" -> TS;
      case "device_id" -> DEVICE_ID;
      case "msg_type" -> MSG_TYPE;
      case "measurements" -> MEASUREMENTS;
      default -> 0;
    };
  }

  /** The array's samples; null for anything but objects of {@code type, val, unit, ts}. */
  private static List<Measurement> samples(JsonParser p) throws IOException {
    List<Measurement> list = new ArrayList<>(32);
    Times times = new Times();
    for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
      if (t != JsonToken.START_OBJECT || list.size() == DeviceMessage.MAX_MEASUREMENTS) {
        return null;
      }
      Measurement m = sample(p, times);
      if (m == null) {
        return null;
      }
      list.add(m);
    }
    return List.copyOf(list);
  }

  /** A datagram's samples mostly share one time: the last one read is kept, not parsed again. */
  private static final class Times {
    String text;
    Instant instant;

    Instant parse(String next) {
      if (!next.equals(text)) {
        instant = instant(next);
        text = instant == null ? null : next;
      }
      return instant;
    }
  }

  private static Measurement sample(JsonParser p, Times times) throws IOException {
    String type = null;
    String unit = null;
    boolean unitSeen = false;
    Instant ts = null;
    double val = Double.NaN;
    for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
      String field = p.currentName();
      JsonToken value = p.nextToken();
      switch (field) {
        case "type" -> {
          if (type != null || value != JsonToken.VALUE_STRING || !DeviceMessage.isMetricName(p.getText())) {
            return null;
          }
          type = p.getText();
        }
        case "val" -> {
          if (!Double.isNaN(val) || !(value == JsonToken.VALUE_NUMBER_FLOAT
              || (value == JsonToken.VALUE_NUMBER_INT && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER))) {
            return null;
          }
          val = value == JsonToken.VALUE_NUMBER_INT ? (double) p.getLongValue() : p.getDoubleValue();
          if (!(Math.abs(val) <= DeviceMessage.MAX_MAGNITUDE)) {
            return null; // also NaN and the infinities
          }
        }
        case "unit" -> {
          if (unitSeen) {
            return null;
          }
          unitSeen = true;
          if (value == JsonToken.VALUE_STRING) {
            String text = p.getText();
            if (!text.isEmpty() && !DeviceMessage.isUnit(text)) {
              return null;
            }
            unit = text.isEmpty() ? null : text;
          } else if (value != JsonToken.VALUE_NULL) {
            return null;
          }
        }
        case "ts" -> {
          if (ts != null || value != JsonToken.VALUE_STRING) {
            return null;
          }
          ts = times.parse(p.getText());
          if (ts == null) {
            return null;
          }
        }
        default -> {
          return null; // SenML's n/v/u/t, or anything else: the general parser decides
        }
      }
    }
    if (type == null || Double.isNaN(val) || ts == null) {
      return null;
    }
    return new Measurement(ts, Names.SHARED.canonical(type), val, Names.SHARED.canonical(unit));
  }

  /** The time when it is one the protocol accepts; null otherwise. */
  private static Instant instant(String text) {
    try {
      Instant instant = IsoInstant.parse(text);
      return DeviceMessage.inStoredRange(instant) ? instant : null;
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  /**
   * No byte outside printable ASCII but whitespace, no NUL, no backslash: the payload's strings
   * are then what their bytes say (no escapes, no UTF-8 to check), which is all this reader handles.
   */
  private static boolean plainAscii(byte[] bytes) {
    for (byte b : bytes) {
      if (b < 0x20 ? b != '\n' && b != '\r' && b != '\t' : b == '\\' || b == 0x7f) {
        return false;
      }
    }
    return true;
  }
}
