package io.iotmeter.sink;

import io.iotmeter.intake.AcceptedMessage;
import io.vertx.core.json.JsonObject;

import java.time.format.DateTimeFormatter;
import java.util.List;

/**
 * The archive's object keys and contents (contract "Storage layout"): keys
 * {@code {device_id}/{category}/{timestamp}_{journal_id}.json}, records
 * {@code {"device_id","timestamp","category","data": <the message as received>}}.
 *
 * <p>An object holds one record per line (JSON Lines); an object with a single record is
 * exactly the contract's JSON object. {@code timestamp} is when the platform received the
 * message; the journal id of the first record keeps keys unique and stable across retries.
 */
final class ArchiveRecord {

  private ArchiveRecord() {
  }

  static String key(AcceptedMessage first) {
    return first.deviceId() + "/" + first.category().categoryName() + "/"
        + DateTimeFormatter.ISO_INSTANT.format(first.receivedAt()) + "_" + first.journalId() + ".json";
  }

  static JsonObject record(AcceptedMessage message) {
    return new JsonObject()
        .put("device_id", message.deviceId())
        .put("timestamp", DateTimeFormatter.ISO_INSTANT.format(message.receivedAt()))
        .put("category", message.category().categoryName())
        .put("data", new JsonObject(message.payload()));
  }

  static byte[] content(List<AcceptedMessage> records) {
    StringBuilder text = new StringBuilder();
    for (AcceptedMessage message : records) {
      if (text.length() > 0) {
        text.append('\n');
      }
      text.append(record(message).encode());
    }
    return text.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }
}
