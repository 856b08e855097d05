package io.iotmeter.reliability;

import io.iotmeter.protocol.Category;
import io.iotmeter.protocol.Measurement;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

/**
 * Generated device datagrams that docs/protocol.md says the platform accepts, each with what the
 * parser must return for it — computed from the generated values, not from the parser. Keys come
 * in any order, compact or pretty-printed, because a meter's JSON library may write either.
 */
final class ProtocolDatagrams {

  /** The protocol's time range: "a time before 1678 or after 2261" is refused, everything between accepted. */
  static final Instant EARLIEST = Instant.parse("1678-01-01T00:00:00Z");
  static final Instant LATEST = Instant.parse("2261-12-31T23:59:59.999999999Z");
  private static final double SENML_ABSOLUTE = 268_435_456; // 2^28 s: RFC 8428's absolute times

  private ProtocolDatagrams() {
  }

  /** A datagram: where it is published, the JSON sent, and what must come back. */
  record Datagram(String form, Category category, String deviceId, JsonObject json, boolean pretty, Expected expected) {

    String topic() {
      return category.topicFor(deviceId);
    }

    String text() {
      return Raw.substitute(pretty ? json.encodePrettily() : json.encode());
    }

    byte[] bytes() {
      return text().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Whether the streaming reader must take it: v2 telemetry of {@code type/val/unit/ts}
     * samples in plain ASCII without escapes (the form its class comment promises to read).
     */
    boolean forTheFastPath() {
      if (category != Category.TELEMETRY || expected.version() != 2 || form.contains("senml")) {
        return false;
      }
      for (byte b : bytes()) {
        if (b < 0x20 ? b != '\n' && b != '\r' && b != '\t' : b == '\\' || b == 0x7f) {
          return false;
        }
      }
      return true;
    }

    Datagram with(JsonObject changed) {
      return new Datagram(form, category, deviceId, changed, pretty, expected);
    }
  }

  /** What the parser must return: seq is null for status and v1; payload is the JSON sent, null for telemetry. */
  record Expected(int version, Long seq, Instant ts, List<Measurement> measurements, boolean keepsPayload) {
  }

  /** A time as a meter may write it, and the instant that text means. */
  record Stamp(Instant instant, String text) {
  }

  /** JSON text a JsonObject cannot hold (1e400, a 30-digit integer): a marker string replaced after encoding. */
  record Raw(String json) {
    private static final String MARK = "@@raw:";

    String marker() {
      return MARK + json + "@@";
    }

    static String substitute(String encoded) {
      int at;
      while ((at = encoded.indexOf('"' + MARK)) >= 0) {
        int end = encoded.indexOf("@@\"", at + MARK.length() + 1);
        encoded = encoded.substring(0, at) + encoded.substring(at + MARK.length() + 1, end) + encoded.substring(end + 3);
      }
      return encoded;
    }
  }

  // ---------------------------------------------------------------- times

  static Arbitrary<Instant> instantsBetween(Instant from, Instant to) {
    return Combinators.combine(Arbitraries.longs().between(from.getEpochSecond(), to.getEpochSecond()),
            Arbitraries.integers().between(0, 999_999_999))
        .as((s, n) -> Instant.ofEpochSecond(s, n))
        .filter(i -> !i.isBefore(from) && !i.isAfter(to));
  }

  static Arbitrary<Instant> instants() {
    return Arbitraries.frequencyOf(
        Tuple.of(6, instantsBetween(Instant.parse("2020-01-01T00:00:00Z"), Instant.parse("2031-01-01T00:00:00Z"))),
        Tuple.of(2, instantsBetween(EARLIEST, LATEST)),
        Tuple.of(1, instantsBetween(EARLIEST, EARLIEST.plusSeconds(2 * 86_400))),
        Tuple.of(1, instantsBetween(LATEST.minusSeconds(2 * 86_400), LATEST)),
        Tuple.of(1, Arbitraries.of(EARLIEST, LATEST)));
  }

  /** Any instant of the range as ISO-8601 with a zone: 0 to 9 fraction digits, Z or an offset, seconds left out at :00. */
  static Arbitrary<Stamp> stamps() {
    Arbitrary<Integer> offsetMinutes = Arbitraries.frequencyOf(
        Tuple.of(6, Arbitraries.just(0)),
        Tuple.of(3, Arbitraries.integers().between(-18 * 60, 18 * 60)),
        Tuple.of(1, Arbitraries.of(-18 * 60, 18 * 60, 60, -60, 330)));
    Arbitrary<Integer> digits = Arbitraries.frequencyOf(Tuple.of(4, Arbitraries.just(0)),
        Tuple.of(4, Arbitraries.of(3, 6, 9)), Tuple.of(2, Arbitraries.integers().between(1, 9)));
    return Combinators.combine(instants(), digits, offsetMinutes, Arbitraries.integers().between(0, 3))
        .as(ProtocolDatagrams::stamp);
  }

  /** {@code variant}: 0 writes a zero offset as Z, 1 as +00:00; 2 leaves out ":00" seconds where it can. */
  static Stamp stamp(Instant instant, int digits, int offsetMinutes, int variant) {
    long unit = (long) Math.pow(10, 9 - digits);
    Instant t = instant.minusNanos(instant.getNano() % unit);
    ZoneOffset offset = ZoneOffset.ofTotalSeconds(offsetMinutes * 60);
    LocalDateTime local = LocalDateTime.ofInstant(t, offset);
    StringBuilder text = new StringBuilder(String.format(Locale.ROOT, "%04d-%02d-%02dT%02d:%02d", local.getYear(),
        local.getMonthValue(), local.getDayOfMonth(), local.getHour(), local.getMinute()));
    boolean dropSeconds = variant == 2 && digits == 0 && local.getSecond() == 0;
    if (!dropSeconds) {
      text.append(String.format(Locale.ROOT, ":%02d", local.getSecond()));
    }
    if (digits > 0) {
      text.append('.').append(String.format(Locale.ROOT, "%09d", t.getNano()), 0, digits);
    }
    if (offsetMinutes == 0 && variant != 1) {
      text.append('Z');
    } else {
      int abs = Math.abs(offsetMinutes);
      text.append(offsetMinutes < 0 ? '-' : '+').append(String.format(Locale.ROOT, "%02d:%02d", abs / 60, abs % 60));
    }
    return new Stamp(t, text.toString());
  }

  // ---------------------------------------------------------------- names and values

  static Arbitrary<String> deviceIds() {
    Arbitrary<String> usual = Combinators.combine(Arbitraries.of("dc-meter-", "ac-meter-", "M", "train.7_car-"),
        Arbitraries.integers().between(0, 99_999)).as((prefix, n) -> prefix + n);
    Arbitrary<Character> first = Arbitraries.chars().alpha().numeric();
    Arbitrary<String> rest = Arbitraries.strings().alpha().numeric().withChars("._-").ofMaxLength(99);
    Arbitrary<String> any = Combinators.combine(first, rest).as((f, r) -> f + r);
    return Arbitraries.frequencyOf(Tuple.of(3, usual), Tuple.of(2, any),
        Tuple.of(1, first.map(f -> f + "x".repeat(99))));
  }

  static Arbitrary<String> metricNames() {
    Arbitrary<Character> first = Arbitraries.chars().alpha();
    Arbitrary<String> rest = Arbitraries.strings().alpha().numeric().withChars('_').ofMaxLength(63);
    return Combinators.combine(first, rest).as((f, r) -> f + r);
  }

  /** Units of 1 to 16 letters, digits, punctuation or symbols, ASCII or not. */
  static Arbitrary<String> units() {
    Arbitrary<String> ascii = Arbitraries.strings().withCharRange('!', '~').ofMinLength(1).ofMaxLength(16);
    Arbitrary<String> usual = Arbitraries.of("V", "A", "Hz", "%", "Cel", "W", "kWh", "var", "VA", "m/s2");
    Arbitrary<String> other = Arbitraries.of("°C", "µA", "m/s²", "Ω", "‰", "kΩ·m", "€/kWh", "度", "ĀĀĀĀĀĀĀĀĀĀĀĀĀĀĀĀ");
    return Arbitraries.frequencyOf(Tuple.of(3, usual), Tuple.of(2, ascii), Tuple.of(1, other));
  }

  /** Any value the protocol takes: magnitude at most 10^15, with the edges. */
  static Arbitrary<Double> values() {
    return Arbitraries.frequencyOf(
        Tuple.of(3, Arbitraries.doubles().between(-1e15, 1e15).ofScale(4)),
        Tuple.of(3, Arbitraries.doubles().between(-1e4, 1e4).ofScale(6)),
        Tuple.of(2, Arbitraries.longs().between(-1_000_000_000_000_000L, 1_000_000_000_000_000L).map(l -> (double) l)),
        Tuple.of(1, Arbitraries.of(0.0, -0.0, 1e15, -1e15, Math.nextDown(1e15), Double.MIN_VALUE, -Double.MIN_VALUE,
            1e-300, 0.1, 1.0 / 3, 4294967296.0)));
  }

  /** A value and whether it is written as a JSON integer (only when it is one). */
  record Value(double value, boolean asInteger) {
  }

  static Arbitrary<Value> numbers() {
    return Combinators.combine(values(), Arbitraries.of(true, false))
        .as((value, integer) -> new Value(value, integer && value == Math.rint(value) && !isNegativeZero(value)));
  }

  /** A free text: ASCII, control characters, quotes, backslashes, text that looks like an escape, other scripts. */
  static Arbitrary<String> texts(int maxPieces) {
    return Arbitraries.of("a", "Z", "7", " ", "\\", "\"", "/", "\n", "\t", "\u0001", "\u001f", "\u007f", "é", "中", "😀",
            "\u2028", "\\u0000", "\\n", "u0000", "{}", "OK")
        .list().ofMaxSize(maxPieces).map(p -> String.join("", p));
  }

  // ---------------------------------------------------------------- measurements

  /** A measurement type the meters send, its unit and its usual range (protocol "Measurement types"). */
  record Known(String type, String unit, double min, double max) {
  }

  static final List<Known> KNOWN = List.of(new Known("voltage_dc", "V", 0, 4000), new Known("current_dc", "A", -3000, 3000),
      new Known("voltage_ac", "V", 0, 30_000), new Known("current_ac", "A", -3000, 3000), new Known("frequency", "Hz", 0, 100),
      new Known("pf", null, -1, 1), new Known("thd_v", "%", 0, 100), new Known("thd_i", "%", 0, 100),
      new Known("temperature", "Cel", -60, 150), new Known("battery", "V", 0, 60));

  enum UnitForm { ABSENT, NULL, EMPTY, GIVEN }

  enum SenmlTime { ABSENT, RELATIVE, ABSOLUTE }

  /** A sample before the message's time is known (a SenML time may be relative to it). */
  record Sample(boolean senml, String type, double value, boolean asInteger, String unit, UnitForm unitForm, Stamp stamp,
                SenmlTime senmlTime, long quarterSeconds) {

    /** The JSON entry, keys in the order {@code random} gives, and the measurement it means. */
    Map.Entry<JsonObject, Measurement> resolve(Instant messageTs, Random random) {
      Object val = asInteger ? (Object) (long) value : (Object) value;
      LinkedHashMap<String, Object> fields = new LinkedHashMap<>();
      Instant ts;
      if (!senml) {
        fields.put("type", type);
        fields.put("val", val);
        fields.put("ts", stamp.text());
        ts = stamp.instant();
      } else {
        fields.put("n", type);
        fields.put("v", val);
        ts = messageTs;
        if (senmlTime == SenmlTime.RELATIVE) {
          long q = quarterSeconds;
          Instant at = messageTs.plusMillis(250 * q);
          if (at.isBefore(EARLIEST) || at.isAfter(LATEST)) {
            q = -q; // the other way lies inside the range: it spans 584 years, a relative time 12 days
            at = messageTs.plusMillis(250 * q);
          }
          fields.put("t", q % 4 == 0 ? (Object) (q / 4) : (Object) (q / 4.0));
          ts = at;
        } else if (senmlTime == SenmlTime.ABSOLUTE) {
          // The sample's own time, in quarter seconds (exact in a double), from 2^28 s on.
          long q = Math.max(stamp.instant().getEpochSecond(), (long) SENML_ABSOLUTE) * 4 + stamp.instant().getNano() / 250_000_000;
          fields.put("t", q % 4 == 0 ? (Object) (q / 4) : (Object) (q / 4.0));
          ts = Instant.ofEpochSecond(q / 4, (q % 4) * 250_000_000);
        }
      }
      String unitKey = senml ? "u" : "unit";
      switch (unitForm) {
        case NULL -> fields.put(unitKey, null);
        case EMPTY -> fields.put(unitKey, "");
        case GIVEN -> fields.put(unitKey, unit);
        default -> {
        }
      }
      String storedUnit = unitForm == UnitForm.GIVEN ? unit : null;
      return Map.entry(shuffled(fields, random), new Measurement(ts, type, value, storedUnit));
    }
  }

  static Arbitrary<Sample> samples() {
    // No flatMap per sample: a generator built for every element of a 200-sample list costs seconds.
    Arbitrary<Sample> known = Combinators.combine(Arbitraries.of(KNOWN), Arbitraries.integers().between(0, 1_000_000),
            Arbitraries.of(UnitForm.values()), stamps(), Arbitraries.of(false, false, false, false, false, true),
            Arbitraries.of(SenmlTime.values()), Arbitraries.longs().between(-4_000_000, 4_000_000), Arbitraries.of(true, false))
        .as((k, millionths, unitForm, stamp, senml, senmlTime, q, asInteger) -> {
          double value = Math.round((k.min() + (k.max() - k.min()) * millionths / 1e6) * 1000) / 1000.0;
          UnitForm form = k.unit() == null ? (unitForm == UnitForm.GIVEN ? UnitForm.ABSENT : unitForm) : weighted(unitForm);
          boolean integral = asInteger && value == Math.rint(value) && !isNegativeZero(value);
          return new Sample(senml, k.type(), value, integral, k.unit(), form, stamp, senmlTime, q);
        });
    Arbitrary<Sample> other = Combinators.combine(metricNames(), numbers(), units(), Arbitraries.of(UnitForm.values()), stamps(),
            Arbitraries.of(false, false, false, false, false, true), Arbitraries.of(SenmlTime.values()),
            Arbitraries.longs().between(-4_000_000, 4_000_000))
        .as((type, number, unit, unitForm, stamp, senml, senmlTime, q) ->
            new Sample(senml, type, number.value(), number.asInteger(), unit, unitForm, stamp, senmlTime, q));
    return Arbitraries.frequencyOf(Tuple.of(3, known), Tuple.of(2, other));
  }

  /** A known type's unit is mostly given, as the meters do. */
  private static UnitForm weighted(UnitForm form) {
    return form == UnitForm.ABSENT || form == UnitForm.NULL ? form : UnitForm.GIVEN;
  }

  private static boolean isNegativeZero(double value) {
    return Double.doubleToRawLongBits(value) == Long.MIN_VALUE;
  }

  // ---------------------------------------------------------------- datagrams

  static Arbitrary<Datagram> valid() {
    return valid(true);
  }

  /** {@code large}: telemetry of up to 20 and of 200 samples too, not only up to 5 (bases for a mutation need no more). */
  static Arbitrary<Datagram> valid(boolean large) {
    return Arbitraries.frequencyOf(Tuple.of(3, telemetry(large)), Tuple.of(1, legacy()), Tuple.of(1, hello()), Tuple.of(1, status()),
        Tuple.of(1, commandAck()), Tuple.of(1, otaStatus()));
  }

  /** The parts every datagram shares: device, time, seq, key order, layout. */
  record Envelope(String deviceId, Stamp ts, long seq, long shuffle, boolean pretty) {
  }

  static Arbitrary<Envelope> envelopes() {
    Arbitrary<Long> seqs = Arbitraries.frequencyOf(Tuple.of(4, Arbitraries.longs().between(0, 10_000)),
        Tuple.of(4, Arbitraries.longs().between(0, 0xFFFF_FFFFL)), Tuple.of(1, Arbitraries.of(0L, 1L, 0xFFFF_FFFFL)));
    return Combinators.combine(deviceIds(), stamps(), seqs, Arbitraries.longs(), Arbitraries.of(false, false, false, false, false, true))
        .as(Envelope::new);
  }

  private static LinkedHashMap<String, Object> envelope(Envelope e, Category category) {
    LinkedHashMap<String, Object> fields = new LinkedHashMap<>();
    fields.put("v", 2);
    fields.put("device_id", e.deviceId());
    fields.put("ts", e.ts().text());
    if (category != Category.STATUS) {
      fields.put("seq", e.seq());
      fields.put("msg_type", category.categoryName());
    }
    return fields;
  }

  static Arbitrary<Datagram> telemetry(boolean large) {
    Arbitrary<List<Sample>> lists = !large ? samples().list().ofMaxSize(5) : Arbitraries.frequencyOf(
        Tuple.of(5, samples().list().ofMaxSize(5)),
        Tuple.of(4, samples().list().ofMinSize(6).ofMaxSize(20)),
        // At the limit: a few generated samples over and over (200 generated ones cost a second per 10 datagrams).
        Tuple.of(1, samples().list().ofMinSize(1).ofMaxSize(8).map(few -> {
          List<Sample> full = new ArrayList<>(200);
          for (int i = 0; i < 200; i++) {
            full.add(few.get(i % few.size()));
          }
          return full;
        })));
    return Combinators.combine(envelopes(), lists).as((e, list) -> {
      Random random = new Random(e.shuffle());
      LinkedHashMap<String, Object> fields = envelope(e, Category.TELEMETRY);
      JsonArray entries = new JsonArray();
      List<Measurement> expected = new ArrayList<>();
      for (Sample s : list) {
        Map.Entry<JsonObject, Measurement> resolved = s.resolve(e.ts().instant(), random);
        entries.add(resolved.getKey());
        expected.add(resolved.getValue());
      }
      fields.put("measurements", entries);
      boolean senml = list.stream().anyMatch(Sample::senml);
      String form = "telemetry" + (list.isEmpty() ? " empty" : list.size() == 200 ? " 200" : "") + (senml ? " senml" : "");
      return new Datagram(form, Category.TELEMETRY, e.deviceId(), shuffled(fields, random), e.pretty(),
          new Expected(2, e.seq(), e.ts().instant(), List.copyOf(expected), false));
    });
  }

  /** v1: no seq, no msg_type; each numeric field but the envelope keys is a measurement stamped with timestamp. */
  static Arbitrary<Datagram> legacy() {
    Arbitrary<List<String>> names = metricNames()
        .filter(n -> !List.of("timestamp", "device_id", "v", "unit", "seq", "note_text").contains(n))
        .list().uniqueElements().ofMinSize(1).ofMaxSize(6);
    Arbitrary<List<Value>> values = numbers().list().ofSize(6);
    return Combinators.combine(envelopes(), names, values, Arbitraries.of(UnitForm.values()), units(),
            Arbitraries.integers().between(0, 3))
        .as((e, fieldNames, vals, unitForm, unit, extras) -> {
          Random random = new Random(e.shuffle());
          LinkedHashMap<String, Object> fields = new LinkedHashMap<>();
          fields.put("timestamp", e.ts().text());
          if ((extras & 1) == 0) {
            fields.put("device_id", e.deviceId());
          }
          if ((extras & 2) != 0) {
            fields.put("v", 1); // an envelope key (protocol "Version 1 payloads"), not a measurement
          }
          for (int i = 0; i < fieldNames.size(); i++) {
            Value n = vals.get(i);
            fields.put(fieldNames.get(i), n.asInteger() ? (Object) (long) n.value() : (Object) n.value());
          }
          switch (unitForm) {
            case NULL -> fields.put("unit", null);
            case EMPTY -> fields.put("unit", "");
            case GIVEN -> fields.put("unit", unit);
            default -> {
            }
          }
          fields.put("note_text", "not a number: no measurement");
          JsonObject json = shuffled(fields, random);
          String storedUnit = unitForm == UnitForm.GIVEN ? unit : null;
          List<Measurement> expected = new ArrayList<>();
          for (String key : json.fieldNames()) { // in the order sent
            if (fieldNames.contains(key)) {
              expected.add(new Measurement(e.ts().instant(), key, ((Number) json.getValue(key)).doubleValue(), storedUnit));
            }
          }
          String form = (extras & 2) != 0 ? "v1 with v" : "v1";
          return new Datagram(form, Category.TELEMETRY, e.deviceId(), json, e.pretty(),
              new Expected(1, null, e.ts().instant(), List.copyOf(expected), false));
        });
  }

  static Arbitrary<String> semanticVersions() {
    return Combinators.combine(Arbitraries.integers().between(0, 999), Arbitraries.integers().between(0, 999),
            Arbitraries.integers().between(0, 9999), Arbitraries.of("", "-rc.1", "-beta", "-alpha.7", "+build.42", "-rc.2+sha.5114f85"))
        .as((major, minor, patch, suffix) -> major + "." + minor + "." + patch + suffix);
  }

  static Arbitrary<Datagram> hello() {
    Arbitrary<Object> percent = Arbitraries.oneOf(Arbitraries.integers().between(0, 100).map(i -> (Object) i),
        Arbitraries.doubles().between(0, 100).ofScale(3).map(d -> (Object) d), Arbitraries.of(0, 100, 0.0, 100.0));
    Arbitrary<Object> temperature = Arbitraries.oneOf(Arbitraries.doubles().between(-55, 150).ofScale(2).map(d -> (Object) d),
        Arbitraries.integers().between(-40, 125).map(i -> (Object) i)).injectNull(0.3);
    Arbitrary<Long> uptimes = Arbitraries.oneOf(Arbitraries.longs().between(0, 0xFFFF_FFFFL), Arbitraries.of(0L, 0xFFFF_FFFFL));
    return Combinators.combine(envelopes(), semanticVersions(), uptimes, Arbitraries.integers().between(0, 5), percent,
            temperature)
        .as((e, fw, uptime, brokers, buffer, temp) -> {
          LinkedHashMap<String, Object> fields = envelope(e, Category.HELLO);
          fields.put("fw_version", fw);
          fields.put("uptime_s", uptime);
          fields.put("broker_connections", brokers);
          fields.put("buf_usage_pct", buffer);
          if (temp != null) {
            fields.put("temp_internal", temp);
          }
          return other("hello", Category.HELLO, e, fields);
        });
  }

  static Arbitrary<Datagram> status() {
    return Combinators.combine(envelopes(), Arbitraries.of("online", "offline")).as((e, status) -> {
      LinkedHashMap<String, Object> fields = envelope(e, Category.STATUS);
      fields.put("status", status);
      return other("status", Category.STATUS, e, fields);
    });
  }

  static Arbitrary<String> commandIds() {
    return Arbitraries.oneOf(Combinators.combine(Arbitraries.longs(), Arbitraries.longs()).as((a, b) -> new UUID(a, b).toString()),
        Arbitraries.strings().alpha().numeric().withChars("-_").ofMinLength(1).ofMaxLength(64));
  }

  static Arbitrary<Datagram> commandAck() {
    return Combinators.combine(envelopes(), commandIds(), Arbitraries.of("accepted", "rejected", "error", "unsupported"),
            Arbitraries.oneOf(texts(40), Arbitraries.just("x".repeat(4000))).injectNull(0.1), Arbitraries.of(true, true, false))
        .as((e, cmdId, result, detail, withDetail) -> {
          LinkedHashMap<String, Object> fields = envelope(e, Category.COMMAND_ACK);
          fields.put("cmd_id", cmdId);
          fields.put("result", result);
          if (withDetail) {
            fields.put("detail", detail);
          }
          return other("command_ack", Category.COMMAND_ACK, e, fields);
        });
  }

  static Arbitrary<Datagram> otaStatus() {
    Arbitrary<Object> progress = Arbitraries.oneOf(Arbitraries.integers().between(0, 100).map(i -> (Object) i),
        Arbitraries.doubles().between(0, 100).ofScale(1).map(d -> (Object) d));
    return Combinators.combine(envelopes(), commandIds(),
            Arbitraries.of("downloading", "verifying", "applying", "success", "failed"), progress, semanticVersions(),
            texts(30), Arbitraries.integers().between(0, 3))
        .as((e, cmdId, state, pct, target, detail, optional) -> {
          LinkedHashMap<String, Object> fields = envelope(e, Category.OTA_STATUS);
          fields.put("cmd_id", cmdId);
          fields.put("ota_state", state);
          fields.put("progress_pct", pct);
          if ((optional & 1) == 0) {
            fields.put("fw_version_target", target);
          }
          if ("failed".equals(state) || (optional & 2) != 0) {
            fields.put("detail", detail);
          }
          return other("ota_status", Category.OTA_STATUS, e, fields);
        });
  }

  private static Datagram other(String form, Category category, Envelope e, LinkedHashMap<String, Object> fields) {
    JsonObject json = shuffled(fields, new Random(e.shuffle()));
    return new Datagram(form, category, e.deviceId(), json, e.pretty(),
        new Expected(2, category == Category.STATUS ? null : e.seq(), e.ts().instant(), List.of(), true));
  }

  /** The fields as a JSON object, keys in an order of {@code random}'s choosing. */
  static JsonObject shuffled(Map<String, Object> fields, Random random) {
    List<Map.Entry<String, Object>> entries = new ArrayList<>(fields.entrySet());
    Collections.shuffle(entries, random);
    JsonObject json = new JsonObject();
    entries.forEach(en -> json.put(en.getKey(), en.getValue()));
    return json;
  }
}
