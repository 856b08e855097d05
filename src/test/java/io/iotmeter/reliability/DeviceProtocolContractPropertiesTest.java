package io.iotmeter.reliability;

import io.iotmeter.protocol.Category;
import io.iotmeter.protocol.DeviceMessage;
import io.iotmeter.protocol.DeviceTopic;
import io.iotmeter.protocol.MalformedMessageException;
import io.iotmeter.protocol.Measurement;
import io.iotmeter.reliability.ProtocolDatagrams.Datagram;
import io.iotmeter.reliability.ProtocolDatagrams.Raw;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assertions.tuple;

/**
 * The device protocol (docs/protocol.md) as a contract, against generated datagrams: every
 * datagram the protocol allows — of every category, v1 and SenML included — is accepted with
 * every value as sent, also by the streaming fast path where that applies; every datagram with
 * exactly one field made wrong is refused, counted as {@code invalid_payload}, with a message
 * that names that field (what a firmware developer reads in the quarantine). The statistics
 * make sure that every form and every kind of wrong field was generated.
 */
class DeviceProtocolContractPropertiesTest {

  // ---------------------------------------------------------------- valid datagrams

  private static final List<String> VALID_FORMS = List.of("telemetry", "telemetry empty", "telemetry 200", "v1", "v1 with v",
      "hello", "status", "command_ack", "ota_status");

  @Property(tries = 800, edgeCases = EdgeCasesMode.NONE)
  void everyValidDatagramIsAcceptedWithEveryValueAsSent(@ForAll("valid") Datagram datagram) {
    byte[] bytes = datagram.bytes();
    DeviceMessage message = DeviceMessage.parse(datagram.topic(), bytes);

    assertThat(message.deviceId()).isEqualTo(datagram.deviceId());
    assertThat(message.category()).isEqualTo(datagram.category());
    assertThat(message.version()).isEqualTo(datagram.expected().version());
    assertThat(message.seq()).isEqualTo(datagram.expected().seq());
    assertThat(message.ts()).isEqualTo(datagram.expected().ts());
    assertThat(message.deviceIdMismatch()).isFalse();
    assertThat(message.measurements()).containsExactlyElementsOf(datagram.expected().measurements());
    if (datagram.expected().keepsPayload()) {
      assertThat(message.payload()).isEqualTo(datagram.json());
    } else {
      assertThat(message.payload()).isNull();
    }

    // The fast path reads the form meters send, and then returns exactly what the tree does.
    DeviceMessage fast = fastPath(datagram.topic(), bytes);
    if (datagram.forTheFastPath()) {
      assertThat(fast).as("the streaming reader takes plain v2 telemetry").isNotNull();
    }
    if (fast != null) {
      assertThat(fast).isEqualTo(message);
    }

    Statistics.label("form").collect(datagram.form().replace(" senml", ""));
    Statistics.label("form").coverage(checker -> VALID_FORMS.forEach(form -> checker.check(form).count(c -> c >= 3)));
    Statistics.label("SenML samples").collect(datagram.form().contains("senml"));
    Statistics.label("SenML samples").coverage(checker -> checker.check(true).percentage(p -> p > 3));
    if (datagram.category() == Category.TELEMETRY && datagram.expected().version() == 2) {
      Statistics.label("v2 telemetry read by").collect(fast != null ? "fast path" : "tree only");
      Statistics.label("v2 telemetry read by").coverage(checker -> {
        checker.check("fast path").percentage(p -> p > 10);
        checker.check("tree only").percentage(p -> p > 10);
      });
    }
  }

  /**
   * The topic names the device; a payload naming another (or naming it in the wrong type) is
   * accepted, counted as a mismatch (protocol "Topics") and otherwise read as if it did not.
   */
  @Property(tries = 150, edgeCases = EdgeCasesMode.NONE)
  void aPayloadNamingAnotherDeviceIsAcceptedAndFlagged(@ForAll("small") Datagram datagram, @ForAll("otherIds") Object other) {
    JsonObject json = datagram.json().copy().put("device_id", other);
    Datagram changed = datagram.with(json);
    DeviceMessage message = DeviceMessage.parse(changed.topic(), changed.bytes());

    assertThat(message.deviceIdMismatch()).isTrue();
    assertThat(message.deviceId()).isEqualTo(datagram.deviceId());
    assertThat(message.seq()).isEqualTo(datagram.expected().seq());
    assertThat(message.measurements()).containsExactlyElementsOf(datagram.expected().measurements());
    DeviceMessage fast = fastPath(changed.topic(), changed.bytes());
    if (fast != null) {
      assertThat(fast).isEqualTo(message);
    }
  }

  @Provide
  Arbitrary<Datagram> valid() {
    return ProtocolDatagrams.valid();
  }

  @Provide
  Arbitrary<Datagram> small() {
    return ProtocolDatagrams.valid(false);
  }

  @Provide
  Arbitrary<Object> otherIds() {
    return Arbitraries.oneOf(ProtocolDatagrams.deviceIds().map(id -> "other-" + id), Arbitraries.of("", "x".repeat(101), 7,
        true, new JsonArray().add("dc-meter-001"), new JsonObject().put("id", "dc-meter-001"))).injectNull(0.05);
  }

  // ---------------------------------------------------------------- one field wrong

  /** A field left out. */
  private static final Object MISSING = new Object() {
    @Override
    public String toString() {
      return "missing";
    }
  };
  /** A field present with JSON null. */
  private static final Object NULL = new Object() {
    @Override
    public String toString() {
      return "null";
    }
  };
  /** More measurements than a datagram may hold. */
  private static final Object TOO_MANY = new Object() {
    @Override
    public String toString() {
      return "201 entries";
    }
  };

  /**
   * One way to break a datagram: the field at {@code path} ({@code #} is a measurement's index)
   * set to one of {@code bad}, and the field the refusal must name ({@code named}, usually the
   * path itself). {@code applies} picks the datagrams it applies to.
   */
  record Mutation(String applies, String path, String named, List<Object> bad) {

    Mutation(String applies, String path, List<Object> bad) {
      this(applies, path, path, bad);
    }

    boolean appliesTo(Datagram d) {
      boolean v1 = d.expected().version() == 1;
      return switch (applies) {
        case "v2" -> !v1;
        case "seq" -> !v1 && d.category() != Category.STATUS;
        case "telemetry" -> !v1 && d.category() == Category.TELEMETRY;
        case "v1" -> v1;
        default -> d.category().categoryName().equals(applies);
      };
    }

    String kind() {
      return applies + " " + path + (named.equals(path) ? "" : " (named " + named + ")");
    }
  }

  private static final String LONG_NAME = "x".repeat(65);
  private static final List<Object> BAD_TIMES = List.of(MISSING, NULL, 7, "", "now", "2026-02-12", "2026-02-12T10:00:00",
      "2026-02-12 10:00:00Z", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-02-12T24:00:00Z",
      "2026-02-12T10:00:00.1234567890Z", "2026-02-12T10:00:00+19:00", "1677-12-31T23:59:59Z",
      "1677-12-31T23:59:59.999999999Z", "1678-01-01T00:00:00+00:01", "2262-01-01T00:00:00Z", "2261-12-31T23:00:00-01:00",
      new JsonArray());

  static final List<Mutation> MUTATIONS = List.of(
      new Mutation("v2", "v", List.of(MISSING, NULL, 1, 3, 0, -2, "2", 2.0, 2.5, true, new JsonArray().add(2), new JsonObject(),
          4_294_967_298L, -4_294_967_294L, new Raw("2e0"), new Raw("20e-1"))),
      new Mutation("v2", "ts", BAD_TIMES),
      new Mutation("seq", "seq", List.of(MISSING, NULL, -1, 4_294_967_296L, 1.5, 7.0, "7", true, new Raw("1e3"),
          Long.MAX_VALUE, Long.MIN_VALUE, new Raw("9223372036854775808"), new Raw("-9223372036854775809"))),
      new Mutation("seq", "msg_type", List.of("foo", "", "status", "Telemetry", "HELLO", "command/ack", "ota/status",
          "telemetry ", 7, true, new JsonArray(), new JsonObject())),
      new Mutation("telemetry", "measurements", List.of(MISSING, NULL, new JsonObject(), "x", 7, true, TOO_MANY)),
      new Mutation("telemetry", "measurements[#]", List.of(NULL, 7, "x", true, new JsonArray())),
      new Mutation("telemetry", "measurements[#].type", List.of(MISSING, NULL, "", "9lives", "_x", "a b", "volt-age", "é",
          LONG_NAME, 7, true, new JsonArray())),
      new Mutation("telemetry", "measurements[#].val", List.of(MISSING, NULL, "1", true, 1e16, -1.0000001e15,
          new Raw("1e400"), new Raw("-1e400"), new Raw("123456789012345678901234567890"), new JsonArray(), new JsonObject())),
      new Mutation("telemetry", "measurements[#].unit", List.of(" ", "k W", "V\n", "V".repeat(17), "\u200bV", "A\u0007", 7,
          true, new JsonArray(), new JsonObject())),
      new Mutation("telemetry", "measurements[#].ts", BAD_TIMES),
      new Mutation("telemetry", "senml measurements[#].n", "measurements[#].n", List.of(NULL, "", "a b", "9x", LONG_NAME, 7, true)),
      // A SenML entry without its name has neither form's name: it is read as the type/val form.
      new Mutation("telemetry", "senml measurements[#].n", "measurements[#].type", List.of(MISSING)),
      new Mutation("telemetry", "senml measurements[#].v", "measurements[#].v", List.of(MISSING, NULL, "1", true, 1e16,
          new Raw("1e400"), new JsonArray())),
      new Mutation("telemetry", "senml measurements[#].u", "measurements[#].u", List.of(" ", "V".repeat(17), "k W", 7, true)),
      new Mutation("telemetry", "senml measurements[#].t", "measurements[#].t", List.of("now", true, new JsonArray(),
          new JsonObject(), 1e300, -1e300, 1e12, new Raw("1e400"), 9.3e9, 9_300_000_000L, -9e10)),
      new Mutation("v1", "timestamp", List.of(MISSING, NULL, 7, "", "2026-02-12", "2026-02-12T10:00:00", "1677-12-31T23:59:59Z",
          "2262-01-01T00:00:00Z")),
      new Mutation("v1", "v", List.of(NULL, 3, 0, "1", 1.0, true, new JsonArray())),
      new Mutation("v1", "unit", List.of(" ", "k W", "V".repeat(17), "V\n", 7, true, new JsonArray())),
      new Mutation("v1", "a numeric field's name", List.of("volt age", "9lives", "_x", "a-b", "é", "tab\tbed", LONG_NAME)),
      new Mutation("v1", "a numeric field's value", List.of(1e16, -1e16, new Raw("1e400"), new Raw("-1e400"),
          new Raw("123456789012345678901234567890"))),
      new Mutation("hello", "fw_version", List.of(MISSING, NULL, "", "x".repeat(51), 7, true, new JsonArray())),
      new Mutation("hello", "uptime_s", List.of(MISSING, NULL, -1, 4_294_967_296L, 1.5, "5", new Raw("1e3"), true)),
      new Mutation("hello", "broker_connections", List.of(MISSING, NULL, -1, 101, 1.5, "3", true)),
      new Mutation("hello", "buf_usage_pct", List.of(MISSING, NULL, -0.1, 100.5, -1, 101, "5", true, new Raw("1e400"))),
      new Mutation("hello", "temp_internal", List.of(-274, 1000.5, "x", true, new JsonArray(), new Raw("-1e400"))),
      new Mutation("command_ack", "cmd_id", List.of(MISSING, NULL, "", "x".repeat(65), 7, true)),
      new Mutation("command_ack", "result", List.of(MISSING, NULL, "ok", "ACCEPTED", "accepted ", "", 7)),
      new Mutation("command_ack", "detail", List.of(7, true, new JsonArray(), new JsonObject(), "x".repeat(4001))),
      new Mutation("ota_status", "cmd_id", List.of(MISSING, NULL, "", "x".repeat(65), 7, true)),
      new Mutation("ota_status", "ota_state", List.of(MISSING, NULL, "done", "SUCCESS", "", 7)),
      new Mutation("ota_status", "progress_pct", List.of(MISSING, NULL, -1, -0.5, 100.5, 101, "50", true)),
      new Mutation("ota_status", "fw_version_target", List.of(7, true, "x".repeat(51), new JsonObject())),
      new Mutation("ota_status", "detail", List.of(7, true, "x".repeat(4001))),
      new Mutation("status", "status", List.of(MISSING, NULL, "ONLINE", "on", "online ", "", 7, true)));

  /** A valid datagram with one field made wrong, and the field the refusal must name. */
  record Broken(Datagram datagram, String kind, Object bad, String named) {
    @Override
    public String toString() {
      return kind + " = " + bad + " in " + datagram.topic() + " " + datagram.text();
    }
  }

  @Property(tries = 1500, edgeCases = EdgeCasesMode.NONE)
  void aDatagramWithOneWrongFieldIsRefusedNamingThatField(@ForAll("broken") Broken broken) {
    Datagram datagram = broken.datagram();
    byte[] bytes = datagram.bytes();
    MalformedMessageException refused = catchThrowableOfType(() -> DeviceMessage.parse(datagram.topic(), bytes),
        MalformedMessageException.class);

    assertThat(refused).as("refused: %s", broken).isNotNull();
    assertThat(refused.errorType()).isEqualTo(MalformedMessageException.INVALID_PAYLOAD);
    assertThat(refused.getMessage()).as("the message names %s", broken.named()).matches(naming(broken.named()));
    assertThat(refused.getMessage()).doesNotContain("\n", "\r", "\t", "\u0000");
    if (datagram.category() == Category.TELEMETRY) {
      assertThat(fastPath(datagram.topic(), bytes)).as("the fast path never takes what the tree refuses").isNull();
    }

    Statistics.label("mutation").collect(broken.kind());
    Statistics.label("mutation").coverage(checker -> MUTATIONS.forEach(m -> checker.check(m.kind()).count(c -> c >= 5)));
  }

  /** The field's path as a whole word of the message: {@code ts} is not {@code measurements[0].ts}. */
  static String naming(String path) {
    return "(?s).*(?<![\\w.\\[\\]])" + Pattern.quote(path) + "(?![\\w\\[.]).*";
  }

  @Provide
  Arbitrary<Broken> broken() {
    // Choices by index rather than flatMap: a generator built per try costs more than the parsing.
    Arbitrary<Integer> choice = Arbitraries.integers().between(0, 10_000);
    return Combinators.combine(ProtocolDatagrams.valid(false), choice, choice, Arbitraries.integers().between(0, 199))
        .as((d, whichMutation, whichValue, index) -> {
          List<Mutation> applicable = MUTATIONS.stream().filter(m -> m.appliesTo(d)).toList();
          Mutation m = applicable.get(whichMutation % applicable.size());
          return apply(d, m, m.bad().get(whichValue % m.bad().size()), index);
        });
  }

  private static Broken apply(Datagram d, Mutation m, Object bad, int index) {
    JsonObject json = d.json().copy();
    String path = m.path();
    String named = m.named();
    if (path.startsWith("a numeric field's")) {
      // v1: a field of a wrong name added, or an existing numeric field given a wrong value.
      if (path.endsWith("name")) {
        json.put((String) bad, 1);
        String name = (String) bad;
        named = name.length() > 40 ? name.substring(0, 40) + "…" : name.replace("\t", "\\u0009");
      } else {
        String field = json.fieldNames().stream().filter(f -> json.getValue(f) instanceof Number && !f.equals("v"))
            .findFirst().orElseThrow();
        set(json, field, bad);
        named = field;
      }
      return new Broken(d.with(json), m.kind(), bad, named);
    }
    if (path.contains("measurements[#]")) {
      JsonArray entries = json.getJsonArray("measurements");
      if (entries.isEmpty()) {
        entries.add(new JsonObject().put("type", "voltage_dc").put("val", 750.5).put("unit", "V").put("ts", json.getString("ts")));
      }
      int i = index % entries.size();
      if (path.startsWith("senml ")) {
        entries.set(i, new JsonObject().put("n", "voltage_dc").put("v", 750.5).put("u", "V").put("t", 0));
        path = path.substring("senml ".length());
      } else if (entries.getValue(i) instanceof JsonObject entry && !entry.containsKey("type")) {
        entries.set(i, new JsonObject().put("type", "voltage_dc").put("val", 750.5).put("unit", "V").put("ts", json.getString("ts")));
      }
      path = path.replace("#", Integer.toString(i));
      named = named.replace("#", Integer.toString(i));
    }
    set(json, path, bad);
    return new Broken(d.with(json), m.kind(), bad, named);
  }

  /** Sets (or, for {@link #MISSING}, removes) the field at a path of one level or {@code measurements[i].field}. */
  private static void set(JsonObject json, String path, Object bad) {
    Object value = bad == NULL ? null : bad instanceof Raw raw ? raw.marker() : bad;
    if (bad == TOO_MANY) {
      JsonArray many = new JsonArray();
      for (int i = 0; i <= DeviceMessage.MAX_MEASUREMENTS; i++) {
        many.add(new JsonObject().put("type", "voltage_dc").put("val", i).put("unit", "V").put("ts", json.getString("ts")));
      }
      value = many;
    }
    if (!path.startsWith("measurements[")) {
      if (bad == MISSING) {
        json.remove(path);
      } else {
        json.put(path, value);
      }
      return;
    }
    JsonArray entries = json.getJsonArray("measurements");
    int close = path.indexOf(']');
    int i = Integer.parseInt(path.substring("measurements[".length(), close));
    if (close == path.length() - 1) {
      entries.set(i, value);
      return;
    }
    JsonObject entry = entries.getJsonObject(i);
    String field = path.substring(close + 2);
    if (bad == MISSING) {
      entry.remove(field);
    } else {
      entry.put(field, value);
    }
  }

  // ---------------------------------------------------------------- what the properties found

  private static DeviceMessage parse(String topic, String payload) {
    return DeviceMessage.parse(topic, payload.getBytes(StandardCharsets.UTF_8));
  }

  /** protocol.md lists v among a v1 payload's envelope keys; it was refused as "field 'v' must be 2". */
  @Example
  void aV1PayloadNamingItsVersionIsAcceptedAndVIsNoMeasurement() {
    DeviceMessage m = parse("iot/x/telemetry", "{\"v\":1,\"timestamp\":\"2026-02-12T12:00:00Z\",\"temperature\":25.7,\"unit\":\"Cel\"}");
    assertThat(m.isLegacy()).isTrue();
    assertThat(m.measurements()).extracting(Measurement::type, Measurement::value).containsExactly(tuple("temperature", 25.7));
  }

  /** 2^32 + 2 as an int is 2: such a v was taken for version 2. */
  @Example
  void aVersionThatWrapsToTwoAsAnIntIsRefused() {
    assertThatThrownBy(() -> parse("iot/x/status", "{\"v\":4294967298,\"ts\":\"2026-02-12T10:00:00Z\",\"status\":\"online\"}"))
        .isInstanceOf(MalformedMessageException.class).hasMessageContaining("'v'");
  }

  /** Only a time after 2261 is refused; the last second of 2261 with a fraction was too. */
  @Example
  void theLastFractionOfASecondOf2261IsAccepted() {
    DeviceMessage m = parse("iot/x/status", "{\"v\":2,\"ts\":\"2261-12-31T23:59:59.999999999Z\",\"status\":\"online\"}");
    assertThat(m.ts()).isEqualTo(ProtocolDatagrams.LATEST);
    assertThatThrownBy(() -> parse("iot/x/status", "{\"v\":2,\"ts\":\"2262-01-01T00:00:00Z\",\"status\":\"online\"}"))
        .isInstanceOf(MalformedMessageException.class).hasMessageContaining("'ts'");
  }

  /** A text holding a backslash and "u0000" has no NUL; it was refused as "payload contains NUL characters". */
  @Example
  void aTextThatMerelyLooksLikeANulEscapeIsAccepted() {
    String ack = "{\"v\":2,\"ts\":\"2026-02-12T10:00:00Z\",\"seq\":3,\"cmd_id\":\"c\",\"result\":\"error\",\"detail\":\"%s\"}";
    DeviceMessage m = parse("iot/x/command/ack", ack.formatted("C:\\\\u0000.bin"));
    assertThat(m.payload().getString("detail")).isEqualTo("C:\\u0000.bin");
    assertThatThrownBy(() -> parse("iot/x/command/ack", ack.formatted("C:\\\\\\u0000.bin")))
        .isInstanceOf(MalformedMessageException.class).hasMessageContaining("NUL");
  }

  // ---------------------------------------------------------------- topics

  /** A topic that is not {@code iot/{device_id}/{suffix}}: refused as a topic, naming what it must be. */
  @Property(tries = 400)
  void aTopicWithABadDeviceIdOrSuffixIsRefusedNamingTheDeviceId(@ForAll("badTopics") String topic) {
    byte[] payload = "{\"v\":2,\"ts\":\"2026-02-12T10:00:00Z\",\"status\":\"online\"}".getBytes(StandardCharsets.UTF_8);
    MalformedMessageException refused = catchThrowableOfType(() -> DeviceMessage.parse(topic, payload),
        MalformedMessageException.class);

    assertThat(refused).as(topic).isNotNull();
    assertThat(refused.errorType()).isEqualTo(MalformedMessageException.INVALID_TOPIC);
    assertThat(refused.getMessage()).contains("device_id").doesNotContain("\n", "\r", "\u0000");
  }

  @Provide
  Arbitrary<String> badTopics() {
    Arbitrary<String> goodId = ProtocolDatagrams.deviceIds();
    Arbitrary<String> suffix = Arbitraries.of(Category.values()).map(Category::topicSuffix);
    Arbitrary<String> badId = Arbitraries.oneOf(
        goodId.map(id -> id + "x".repeat(Math.max(1, 101 - id.length()))), // longer than 100
        goodId.map(id -> "." + id), goodId.map(id -> "-" + id), goodId.map(id -> "_" + id), Arbitraries.just(""),
        Combinators.combine(goodId, Arbitraries.of(" ", "+", "#", "é", "\n", "\u0000", ":", "*", "\\")).as((id, c) -> id + c));
    Arbitrary<String> badSuffix = Arbitraries.of("", "Telemetry", "telemetry/", "command", "ota", "status/x", "hello ", "acks");
    return Arbitraries.oneOf(
        Combinators.combine(badId, suffix).as((id, s) -> "iot/" + id + "/" + s),
        Combinators.combine(goodId, badSuffix).as((id, s) -> "iot/" + id + "/" + s),
        Combinators.combine(goodId, suffix, Arbitraries.of("IOT/", "iot", "/iot/", "", "devices/")).as((id, s, p) -> p + id + "/" + s));
  }

  // ---------------------------------------------------------------- the fast path

  /**
   * The streaming reader is package-private in io.iotmeter.protocol (it is an implementation
   * detail of {@link DeviceMessage#parse}); this contract test calls it directly, by reflection,
   * to see that it accepts what it should and nothing the tree refuses.
   */
  private static final Method FAST_PATH = fastPathMethod();

  private static Method fastPathMethod() {
    try {
      Method read = Class.forName("io.iotmeter.protocol.TelemetryReader").getDeclaredMethod("read", DeviceTopic.class, byte[].class);
      read.setAccessible(true);
      return read;
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
  }

  static DeviceMessage fastPath(String topic, byte[] bytes) {
    try {
      return (DeviceMessage) FAST_PATH.invoke(null, DeviceTopic.parse(topic).orElseThrow(), bytes);
    } catch (InvocationTargetException e) {
      throw new AssertionError("the fast path threw", e.getCause());
    } catch (IllegalAccessException e) {
      throw new IllegalStateException(e);
    }
  }
}
