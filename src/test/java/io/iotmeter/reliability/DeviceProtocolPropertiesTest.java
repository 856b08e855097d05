package io.iotmeter.reliability;

import io.iotmeter.derived.DerivedPower;
import io.iotmeter.protocol.DeviceMessage;
import io.iotmeter.protocol.MalformedMessageException;
import io.iotmeter.protocol.Measurement;
import io.iotmeter.timeseries.Point;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The device-protocol parser against generated input: every input either parses into a message
 * that every sink can store, or is refused with a counted error type and a reason. Nothing else
 * may come out of it — an exception of another kind would fail a whole intake batch.
 */
class DeviceProtocolPropertiesTest {

  private static final Set<String> ERROR_TYPES = Set.of(MalformedMessageException.JSON_DECODE,
      MalformedMessageException.INVALID_PAYLOAD, MalformedMessageException.INVALID_TOPIC);
  private static final List<String> TOPICS = List.of("iot/dc-meter-001/telemetry", "iot/dc-meter-001/hello",
      "iot/dc-meter-001/status", "iot/dc-meter-001/command/ack", "iot/dc-meter-001/ota/status", "iot//telemetry",
      "iot/dc-meter-001/other", "other/x", "");

  /** Values at the edges of every type a field could be given. */
  private static final List<String> ODD_VALUES = List.of("0", "-0.0", "1", "-1", "2", "1.5", "1e15", "-1e15", "1.0000001e15",
      "1e308", "1e400", "-1e400", "4294967295", "4294967296", "9223372036854775807", "9223372036854775808",
      "-9223372036854775809", "123456789012345678901234567890", "1e-400", "null", "true", "false", "\"\"",
      "\"V\"", "\"V\\nV\"", "\"\\u0000\"", "\"\\ud800\"", "\"\\udc00x\"", "\"k W\"", "\"°C\"", "\"x\".repeat", "[]", "{}",
      "[1,2]", "{\"a\":1}", "\"2026-02-12T10:00:00Z\"", "\"2026-02-12T10:00:00\"", "\"1677-01-01T00:00:00Z\"",
      "\"2262-04-12T00:00:00Z\"", "\"+999999999-12-31T23:59:59Z\"", "\"online\"", "\"offline\"", "\"accepted\"",
      "\"downloading\"", "\"" + "x".repeat(70) + "\"", "\"voltage_dc\"", "\"" + "é".repeat(20) + "\"");

  private static final List<String> FIELDS = List.of("v", "device_id", "ts", "seq", "msg_type", "measurements", "type", "val",
      "unit", "fw_version", "uptime_s", "broker_connections", "buf_usage_pct", "temp_internal", "cmd_id", "result",
      "detail", "ota_state", "progress_pct", "fw_version_target", "status", "timestamp", "voltage", "volt age", "a\\nb",
      "_x", "9lives");

  @Property(tries = 3000)
  void randomBytesParseOrAreRefused(@ForAll("topics") String topic, @ForAll("bytes") byte[] payload) {
    checkOutcome(topic, payload);
  }

  @Property(tries = 5000)
  void mutatedDatagramsParseOrAreRefused(@ForAll("topics") String topic, @ForAll("mutatedDatagrams") String payload) {
    checkOutcome(topic, payload.getBytes(StandardCharsets.UTF_8));
  }

  @Property(tries = 2000)
  void generatedObjectsParseOrAreRefused(@ForAll("topics") String topic, @ForAll("objects") String payload) {
    checkOutcome(topic, payload.getBytes(StandardCharsets.UTF_8));
  }

  @Property(tries = 1500)
  void truncatedDatagramsParseOrAreRefused(@ForAll("topics") String topic, @ForAll("truncated") String payload) {
    checkOutcome(topic, payload.getBytes(StandardCharsets.UTF_8));
  }

  private static void checkOutcome(String topic, byte[] payload) {
    DeviceMessage message;
    try {
      message = DeviceMessage.parse(topic, payload);
    } catch (MalformedMessageException e) {
      assertThat(e.errorType()).isIn(ERROR_TYPES);
      assertThat(e.getMessage()).isNotBlank();
      assertThat(e.getMessage()).doesNotContain("\n", "\r", "\u0000");
      return;
    }
    // Accepted: everything the sinks do with it must work (points with their derived power).
    List<Measurement> samples = message.measurements();
    for (Measurement m : samples) {
      new Point(message.deviceId(), m.type(), m.unit(), m.value(), m.ts());
    }
    for (Measurement m : DerivedPower.of(samples)) {
      assertThat(Double.isFinite(m.value())).isTrue();
      new Point(message.deviceId(), m.type(), m.unit(), m.value(), m.ts());
    }
  }

  @Provide
  Arbitrary<String> topics() {
    return Arbitraries.of(TOPICS);
  }

  @Provide
  Arbitrary<byte[]> bytes() {
    return Arbitraries.bytes().array(byte[].class).ofMaxSize(600);
  }

  private static final String TELEMETRY = "{\"v\":2,\"device_id\":\"dc-meter-001\",\"ts\":\"2026-02-12T10:00:00Z\","
      + "\"seq\":7,\"msg_type\":\"telemetry\",\"measurements\":[{\"ts\":\"2026-02-12T10:00:00Z\",\"type\":\"voltage_ac\","
      + "\"val\":230.5,\"unit\":\"V\"},{\"ts\":\"2026-02-12T10:00:00Z\",\"type\":\"current_ac\",\"val\":10.5,\"unit\":\"A\"},"
      + "{\"ts\":\"2026-02-12T10:00:00Z\",\"type\":\"pf\",\"val\":0.9}]}";
  private static final String HELLO = "{\"v\":2,\"ts\":\"2026-02-12T10:00:00Z\",\"seq\":1,\"fw_version\":\"1.0.0\","
      + "\"uptime_s\":5,\"broker_connections\":2,\"buf_usage_pct\":0.5,\"temp_internal\":40}";
  private static final String OTA = "{\"v\":2,\"ts\":\"2026-02-12T10:00:00Z\",\"seq\":1,\"cmd_id\":\"c\","
      + "\"ota_state\":\"downloading\",\"progress_pct\":50,\"detail\":\"x\"}";
  private static final String V1 = "{\"timestamp\":\"2026-02-12T10:00:00Z\",\"voltage\":750,\"current\":12,\"unit\":\"V\"}";
  private static final List<String> DATAGRAMS = List.of(TELEMETRY, HELLO, OTA, V1,
      "{\"v\":2,\"ts\":\"2026-02-12T10:00:00Z\",\"status\":\"online\"}",
      "{\"v\":2,\"ts\":\"2026-02-12T10:00:00Z\",\"seq\":3,\"cmd_id\":\"c\",\"result\":\"accepted\"}");

  /** A valid datagram with one value (a number, string, literal, ...) replaced by an odd one. */
  @Provide
  Arbitrary<String> mutatedDatagrams() {
    return Combinators.combine(Arbitraries.of(DATAGRAMS), Arbitraries.of(ODD_VALUES), Arbitraries.integers().between(0, 40),
        Arbitraries.integers().between(1, 3)).as((datagram, odd, which, times) -> {
          String result = datagram;
          for (int t = 0; t < times; t++) {
            result = replaceValue(result, odd, which + t * 7);
          }
          return result;
        });
  }

  /** The {@code which}-th value after a colon, replaced. */
  private static String replaceValue(String json, String value, int which) {
    int colon = -1;
    for (int i = 0, seen = 0; i < json.length(); i++) {
      if (json.charAt(i) == ':' && seen++ == which % 30) {
        colon = i;
        break;
      }
    }
    if (colon < 0) {
      return json;
    }
    int end = colon + 1;
    int depth = 0;
    boolean inString = false;
    for (; end < json.length(); end++) {
      char c = json.charAt(end);
      if (inString) {
        if (c == '\\') {
          end++;
        } else if (c == '"') {
          inString = false;
        }
        continue;
      }
      if (c == '"') {
        inString = true;
      } else if (c == '[' || c == '{') {
        depth++;
      } else if ((c == ']' || c == '}') && depth-- == 0) {
        break;
      } else if (c == ',' && depth == 0) {
        break;
      }
    }
    return json.substring(0, colon + 1) + value + json.substring(end);
  }

  /** Objects of arbitrary protocol field names and odd values, nested a little. */
  @Provide
  Arbitrary<String> objects() {
    Arbitrary<String> member = Combinators.combine(Arbitraries.of(FIELDS), Arbitraries.of(ODD_VALUES))
        .as((k, v) -> "\"" + k + "\":" + v);
    Arbitrary<String> sample = member.list().ofMaxSize(5).map(m -> "{" + String.join(",", m) + "}");
    Arbitrary<String> measurements = sample.list().ofMaxSize(4).map(s -> "\"measurements\":[" + String.join(",", s) + "]");
    return Combinators.combine(member.list().ofMaxSize(10), measurements, Arbitraries.of(true, false))
        .as((members, m, withV2) -> {
          StringBuilder json = new StringBuilder("{");
          if (withV2) {
            json.append("\"v\":2,\"seq\":1,\"ts\":\"2026-02-12T10:00:00Z\",");
          }
          json.append(m);
          members.forEach(x -> json.append(',').append(x));
          return json.append('}').toString();
        });
  }

  @Provide
  Arbitrary<String> truncated() {
    return Arbitraries.of(DATAGRAMS).flatMap(d -> Arbitraries.integers().between(0, d.length()).map(n -> d.substring(0, n)));
  }
}
