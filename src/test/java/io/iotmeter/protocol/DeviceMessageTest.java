package io.iotmeter.protocol;

import io.iotmeter.derived.DerivedPower;
import io.iotmeter.support.Datagrams;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What the intake refuses so that every accepted message is storable in every sink. */
class DeviceMessageTest {

  private static DeviceMessage parse(String topic, String payload) {
    return DeviceMessage.parse(topic, payload.getBytes(StandardCharsets.UTF_8));
  }

  private static JsonObject telemetryWith(JsonObject measurement) {
    return Datagrams.envelope("dc-meter-001", 1, "telemetry", Datagrams.T0)
        .put("measurements", new JsonArray().add(measurement));
  }

  private static JsonObject sample(String type, Object val, Object unit) {
    return new JsonObject().put("ts", Datagrams.T0.toString()).put("type", type).put("val", val).put("unit", unit);
  }

  private static void refused(String topic, String payload, String errorType, String detail) {
    assertThatThrownBy(() -> parse(topic, payload))
        .isInstanceOf(MalformedMessageException.class)
        .hasMessageContaining(detail)
        .extracting(e -> ((MalformedMessageException) e).errorType()).isEqualTo(errorType);
  }

  @Test
  void unitsWithControlCharactersSpacesOrLoneSurrogatesAreRefused() {
    for (String unit : List.of("V\n", "k W", "\u200bV", "A\u0007", "V\r")) {
      refused("iot/dc-meter-001/telemetry", telemetryWith(sample("voltage_dc", 750.0, unit)).encode(),
          MalformedMessageException.INVALID_PAYLOAD, "measurements[0].unit");
    }
    // A lone surrogate can only arrive as a JSON escape.
    String lone = telemetryWith(sample("voltage_dc", 750.0, "X")).encode().replace("\"unit\":\"X\"", "\"unit\":\"\\ud800\"");
    refused("iot/dc-meter-001/telemetry", lone, MalformedMessageException.INVALID_PAYLOAD, "measurements[0].unit");
    refused("iot/dc-meter-001/telemetry", telemetryWith(sample("voltage_dc", 750.0, "V".repeat(17))).encode(),
        MalformedMessageException.INVALID_PAYLOAD, "1 to 16");
  }

  @Test
  void ordinaryUnitsPassAndAnEmptyUnitMeansNone() {
    for (String unit : List.of("V", "A", "Hz", "°C", "%", "m/s²", "kWh", "var", "µA")) {
      DeviceMessage m = parse("iot/dc-meter-001/telemetry", telemetryWith(sample("voltage_dc", 1.0, unit)).encode());
      assertThat(m.measurements()).extracting(Measurement::unit).containsExactly(unit);
    }
    DeviceMessage none = parse("iot/dc-meter-001/telemetry", telemetryWith(sample("pf", 0.9, "")).encode());
    assertThat(none.measurements().get(0).unit()).isNull();
  }

  @Test
  void valuesBeyondWhatAnyMeterMeasuresAreRefused() {
    refused("iot/dc-meter-001/telemetry", telemetryWith(sample("voltage_dc", 1e16, "V")).encode(),
        MalformedMessageException.INVALID_PAYLOAD, "magnitude at most");
    // Jackson reads 1e400 as infinity; a 40-digit integer as a BigInteger.
    String infinite = telemetryWith(sample("voltage_dc", 1.0, "V")).encode().replace("\"val\":1.0", "\"val\":1e400");
    refused("iot/dc-meter-001/telemetry", infinite, MalformedMessageException.INVALID_PAYLOAD, "measurements[0].val");
    String big = telemetryWith(sample("voltage_dc", 1.0, "V")).encode()
        .replace("\"val\":1.0", "\"val\":1234567890123456789012345678901234567890");
    refused("iot/dc-meter-001/telemetry", big, MalformedMessageException.INVALID_PAYLOAD, "measurements[0].val");
  }

  @Test
  void theLargestAcceptedValuesKeepEveryDerivedValueFinite() {
    double max = DeviceMessage.MAX_MAGNITUDE;
    JsonObject ac = Datagrams.envelope("ac-meter-001", 1, "telemetry", Datagrams.T0).put("measurements", new JsonArray()
        .add(sample("voltage_ac", max, "V")).add(sample("current_ac", -max, "A")).add(sample("pf", max, null))
        .add(sample("voltage_dc", -max, "V")).add(sample("current_dc", -max, "A")));
    DeviceMessage m = parse("iot/ac-meter-001/telemetry", ac.encode());
    List<Measurement> derived = DerivedPower.of(m.measurements());
    assertThat(derived).hasSize(4).allSatisfy(d -> assertThat(Double.isFinite(d.value())).as(d.type()).isTrue());
  }

  @Test
  void v1FieldNamesMustBeMetricNames() {
    refused("iot/dc-meter-001/telemetry", "{\"timestamp\":\"2026-02-12T10:00:00Z\",\"voltage dc\":750}",
        MalformedMessageException.INVALID_PAYLOAD, "v1 field 'voltage dc'");
    refused("iot/dc-meter-001/telemetry", "{\"timestamp\":\"2026-02-12T10:00:00Z\",\"volt\\nage\":750}",
        MalformedMessageException.INVALID_PAYLOAD, "v1 field 'volt\\u000aage'");
    refused("iot/dc-meter-001/telemetry", "{\"timestamp\":\"2026-02-12T10:00:00Z\",\"voltage\":1e300}",
        MalformedMessageException.INVALID_PAYLOAD, "magnitude");
    refused("iot/dc-meter-001/telemetry", "{\"timestamp\":\"2026-02-12T10:00:00Z\",\"voltage\":750,\"unit\":\"V V\"}",
        MalformedMessageException.INVALID_PAYLOAD, "'unit'");
    DeviceMessage ok = parse("iot/dc-meter-001/telemetry",
        "{\"timestamp\":\"2026-02-12T10:00:00Z\",\"voltage\":750,\"note\":\"any text\",\"unit\":\"V\"}");
    assertThat(ok.measurements()).extracting(Measurement::type, Measurement::unit)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("voltage", "V"));
  }

  @Test
  void anUptimeBeyondA32BitCounterIsRefusedBeforeAnyArithmetic() {
    JsonObject hello = Datagrams.hello("dc-meter-001", 1, Datagrams.T0, "1.0.0", 0).put("uptime_s", Long.MAX_VALUE);
    refused("iot/dc-meter-001/hello", hello.encode(), MalformedMessageException.INVALID_PAYLOAD, "uptime_s");
    JsonObject fine = Datagrams.hello("dc-meter-001", 1, Datagrams.T0, "1.0.0", DeviceMessage.MAX_UPTIME_S);
    assertThat(parse("iot/dc-meter-001/hello", fine.encode()).seq()).isEqualTo(1);
  }

  @Test
  void seqOutsideItsRangeOrNotAnIntegerIsRefused() {
    for (Object seq : List.of(-1, DeviceMessage.MAX_SEQ + 1, 1.5, "7")) {
      JsonObject t = Datagrams.telemetry("dc-meter-001", 1).put("seq", seq);
      refused("iot/dc-meter-001/telemetry", t.encode(), MalformedMessageException.INVALID_PAYLOAD, "'seq'");
    }
  }

  @Test
  void notUtf8NotJsonAndNulAreRefusedWithTheirType() {
    assertThatThrownBy(() -> DeviceMessage.parse("iot/dc-meter-001/telemetry", new byte[] {(byte) 0xC3, 0x28}))
        .hasMessageContaining("UTF-8");
    refused("iot/dc-meter-001/telemetry", "[1,2]", MalformedMessageException.JSON_DECODE, "JSON object");
    refused("iot/dc-meter-001/telemetry", "{\"v\":2,\"x\":\"\\u0000\"}", MalformedMessageException.INVALID_PAYLOAD, "NUL");
    refused("iot/not a device/telemetry", "{}", MalformedMessageException.INVALID_TOPIC, "Not a device topic");
  }

  @Test
  void senmlEntriesAreTheSameMeasurements() {
    DeviceMessage message = parse("iot/dc-meter-001/telemetry", "{\"v\":2,\"device_id\":\"dc-meter-001\","
        + "\"ts\":\"2026-02-12T10:00:10Z\",\"seq\":7,\"msg_type\":\"telemetry\",\"measurements\":["
        + "{\"n\":\"voltage_dc\",\"v\":751.5,\"u\":\"V\",\"t\":1770890401.5},"
        + "{\"n\":\"current_dc\",\"v\":300,\"u\":\"A\",\"t\":-9},"
        + "{\"n\":\"temperature\",\"v\":21.5},"
        + "{\"ts\":\"2026-02-12T10:00:01Z\",\"type\":\"pf\",\"val\":0.9}]}");
    List<Measurement> m = message.measurements();
    assertThat(m).extracting(Measurement::type).containsExactly("voltage_dc", "current_dc", "temperature", "pf");
    assertThat(m.get(0).ts()).isEqualTo(Instant.parse("2026-02-12T10:00:01.500Z"));
    assertThat(m.get(0).unit()).isEqualTo("V");
    assertThat(m.get(0).value()).isEqualTo(751.5);
    assertThat(m.get(1).ts()).as("relative to ts").isEqualTo(Instant.parse("2026-02-12T10:00:01Z"));
    assertThat(m.get(2).ts()).as("no t: the message's time").isEqualTo(Instant.parse("2026-02-12T10:00:10Z"));
    assertThat(m.get(2).unit()).isNull();
  }

  @Test
  void badSenmlEntriesAreRefusedNamingTheField() {
    String envelope = "{\"v\":2,\"device_id\":\"dc-meter-001\",\"ts\":\"2026-02-12T10:00:10Z\",\"seq\":7,"
        + "\"msg_type\":\"telemetry\",\"measurements\":[";
    assertThatThrownBy(() -> parse("iot/dc-meter-001/telemetry", envelope + "{\"n\":\"bad name\",\"v\":1}]}"))
        .hasMessageContaining("measurements[0].n");
    assertThatThrownBy(() -> parse("iot/dc-meter-001/telemetry", envelope + "{\"n\":\"x\",\"v\":\"1\"}]}"))
        .hasMessageContaining("measurements[0].v");
    assertThatThrownBy(() -> parse("iot/dc-meter-001/telemetry", envelope + "{\"n\":\"x\",\"v\":1,\"t\":\"now\"}]}"))
        .hasMessageContaining("measurements[0].t");
    assertThatThrownBy(() -> parse("iot/dc-meter-001/telemetry", envelope + "{\"n\":\"x\",\"v\":1,\"t\":1e300}]}"))
        .hasMessageContaining("measurements[0].t");
  }

  @Test
  void telemetryComesWithoutItsTreeAndSharesItsNames() {
    DeviceMessage first = parse("iot/dc-meter-001/telemetry", Datagrams.telemetry("dc-meter-001", 1).encode());
    DeviceMessage second = parse("iot/dc-meter-001/telemetry", Datagrams.telemetry("dc-meter-001", 2).encode());
    assertThat(first.payload()).isNull();
    assertThat(first.measurements()).isNotEmpty();
    assertThat(first.seq()).isEqualTo(1L);
    assertThat(second.measurements().get(0).type()).as("one shared copy of each metric name")
        .isSameAs(first.measurements().get(0).type());
    DeviceMessage status = parse("iot/dc-meter-001/status", Datagrams.status("dc-meter-001", "online", Datagrams.T0).encode());
    assertThat(status.payload()).as("other categories keep the fields their consumers read").isNotNull();
  }

  @Test
  void sharedNamesAreBounded() {
    Names names = new Names(3);
    String first = new String("voltage_dc");
    assertThat(names.canonical(first)).isSameAs(first);
    assertThat(names.canonical(new String("voltage_dc"))).isSameAs(first);
    names.canonical("current_dc");
    names.canonical("power_dc");
    String late = new String("energy");
    assertThat(names.canonical(late)).as("past the bound a name is used as is, not kept").isSameAs(late);
    assertThat(names.canonical(new String("energy"))).isNotSameAs(late);
    assertThat(names.canonical(null)).isNull();
  }
}
