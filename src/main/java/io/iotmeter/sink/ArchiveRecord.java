package io.iotmeter.sink;

import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.protocol.IsoInstant;
import io.vertx.core.json.JsonObject;

import java.util.List;

/**
 * The archive's object keys and contents (contract "Storage layout"): keys
 * {@code {device_id}/{category}/{timestamp}_{journal_id}.json}, records
 * {@code {"device_id","timestamp","category","data": <the message as received>}}.
 *
 * <p>An object holds one record per line (JSON Lines); an object with a single record is
 * exactly the contract's JSON object. Device ids, categories and timestamps are plain ASCII
 * without quotes (the intake checked them), so they need no escaping. {@code timestamp} is when the platform received the
 * message; the journal id of the first record keeps keys unique and stable across retries.
 */
final class ArchiveRecord {

  private ArchiveRecord() {
  }

  static String key(AcceptedMessage first) {
    return first.deviceId() + "/" + first.category().categoryName() + "/"
        + IsoInstant.format(received(first)) + "_" + first.journalId() + ".json";
  }

  /**
   * When the platform received the message, as the journal keeps it (microseconds): a message the
   * intake published and the same message read back from the journal make the same key and record.
   */
  private static java.time.Instant received(AcceptedMessage message) {
    return message.receivedAt().truncatedTo(java.time.temporal.ChronoUnit.MICROS);
  }

  /**
   * One record as a line of JSON. The payload was validated as a JSON object by the intake, so
   * it is embedded as received — without parsing it again — unless it spans several lines,
   * which a line-per-record object cannot hold; then it is written compactly.
   */
  static String record(AcceptedMessage message) {
    String payload = message.payload();
    String data = payload.indexOf('\n') >= 0 || payload.indexOf('\r') >= 0 ? new JsonObject(payload).encode() : payload;
    return "{\"device_id\":\"" + message.deviceId() + "\",\"timestamp\":\""
        + IsoInstant.format(received(message)) + "\",\"category\":\""
        + message.category().categoryName() + "\",\"data\":" + data + "}";
  }

  static byte[] content(List<AcceptedMessage> records) {
    int size = 0;
    for (AcceptedMessage message : records) {
      size += message.payload().length() + 128;
    }
    StringBuilder text = new StringBuilder(size);
    for (AcceptedMessage message : records) {
      if (text.length() > 0) {
        text.append('\n');
      }
      text.append(record(message));
    }
    return text.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }
}
