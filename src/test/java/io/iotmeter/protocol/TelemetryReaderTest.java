package io.iotmeter.protocol;

import io.iotmeter.support.Datagrams;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Histogram;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.statistics.StatisticsReport;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

/**
 * The streaming reader of telemetry is a fast path only: whenever it returns a message, the
 * general parser (a JSON tree) returns the same one for the same bytes; whatever it is unsure of
 * it leaves to the general parser.
 */
class TelemetryReaderTest {

  private static final DeviceTopic TOPIC = DeviceTopic.parse("iot/dc-meter-001/telemetry").orElseThrow();

  private static final String SAMPLE_A = "{\"ts\":\"2026-02-12T10:00:00Z\",\"type\":\"voltage_ac\",\"val\":230.5,\"unit\":\"V\"}";
  private static final String SAMPLE_B = "{\"type\":\"current_ac\",\"val\":10,\"unit\":null,\"ts\":\"2026-02-12T10:00:00.125+01:00\"}";
  private static final String SAMPLE_C = "{\"ts\":\"2026-02-12T10:00:00Z\",\"type\":\"pf\",\"val\":-0.9e-1}";

  /** Values at the edges of every type a field could be given. */
  private static final List<String> ODD_VALUES = List.of("0", "-0.0", "1", "-1", "2", "2.0", "1.5", "1e15", "-1e15",
      "1.0000001e15", "1e400", "4294967295", "4294967296", "4294967298", "9223372036854775807", "9223372036854775808",
      "123456789012345678901234567890", "1e-400", "null", "true", "\"\"", "\"V\"", "\"V\\nV\"", "\"\\u0000\"", "\"k W\"",
      "\"°C\"", "[]", "{}", "[1,2]", "{\"a\":1}", "\"2026-02-12T10:00:00Z\"", "\"2026-02-12T10:00:00\"",
      "\"1677-01-01T00:00:00Z\"", "\"2262-04-12T00:00:00Z\"", "\"telemetry\"", "\"hello\"", "\"dc-meter-001\"",
      "\"dc-meter-002\"", "\"voltage_dc\"", "\"" + "x".repeat(70) + "\"", "\"x\u007fy\"");

  private static final List<String> MEMBERS = List.of("\"v\":2", "\"v\":1", "\"v\":2.0", "\"seq\":7", "\"seq\":-1",
      "\"seq\":4294967296", "\"ts\":\"2026-02-12T10:00:00Z\"", "\"ts\":\"2026-02-12T10:00\"", "\"device_id\":\"dc-meter-001\"",
      "\"device_id\":\"dc-meter-009\"", "\"device_id\":7", "\"msg_type\":\"telemetry\"", "\"msg_type\":\"hello\"",
      "\"msg_type\":null", "\"fw\":{\"a\":[1,{\"b\":2}]}", "\"extra\":[]", "\"timestamp\":\"2026-02-12T10:00:00Z\"",
      "\"voltage\":750");

  private static final List<String> SAMPLES = List.of(SAMPLE_A, SAMPLE_B, SAMPLE_C, "{\"n\":\"x\",\"v\":1}",
      "{\"type\":\"x\",\"val\":1,\"ts\":\"2026-02-12T10:00:00Z\",\"extra\":1}", "{\"type\":\"x\",\"val\":1}",
      "{\"type\":\"x\",\"type\":\"y\",\"val\":1,\"ts\":\"2026-02-12T10:00:00Z\"}", "{}", "[]", "1");

  @Test
  void theUsualDatagramIsReadWithoutATree() {
    byte[] bytes = Datagrams.telemetry("dc-meter-001", 5).encode().getBytes(StandardCharsets.UTF_8);
    DeviceMessage fast = TelemetryReader.read(TOPIC, bytes);
    assertThat(fast).as("the fast path takes the form meters send").isNotNull();
    assertThat(fast).isEqualTo(DeviceMessage.parseGeneral(TOPIC, bytes));
    assertThat(fast.payload()).isNull();
    assertThat(fast.measurements()).hasSize(2);
  }

  @Test
  void whatItIsUnsureOfGoesToTheGeneralParser() {
    String start = "{\"v\":2,\"seq\":1,\"ts\":\"2026-02-12T10:00:00Z\",\"measurements\":[";
    for (String payload : List.of(
        start + "{\"n\":\"x\",\"v\":1}]}", // SenML
        start + "{\"type\":\"t\",\"val\":1,\"unit\":\"°C\",\"ts\":\"2026-02-12T10:00:00Z\"}]}", // non-ASCII
        start + "{\"type\":\"t\",\"val\":1,\"unit\":\"\\u0056\",\"ts\":\"2026-02-12T10:00:00Z\"}]}", // an escape
        "{\"v\":2,\"v\":2,\"seq\":1,\"ts\":\"2026-02-12T10:00:00Z\",\"measurements\":[]}", // a repeated key
        "{\"timestamp\":\"2026-02-12T10:00:00Z\",\"voltage\":750}", // v1
        start + "]} trailing",
        start + "{\"type\":\"t\",\"val\":1e400,\"ts\":\"2026-02-12T10:00:00Z\"}]}")) {
      byte[] bytes = payload.getBytes(StandardCharsets.UTF_8);
      assertThat(TelemetryReader.read(TOPIC, bytes)).as(payload).isNull();
      assertThatCode(() -> {
        try {
          DeviceMessage.parseGeneral(TOPIC, bytes);
        } catch (MalformedMessageException refused) {
          // the general parser's verdict, either way
        }
      }).doesNotThrowAnyException();
    }
  }

  @Property(tries = 4000)
  @StatisticsReport(format = Histogram.class)
  void whenTheFastPathAnswersTheGeneralParserAgrees(@ForAll("telemetry") String payload) {
    agree(payload);
    // A property the fast path never answered would prove nothing (it answers about 6 % of these).
    Statistics.coverage(checker -> checker.check(true).percentage(p -> p > 3));
  }

  @Property(tries = 2000)
  void mutatedDatagramsAgreeToo(@ForAll("mutated") String payload) {
    agree(payload);
    Statistics.coverage(checker -> checker.check(true).percentage(p -> p > 5)); // about 13 %
  }

  private static void agree(String payload) {
    byte[] bytes = payload.getBytes(StandardCharsets.UTF_8);
    DeviceMessage fast = TelemetryReader.read(TOPIC, bytes);
    Statistics.collect(fast != null);
    if (fast != null) {
      assertThat(fast).as(payload).isEqualTo(DeviceMessage.parseGeneral(TOPIC, bytes));
    }
  }

  /** Telemetry-like objects: the usual members and odd ones, in any order, with usual and odd samples. */
  @Provide
  Arbitrary<String> telemetry() {
    Arbitrary<List<String>> members = Arbitraries.of(MEMBERS).list().ofMaxSize(6);
    Arbitrary<List<String>> samples = Arbitraries.of(SAMPLES).list().ofMaxSize(5);
    return Combinators.combine(members, samples, Arbitraries.integers().between(0, 3), Arbitraries.of("", " ", "\n\t"))
        .as((extra, s, usual, space) -> {
          List<String> all = new ArrayList<>(extra);
          if (usual > 0) {
            all.addAll(List.of("\"v\":2", "\"seq\":" + usual, "\"ts\":\"2026-02-12T10:00:00Z\""));
          }
          all.add("\"measurements\":[" + String.join("," + space, s) + "]");
          Collections.shuffle(all, new java.util.Random(extra.size() * 31L + s.size() + usual));
          return "{" + space + String.join("," + space, all) + space + "}";
        });
  }

  /** The usual datagram with one value replaced by an odd one. */
  @Provide
  Arbitrary<String> mutated() {
    String usual = "{\"v\":2,\"device_id\":\"dc-meter-001\",\"ts\":\"2026-02-12T10:00:00Z\",\"seq\":7,\"msg_type\":\"telemetry\","
        + "\"measurements\":[" + SAMPLE_A + "," + SAMPLE_B + "," + SAMPLE_C + "]}";
    List<Integer> colons = new ArrayList<>();
    for (int i = 0; i < usual.length(); i++) {
      if (usual.charAt(i) == ':' && usual.charAt(i - 1) == '"') {
        colons.add(i);
      }
    }
    return Combinators.combine(Arbitraries.of(colons), Arbitraries.of(ODD_VALUES)).as((colon, odd) -> {
      int end = colon + 1;
      if (usual.charAt(end) == '"') {
        end = usual.indexOf('"', end + 1) + 1;
      } else if (usual.charAt(end) == '[') {
        end = usual.length() - 1; // the whole measurements array
      } else {
        while (",}".indexOf(usual.charAt(end)) < 0) {
          end++;
        }
      }
      return usual.substring(0, colon + 1) + odd + usual.substring(end);
    });
  }
}
