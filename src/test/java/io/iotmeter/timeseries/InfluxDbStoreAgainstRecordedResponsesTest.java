package io.iotmeter.timeseries;

import io.iotmeter.timeseries.RecordedInfluxDbServer.Request;
import io.iotmeter.timeseries.RecordedInfluxDbServer.Response;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.ServerSocket;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The production store against InfluxDB 2.7's HTTP answers, recorded (no InfluxDB server can run
 * here): what goes over the wire for writes and queries, how answers are read, how failures
 * surface.
 */
@Timeout(30)
class InfluxDbStoreAgainstRecordedResponsesTest {

  private static final String TOKEN = "iot-admin-token-secret-12345";
  private static final Instant T0 = Instant.parse("2026-02-12T10:00:00Z");

  /**
   * InfluxDB 2.7's answer to {@link FluxQuery#forDevice} for dc-meter-001 without a metric: one
   * table per series (current_dc sorts before voltage_dc), each in time order, CRLF line ends,
   * an empty line closing the result.
   */
  private static final String TWO_SERIES = crlf("""
      #datatype,string,long,dateTime:RFC3339,double,string,string
      #group,false,false,false,false,true,true
      #default,_result,,,,,
      ,result,table,_time,_value,device_id,metric
      ,,0,2026-02-12T10:00:01Z,312.8,dc-meter-001,current_dc
      ,,0,2026-02-12T10:00:02.5Z,313.4,dc-meter-001,current_dc
      ,,0,2026-02-12T10:00:03Z,311,dc-meter-001,current_dc
      ,,1,2026-02-12T10:00:01Z,756.3,dc-meter-001,voltage_dc
      ,,1,2026-02-12T10:00:02Z,757.1,dc-meter-001,voltage_dc
      ,,1,2026-02-12T10:00:03.000123Z,-0.5,dc-meter-001,voltage_dc

      """);

  /** The same data as InfluxDB sends it for a query without {@code keep()}: every column. */
  private static final String TWO_SERIES_ALL_COLUMNS = crlf("""
      #datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string,string,string,string
      #group,false,false,true,true,false,false,true,true,true,true,true
      #default,_result,,,,,,,,,,
      ,result,table,_start,_stop,_time,_value,_field,_measurement,device_id,metric,unit
      ,,0,2026-02-12T10:00:00Z,2026-02-12T10:01:00Z,2026-02-12T10:00:01Z,312.8,value,iot_telemetry,dc-meter-001,current_dc,A
      ,,0,2026-02-12T10:00:00Z,2026-02-12T10:01:00Z,2026-02-12T10:00:02.5Z,313.4,value,iot_telemetry,dc-meter-001,current_dc,A
      ,,0,2026-02-12T10:00:00Z,2026-02-12T10:01:00Z,2026-02-12T10:00:03Z,311,value,iot_telemetry,dc-meter-001,current_dc,A
      ,,1,2026-02-12T10:00:00Z,2026-02-12T10:01:00Z,2026-02-12T10:00:01Z,756.3,value,iot_telemetry,dc-meter-001,voltage_dc,V
      ,,1,2026-02-12T10:00:00Z,2026-02-12T10:01:00Z,2026-02-12T10:00:02Z,757.1,value,iot_telemetry,dc-meter-001,voltage_dc,V
      ,,1,2026-02-12T10:00:00Z,2026-02-12T10:01:00Z,2026-02-12T10:00:03.000123Z,-0.5,value,iot_telemetry,dc-meter-001,voltage_dc,V

      """);

  private static final List<MetricSample> TWO_SERIES_IN_TIME_ORDER = List.of(
      new MetricSample(Instant.parse("2026-02-12T10:00:01Z"), "dc-meter-001", "current_dc", 312.8),
      new MetricSample(Instant.parse("2026-02-12T10:00:01Z"), "dc-meter-001", "voltage_dc", 756.3),
      new MetricSample(Instant.parse("2026-02-12T10:00:02Z"), "dc-meter-001", "voltage_dc", 757.1),
      new MetricSample(Instant.parse("2026-02-12T10:00:02.5Z"), "dc-meter-001", "current_dc", 313.4),
      new MetricSample(Instant.parse("2026-02-12T10:00:03Z"), "dc-meter-001", "current_dc", 311.0),
      new MetricSample(Instant.parse("2026-02-12T10:00:03.000123Z"), "dc-meter-001", "voltage_dc", -0.5));

  private RecordedInfluxDbServer influx;
  private InfluxDbStore store;

  @BeforeEach
  void setUp() {
    influx = new RecordedInfluxDbServer();
    store = new InfluxDbStore(influx.url(), "iot-org", "iot-metrics", TOKEN, true);
  }

  @AfterEach
  void tearDown() {
    store.close();
    influx.close();
  }

  @Test
  void writesGzippedLineProtocolAtNanosecondPrecisionWithTheToken() {
    store.write(List.of(
        new Point("dc-meter-001", "voltage_dc", "V", 756.3, T0.plusSeconds(1)),
        new Point("ac-meter-001", "pf", null, 0.97, Instant.parse("2026-02-12T10:00:01.250Z")),
        new Point("ac-meter-001", "temperature", "Cel", 41.0, Instant.parse("2026-02-12T10:00:01.000123Z")),
        new Point("dc-meter-001", "odd", "deg C,x=y\\", 1.0E-7, T0)));

    List<Request> writes = influx.requestsTo("/api/v2/write");
    assertThat(writes).hasSize(1);
    Request write = writes.get(0);
    assertThat(write.method()).isEqualTo("POST");
    assertThat(write.uri()).isEqualTo("/api/v2/write?org=iot-org&bucket=iot-metrics&precision=ns");
    assertThat(write.header("Authorization")).isEqualTo("Token " + TOKEN);
    assertThat(write.header("Content-Encoding")).isEqualTo("gzip");
    assertThat(write.body()).isEqualTo(String.join("\n",
        "iot_telemetry,device_id=dc-meter-001,metric=voltage_dc,unit=V value=756.3 1770890401000000000",
        "iot_telemetry,device_id=ac-meter-001,metric=pf value=0.97 1770890401250000000",
        "iot_telemetry,device_id=ac-meter-001,metric=temperature,unit=Cel value=41.0 1770890401000123000",
        "iot_telemetry,device_id=dc-meter-001,metric=odd,unit=deg\\ C\\,x\\=y\\\\ value=1.0E-7 1770890400000000000"));
  }

  @Test
  void splitsBatchesLargerThanFiveThousandPoints() {
    List<Point> points = java.util.stream.IntStream.range(0, 12_001)
        .mapToObj(i -> new Point("dc-meter-001", "voltage_dc", "V", i, T0.plusMillis(i)))
        .toList();

    store.write(points);

    List<Request> writes = influx.requestsTo("/api/v2/write");
    assertThat(writes).extracting(w -> w.body().split("\n").length).containsExactly(5_000, 5_000, 2_001);
    assertThat(writes.get(2).body()).endsWith("value=12000.0 " + T0.plusMillis(12_000).toEpochMilli() + "000000");
  }

  @Test
  void anEmptyBatchSendsNothing() {
    store.write(List.of());

    assertThat(influx.requests()).isEmpty();
  }

  @Test
  void queriesWithEscapedLiteralsAndMergesTheSeriesInTimeOrder() {
    influx.answer("/api/v2/query", Response.csv(TWO_SERIES));

    List<MetricSample> samples = store.query("dc-meter-001", T0, T0.plusSeconds(60), Optional.empty());

    assertThat(samples).containsExactlyElementsOf(TWO_SERIES_IN_TIME_ORDER);
    Request query = influx.requestsTo("/api/v2/query").get(0);
    assertThat(query.method()).isEqualTo("POST");
    assertThat(query.uri()).isEqualTo("/api/v2/query?org=iot-org");
    assertThat(query.header("Authorization")).isEqualTo("Token " + TOKEN);
    assertThat(fluxOf(query)).isEqualTo("""
        from(bucket: "iot-metrics")
          |> range(start: 2026-02-12T10:00:00Z, stop: 2026-02-12T10:01:00Z)
          |> filter(fn: (r) => r._measurement == "iot_telemetry" and r._field == "value" and r.device_id == "dc-meter-001")
          |> keep(columns: ["_time", "_value", "device_id", "metric"])""");
  }

  @Test
  void readsColumnsByNameWhateverElseTheTablesCarry() {
    influx.answer("/api/v2/query", Response.csv(TWO_SERIES_ALL_COLUMNS));

    assertThat(store.query("dc-meter-001", T0, T0.plusSeconds(60), Optional.empty()))
        .containsExactlyElementsOf(TWO_SERIES_IN_TIME_ORDER);
  }

  @Test
  void filtersOnTheMetricOnlyWhenOneIsGiven() {
    influx.answer("/api/v2/query", Response.csv(crlf("""
        #datatype,string,long,dateTime:RFC3339,double,string,string
        #group,false,false,false,false,true,true
        #default,_result,,,,,
        ,result,table,_time,_value,device_id,metric
        ,,0,2026-02-12T10:00:01Z,756.3,dc-meter-001,voltage_dc

        """)));

    List<MetricSample> samples = store.query("dc-meter-001", T0, T0.plusSeconds(60), Optional.of("voltage_dc"));

    assertThat(samples).containsExactly(new MetricSample(T0.plusSeconds(1), "dc-meter-001", "voltage_dc", 756.3));
    assertThat(fluxOf(influx.requestsTo("/api/v2/query").get(0)))
        .contains("r.device_id == \"dc-meter-001\" and r.metric == \"voltage_dc\")");
    store.query("dc-meter-001", T0, T0.plusSeconds(60), Optional.empty());
    assertThat(fluxOf(influx.requestsTo("/api/v2/query").get(1))).doesNotContain("r.metric");
  }

  @Test
  void anEmptyResultIsAnEmptyList() {
    // InfluxDB answers a query that matches nothing with 200 and an empty body.
    influx.answer("/api/v2/query", Response.csv(""));

    assertThat(store.query("dc-meter-001", T0, T0.plusSeconds(60), Optional.empty())).isEmpty();
  }

  @Test
  void anInjectionAttemptStaysInsideTheStringLiteral() {
    influx.answer("/api/v2/query", Response.csv(""));
    String hostile = "x\" or true or r.device_id == \"";

    store.query(hostile, T0, T0.plusSeconds(60), Optional.of("m\") |> drop(columns: [\"_value\"]) //"));

    String flux = fluxOf(influx.requestsTo("/api/v2/query").get(0));
    assertThat(flux).contains("r.device_id == \"x\\\" or true or r.device_id == \\\"\"")
        .contains("r.metric == \"m\\\") |> drop(columns: [\\\"_value\\\"]) //\")");
    // Outside the literals the query is exactly the usual one: no operator was added.
    assertThat(flux.replaceAll("\"(\\\\.|[^\"\\\\])*\"", "\"…\"")).isEqualTo("""
        from(bucket: "…")
          |> range(start: 2026-02-12T10:00:00Z, stop: 2026-02-12T10:01:00Z)
          |> filter(fn: (r) => r._measurement == "…" and r._field == "…" and r.device_id == "…" and r.metric == "…")
          |> keep(columns: ["…", "…", "…", "…"])""");
  }

  @Test
  void aRejectedTokenIsAClearNonRetryableFailure() {
    influx.answer("/api/v2/write", Response.json(401, "{\"code\":\"unauthorized\",\"message\":\"unauthorized access\"}"));
    influx.answer("/api/v2/query", Response.json(401, "{\"code\":\"unauthorized\",\"message\":\"unauthorized access\"}"));

    assertThatThrownBy(() -> store.write(List.of(new Point("dc-meter-001", "voltage_dc", "V", 756.3, T0))))
        .isInstanceOfSatisfying(TimeSeriesException.class, e -> assertThat(e.retryable()).isFalse())
        .hasMessage("InfluxDB at " + influx.url() + ": Writing 1 point to bucket iot-metrics failed: "
            + "HTTP 401 unauthorized access (check the token and its permissions on the bucket)");
    assertThatThrownBy(() -> store.query("dc-meter-001", T0, T0.plusSeconds(60), Optional.empty()))
        .isInstanceOf(TimeSeriesException.class)
        .hasMessage("InfluxDB at " + influx.url() + ": Querying dc-meter-001 in bucket iot-metrics failed: "
            + "HTTP 401 unauthorized access (check the token and its permissions on the bucket)");
  }

  @Test
  void anUnavailableStoreIsARetryableFailure() {
    influx.answer("/api/v2/write", Response.json(503, "{\"code\":\"unavailable\",\"message\":\"service unavailable\"}")
        .withHeader("Retry-After", "30"));

    assertThatThrownBy(() -> store.write(List.of(new Point("dc-meter-001", "voltage_dc", "V", 756.3, T0))))
        .isInstanceOfSatisfying(TimeSeriesException.class, e -> assertThat(e.retryable()).isTrue())
        .hasMessage("InfluxDB at " + influx.url() + ": Writing 1 point to bucket iot-metrics failed: "
            + "HTTP 503 service unavailable (store overloaded or not ready: retry later)");
    // Exactly one attempt: the blocking client does not retry behind the caller's back.
    assertThat(influx.requestsTo("/api/v2/write")).hasSize(1);
  }

  @Test
  void aProxyErrorPageWithoutInfluxDbsJsonStillGivesTheStatus() {
    influx.answer("/api/v2/write", new Response(502, "text/html", "<html><body>Bad Gateway</body></html>", java.util.Map.of()));

    assertThatThrownBy(() -> store.write(List.of(new Point("dc-meter-001", "voltage_dc", "V", 756.3, T0))))
        .isInstanceOfSatisfying(TimeSeriesException.class, e -> assertThat(e.retryable()).isTrue())
        .hasMessage("InfluxDB at " + influx.url() + ": Writing 1 point to bucket iot-metrics failed: HTTP 502 "
            + "without an InfluxDB error message");
  }

  @Test
  void badDataIsANonRetryableFailureCarryingInfluxDbsReason() {
    influx.answer("/api/v2/write", Response.json(400,
        "{\"code\":\"invalid\",\"message\":\"partial write: field type conflict: input field \\\"value\\\" on measurement "
            + "\\\"iot_telemetry\\\" is type integer, already exists as type float dropped=1\"}"));

    assertThatThrownBy(() -> store.write(List.of(new Point("dc-meter-001", "voltage_dc", "V", 756.3, T0))))
        .isInstanceOfSatisfying(TimeSeriesException.class, e -> assertThat(e.retryable()).isFalse())
        .hasMessageContaining("HTTP 400 partial write: field type conflict");
  }

  @Test
  void anUnknownBucketOnQueryNamesIt() {
    influx.answer("/api/v2/query", Response.json(404,
        "{\"code\":\"not found\",\"message\":\"failed to initialize execute state: could not find bucket \\\"iot-metrics\\\"\"}"));

    assertThatThrownBy(() -> store.query("dc-meter-001", T0, T0.plusSeconds(60), Optional.empty()))
        .isInstanceOf(TimeSeriesException.class)
        .hasMessageEndingWith("HTTP 404 failed to initialize execute state: could not find bucket \"iot-metrics\"");
  }

  @Test
  void pingAsksPingAndAnUnreachableStoreFailsQuickly() throws Exception {
    store.ping();
    assertThat(influx.requestsTo("/ping")).hasSize(1);

    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    try (InfluxDbStore down = new InfluxDbStore("http://127.0.0.1:" + closedPort, "iot-org", "iot-metrics", TOKEN, true)) {
      long start = System.nanoTime();
      assertThatThrownBy(down::ping)
          .isInstanceOfSatisfying(TimeSeriesException.class, e -> assertThat(e.retryable()).isTrue())
          .hasMessageStartingWith("InfluxDB at http://127.0.0.1:" + closedPort + ": Ping failed: ")
          .hasMessageContaining("Connection refused");
      assertThatThrownBy(() -> down.write(List.of(new Point("d", "m", null, 1, T0))))
          .isInstanceOf(TimeSeriesException.class).hasMessageContaining("Connection refused");
      assertThat(System.nanoTime() - start).isLessThan(3_000_000_000L);
    }
  }

  private static String fluxOf(Request query) {
    return new JsonObject(query.body()).getString("query");
  }

  private static String crlf(String text) {
    return text.replace("\n", "\r\n");
  }
}
