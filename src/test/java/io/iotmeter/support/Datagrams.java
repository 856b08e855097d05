package io.iotmeter.support;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Instant;

/** Device messages as meters send them (protocol v2), for the tests. */
public final class Datagrams {

  public static final Instant T0 = Instant.parse("2026-02-12T10:00:00Z");

  private Datagrams() {
  }

  /** Telemetry seq {@code seq}, created at T0 + 10·seq s, with one voltage and one current sample. */
  public static JsonObject telemetry(String deviceId, long seq) {
    Instant ts = T0.plusSeconds(10 * seq);
    return envelope(deviceId, seq, "telemetry", ts).put("measurements", new JsonArray()
        .add(new JsonObject().put("ts", ts.minusSeconds(1).toString()).put("type", "voltage_dc").put("val", 750.0 + seq).put("unit", "V"))
        .add(new JsonObject().put("ts", ts.minusSeconds(1).toString()).put("type", "current_dc").put("val", 300.0 + seq).put("unit", "A")));
  }

  public static JsonObject hello(String deviceId, long seq, Instant ts, String fwVersion, long uptime) {
    return envelope(deviceId, seq, "hello", ts).put("fw_version", fwVersion).put("uptime_s", uptime)
        .put("broker_connections", 3).put("buf_usage_pct", 0.5);
  }

  public static JsonObject status(String deviceId, String status, Instant ts) {
    return new JsonObject().put("v", 2).put("device_id", deviceId).put("ts", ts.toString()).put("status", status);
  }

  public static JsonObject ack(String deviceId, long seq, String cmdId, String result, String detail) {
    return envelope(deviceId, seq, "command_ack", T0.plusSeconds(10 * seq)).put("cmd_id", cmdId).put("result", result)
        .put("detail", detail);
  }

  public static JsonObject envelope(String deviceId, long seq, String msgType, Instant ts) {
    return new JsonObject().put("v", 2).put("device_id", deviceId).put("ts", ts.toString()).put("seq", seq)
        .put("msg_type", msgType);
  }
}
