package io.iotmeter.sink;

import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.protocol.Category;
import io.iotmeter.support.Datagrams;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An archive object holds one record per line: a payload is embedded byte for byte, unless it
 * spans lines (a newline or carriage return anywhere, even first), which would split its record.
 */
class ArchiveRecordTest {

  private static AcceptedMessage message(long journalId, String payload) {
    return new AcceptedMessage(journalId, "dc-meter-001", Category.TELEMETRY, 0, journalId, Datagrams.T0, Datagrams.T0,
        "iot/dc-meter-001/telemetry", "endpoint", payload);
  }

  @Test
  void aOneLinePayloadIsEmbeddedAsReceived() {
    String payload = "{ \"v\" : 2,\t\"seq\":1 }";
    assertThat(ArchiveRecord.record(message(1, payload))).endsWith("\"data\":" + payload + "}");
  }

  @Test
  void aPayloadSpanningLinesIsWrittenOnOneLineWhereverItsLineBreakIs() {
    for (String payload : new String[] {"\n{\"v\":2,\"seq\":1}", "{\"v\":2,\n\"seq\":1}", "\r{\"v\":2,\"seq\":1}", "{\"v\":2,\"seq\":1}\r\n"}) {
      String record = ArchiveRecord.record(message(1, payload));
      assertThat(record).doesNotContain("\n", "\r");
      assertThat(new JsonObject(record).getJsonObject("data")).isEqualTo(new JsonObject().put("v", 2).put("seq", 1));
    }
  }

  @Test
  void anObjectHasOneRecordPerLine() {
    byte[] content = ArchiveRecord.content(java.util.List.of(message(1, "{\"seq\":1}"), message(2, "{\n\"seq\":2}")));
    String[] lines = new String(content, StandardCharsets.UTF_8).split("\n", -1);
    assertThat(lines).hasSize(2);
    assertThat(new JsonObject(lines[1]).getJsonObject("data").getInteger("seq")).isEqualTo(2);
  }
}
