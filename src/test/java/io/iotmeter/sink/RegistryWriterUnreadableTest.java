package io.iotmeter.sink;

import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.protocol.Category;
import io.iotmeter.support.Datagrams;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Proxy;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Payloads the registry writer cannot read — what reaches it but does not decode — without a
 * database: such a batch never reaches the store, and the refusal names exactly the unreadable
 * messages, so {@link JournalFeed} quarantines them at once and stores the rest (instead of
 * retrying the batch for ever, or splitting it write by write).
 */
class RegistryWriterUnreadableTest {

  private static final Instant T = Instant.parse("2026-12-01T10:00:00Z");

  /** The pool's methods the writer called: none may be, for a batch it refuses before the store. */
  private final List<String> poolCalls = new CopyOnWriteArrayList<>();
  private final Pool untouchable = (Pool) Proxy.newProxyInstance(Pool.class.getClassLoader(), new Class<?>[] {Pool.class},
      (proxy, method, args) -> {
        poolCalls.add(method.getName());
        throw new AssertionError("the store was asked (" + method.getName() + ") for a batch that holds unreadable messages");
      });
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final RegistryWriter writer = new RegistryWriter(untouchable, IngestMetrics.of(registry));

  private static AcceptedMessage message(long journalId, Category category, String payload) {
    return new AcceptedMessage(journalId, "dc-meter-001", category, 0, journalId, T, T.plusSeconds(journalId),
        category.topicFor("dc-meter-001"), "endpoint", payload);
  }

  private double errors(String type) {
    Counter counter = registry.find("mqtt_collector.messages.errors").tag("error_type", type).counter();
    return counter == null ? 0 : counter.count();
  }

  @Test
  void unreadablePayloadsAreRefusedByNameAndTheStoreIsNotAsked() {
    String ota = Datagrams.envelope("dc-meter-001", 5, "ota_status", T)
        .put("cmd_id", "00000000-0000-0000-0000-0000000000aa").put("ota_state", "downloading")
        .put("progress_pct", "fifty") // a field of the wrong type: JSON, an object, and still unreadable here
        .encode();
    List<AcceptedMessage> batch = List.of(
        message(1, Category.TELEMETRY, "not json at all"), // telemetry's payload is not read: it only says "seen"
        message(2, Category.STATUS, "{\"v\":2,\"status\":"),
        message(3, Category.HELLO, "[1, 2]"),
        message(4, Category.COMMAND_ACK, "null"),
        message(5, Category.OTA_STATUS, ota),
        message(6, Category.HELLO, Datagrams.hello("dc-meter-001", 6, T, "2.0.0", 5).encode()),
        message(7, Category.COMMAND_ACK, Datagrams.ack("dc-meter-001", 7, "not-a-uuid", "accepted", "done").encode()));

    Future<Void> written = writer.write(batch);

    assertThat(written.failed()).as("refused at once, before any store call").isTrue();
    assertThat(written.cause()).isInstanceOf(SinkRefusal.class);
    SinkRefusal refusal = (SinkRefusal) written.cause();
    assertThat(refusal.offenders()).containsOnlyKeys(2L, 3L, 4L, 5L);
    assertThat(refusal.offenders().values()).allMatch(reason -> reason.startsWith("payload cannot be read: "));
    assertThat(poolCalls).isEmpty();
    // Message 7's cmd_id is counted when its batch (without the offenders) goes to the store,
    // not for this attempt too: it would be counted twice.
    assertThat(errors("invalid_cmd_id")).isZero();
  }

  @Test
  void aBatchOfOnlyUnreadablePayloadsIsRefusedWhole() {
    Future<Void> written = writer.write(List.of(message(10, Category.STATUS, ""), message(11, Category.HELLO, "\"text\"")));

    assertThat(written.cause()).isInstanceOf(SinkRefusal.class);
    assertThat(((SinkRefusal) written.cause()).offenders()).containsOnlyKeys(10L, 11L);
    assertThat(poolCalls).isEmpty();
  }
}
