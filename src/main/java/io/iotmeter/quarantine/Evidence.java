package io.iotmeter.quarantine;

import io.vertx.core.json.JsonObject;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.Optional;

/**
 * A row of {@code message_quarantine} as the archive writes it: a self-describing JSON object
 * (why, from where, and the raw bytes) under {@code _quarantine/{device_id}/{category}/...} or
 * {@code _rejected/{device_id | _unknown}/...}.
 *
 * @param deviceId null when the topic named no valid device
 */
public record Evidence(long id, String kind, String sink, String errorType, String reason, String deviceId,
                       String category, String topic, byte[] payload, int qos, String source, Instant receivedAt,
                       Long journalId) {

  /** The object key: deterministic, so that writing it again (two nodes, a retry) replaces it with the same content. */
  public String key() {
    String device = deviceId == null ? "_unknown" : deviceId;
    String time = DateTimeFormatter.ISO_INSTANT.format(receivedAt);
    return QuarantineStore.QUARANTINED.equals(kind)
        ? "_quarantine/" + device + "/" + category + "/" + time + "_" + id + ".json"
        : "_rejected/" + device + "/" + time + "_" + id + ".json";
  }

  public JsonObject toJson() {
    JsonObject json = new JsonObject()
        .put("id", id).put("kind", kind).put("sink", sink).put("error_type", errorType).put("reason", reason)
        .put("device_id", deviceId).put("category", category).put("topic", topic).put("qos", qos).put("source", source)
        .put("received_at", DateTimeFormatter.ISO_INSTANT.format(receivedAt)).put("journal_id", journalId);
    putPayload(json, payload);
    return json;
  }

  public byte[] content() {
    return toJson().encode().getBytes(StandardCharsets.UTF_8);
  }

  /** The payload as text when it is UTF-8 without NUL characters, else as base64 ({@code payload_base64}). */
  static void putPayload(JsonObject json, byte[] payload) {
    Optional<String> text = text(payload);
    if (text.isPresent()) {
      json.put("payload", text.get());
    } else {
      json.put("payload_base64", Base64.getEncoder().encodeToString(payload));
    }
  }

  private static Optional<String> text(byte[] bytes) {
    try {
      String text = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes)).toString();
      return text.indexOf('\u0000') >= 0 ? Optional.empty() : Optional.of(text);
    } catch (CharacterCodingException e) {
      return Optional.empty();
    }
  }
}
