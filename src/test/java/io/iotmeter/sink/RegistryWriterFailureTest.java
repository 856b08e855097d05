package io.iotmeter.sink;

import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.protocol.Category;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.MigratedDatabase;
import io.iotmeter.support.TestPostgres;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the registry writer makes of the failures of a real PostgreSQL: a refusal of the data
 * ({@link SinkRefusal}: {@link JournalFeed} splits the batch until the message at fault is
 * quarantined) for SQLSTATE classes 22, 23 and 54, and the server's own failure, unchanged, for
 * the rest ({@link StoreTrouble}: retried, never quarantined); and what it does with command
 * acknowledgements whose cmd_id is no command of the device.
 */
@Timeout(60)
class RegistryWriterFailureTest {

  private static final String CMD = "00000000-0000-0000-0000-0000000000aa";
  /** A command of another device (dc-meter-002). */
  private static final String OTHER_CMD = "00000000-0000-0000-0000-0000000000bb";
  private static final Instant T = Instant.parse("2026-12-01T10:00:00Z");

  @RegisterExtension
  final MigratedDatabase db = new MigratedDatabase("registry-failure-test");

  private JsonObject postgres;
  private SimpleMeterRegistry registry;
  private RegistryWriter writer;
  private long journalId = 1000;

  @BeforeEach
  void setUp() {
    postgres = db.postgres();
    registry = new SimpleMeterRegistry();
    writer = new RegistryWriter(db.pool(), IngestMetrics.of(registry));
    TestPostgres.execute(postgres, "INSERT INTO device_commands (cmd_id, device_id, cmd, params) VALUES "
        + "('" + CMD + "', 'dc-meter-001', 'start_ota', '{}'), ('" + OTHER_CMD + "', 'dc-meter-002', 'reboot', '{}')");
  }

  private AcceptedMessage message(String deviceId, Category category, JsonObject payload, Instant receivedAt) {
    long id = journalId++;
    return new AcceptedMessage(id, deviceId, category, 0, id, receivedAt, receivedAt, category.topicFor(deviceId),
        "endpoint", payload.encode());
  }

  private static JsonObject ota(String cmdId, String state) {
    return Datagrams.envelope("dc-meter-001", 9, "ota_status", T).put("cmd_id", cmdId).put("ota_state", state)
        .put("progress_pct", 40.0);
  }

  private long count(String sql) {
    return TestPostgres.count(postgres, sql);
  }

  private double errors(String type) {
    Counter counter = registry.find("mqtt_collector.messages.errors").tag("error_type", type).counter();
    return counter == null ? 0 : counter.count();
  }

  private Throwable failureOf(List<AcceptedMessage> batch) {
    Throwable failure = writer.write(batch).transform(done -> io.vertx.core.Future.succeededFuture(done.cause())).await();
    assertThat(failure).as("the write fails").isNotNull();
    return failure;
  }

  @Test
  void aValueTooLongForItsColumnIsRefusedAsDataAndOnlyItsMessageKeepsBeingRefused() {
    // fw_version is VARCHAR(50); the intake checks that, but a message read back from the
    // journal is not checked again: PostgreSQL's 22001 (string data right truncation).
    AcceptedMessage online = message("dc-meter-002", Category.STATUS, Datagrams.status("dc-meter-002", "online", T), T);
    AcceptedMessage tooLong = message("dc-meter-001", Category.HELLO, Datagrams.hello("dc-meter-001", 1, T, "9".repeat(60), 5), T);

    Throwable failure = failureOf(List.of(online, tooLong));

    assertThat(failure).isInstanceOf(SinkRefusal.class).hasMessageContaining("22001");
    assertThat(((SinkRefusal) failure).offenders()).as("the store does not say which: the feed splits the batch").isEmpty();
    assertThat(count("SELECT count(*) FROM devices WHERE connection_status = 'online'"))
        .as("nothing of the refused batch stays").isZero();
    // What the feed's split finds: the message at fault is refused on its own, the rest is stored.
    assertThat(failureOf(List.of(tooLong))).isInstanceOf(SinkRefusal.class);
    writer.write(List.of(online)).await();
    assertThat(count("SELECT count(*) FROM devices WHERE device_id = 'dc-meter-002' AND connection_status = 'online'")).isOne();
  }

  @Test
  void aMissingRequiredValueInTheLastStatementRefusesTheBatchAndRollsBackTheStatementsBeforeIt() {
    // An OTA report without ota_state (NOT NULL): 23502, in the third statement of the batch's
    // transaction, after its devices and commands were updated.
    AcceptedMessage hello = message("dc-meter-001", Category.HELLO, Datagrams.hello("dc-meter-001", 1, T, "2.0.0", 5), T);
    AcceptedMessage ack = message("dc-meter-001", Category.COMMAND_ACK, Datagrams.ack("dc-meter-001", 2, CMD, "accepted", "ok"), T);
    AcceptedMessage report = message("dc-meter-001", Category.OTA_STATUS, ota(CMD, null), T);

    Throwable failure = failureOf(List.of(hello, ack, report));

    assertThat(failure).isInstanceOf(SinkRefusal.class).hasMessageContaining("23502");
    assertThat(count("SELECT count(*) FROM devices WHERE fw_version IS NOT NULL OR last_seen IS NOT NULL")).isZero();
    assertThat(count("SELECT count(*) FROM device_commands WHERE status <> 'pending'")).isZero();
    assertThat(count("SELECT count(*) FROM device_command_progress")).isZero();

    assertThat(failureOf(List.of(report))).isInstanceOf(SinkRefusal.class);
    writer.write(List.of(hello, ack)).await();
    assertThat(count("SELECT count(*) FROM devices WHERE device_id = 'dc-meter-001' AND fw_version = '2.0.0'")).isOne();
    assertThat(count("SELECT count(*) FROM device_commands WHERE cmd_id = '" + CMD + "' AND status = 'accepted'")).isOne();
  }

  /**
   * Any SQLSTATE, raised by the real server through a trigger on the rows the batch updates.
   * Classes 22, 23 and 54 say the statement's data is at fault: a refusal. The server's own
   * troubles (disk full, out of memory, a cancelled statement, a serialization failure, a lost
   * connection, an internal error) must reach the feed as they are, so that it retries them and
   * never takes them for a message at fault. Neither (42501, a privilege): passed on as it is,
   * for the feed's ping to tell. (One database for all: a fresh one per state costs a second.)
   */
  @Test
  void eachSqlStateClassTurnsIntoItsOutcome() {
    Map<String, String> expected = new LinkedHashMap<>();
    expected.put("22003", "refusal"); // numeric value out of range
    expected.put("22P02", "refusal"); // invalid text representation
    expected.put("23505", "refusal"); // unique violation
    expected.put("23514", "refusal"); // check violation
    expected.put("54000", "refusal"); // program limit exceeded (a row or an index entry too large)
    expected.put("54001", "refusal"); // statement too complex
    expected.put("53100", "store trouble"); // disk full
    expected.put("53200", "store trouble"); // out of memory
    expected.put("57014", "store trouble"); // statement cancelled (its deadline)
    expected.put("40001", "store trouble"); // serialization failure
    expected.put("08006", "store trouble"); // connection failure
    expected.put("XX000", "store trouble"); // internal error
    expected.put("42501", "as it is"); // insufficient privilege: not the data, and not known as trouble
    AcceptedMessage telemetry = message("dc-meter-001", Category.TELEMETRY, Datagrams.telemetry("dc-meter-001", 1), T);
    TestPostgres.execute(postgres, "CREATE TABLE raise_state (state text NOT NULL); INSERT INTO raise_state VALUES ('00000'); "
        + "CREATE FUNCTION fail_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        + "RAISE EXCEPTION 'raised by the test' USING ERRCODE = (SELECT state FROM raise_state); END $$; "
        + "CREATE TRIGGER fail_update BEFORE UPDATE ON devices FOR EACH ROW EXECUTE FUNCTION fail_update()");

    Map<String, String> outcomes = new LinkedHashMap<>();
    for (String state : expected.keySet()) {
      TestPostgres.execute(postgres, "UPDATE raise_state SET state = '" + state + "'");
      outcomes.put(state, outcome(failureOf(List.of(telemetry)), state));
    }

    assertThat(outcomes).containsExactlyEntriesOf(expected);
    assertThat(count("SELECT count(*) FROM devices WHERE last_seen IS NOT NULL")).isZero();
  }

  /** How the feed will take the failure: a refusal of the data, store trouble, or the failure as it is. */
  private static String outcome(Throwable failure, String state) {
    if (failure instanceof SinkRefusal refusal) {
      // Without names, and saying why (the quarantine keeps the message as the reason).
      return refusal.offenders().isEmpty() && refusal.getMessage().contains(state) && !StoreTrouble.is(refusal)
          ? "refusal" : "a refusal without the state, or naming messages: " + refusal.getMessage() + " " + refusal.offenders();
    }
    if (!(failure instanceof PgException pg) || !state.equals(pg.getSqlState())) {
      return "changed on its way: " + failure;
    }
    return StoreTrouble.is(failure) ? "store trouble" : "as it is";
  }

  @Test
  void aCommandIdThatNamesNoCommandOfTheDeviceLosesOnlyItsAcknowledgement() {
    JsonObject missing = Datagrams.ack("dc-meter-001", 3, CMD, "accepted", "?");
    missing.remove("cmd_id");
    List<AcceptedMessage> batch = List.of(
        message("dc-meter-001", Category.COMMAND_ACK, Datagrams.ack("dc-meter-001", 1, "not-a-uuid", "accepted", "?"), T),
        message("dc-meter-001", Category.COMMAND_ACK, Datagrams.ack("dc-meter-001", 2, "x".repeat(64), "error", "?"), T),
        message("dc-meter-001", Category.COMMAND_ACK, missing, T),
        message("dc-meter-001", Category.COMMAND_ACK, Datagrams.ack("dc-meter-001", 4, CMD, "accepted", "?").put("cmd_id", 42), T),
        message("dc-meter-001", Category.OTA_STATUS, ota("not-a-uuid-either", "downloading"), T),
        // Well-formed, but no command of this device: unknown, or another device's.
        message("dc-meter-001", Category.COMMAND_ACK,
            Datagrams.ack("dc-meter-001", 5, "00000000-0000-0000-0000-0000000000ff", "accepted", "?"), T),
        message("dc-meter-001", Category.COMMAND_ACK, Datagrams.ack("dc-meter-001", 6, OTHER_CMD, "accepted", "?"), T),
        message("dc-meter-001", Category.OTA_STATUS, ota("00000000-0000-0000-0000-0000000000ff", "downloading"), T),
        // And the rest of the batch.
        message("dc-meter-001", Category.COMMAND_ACK, Datagrams.ack("dc-meter-001", 7, CMD, "accepted", "done"), T.plusSeconds(1)),
        message("dc-meter-001", Category.OTA_STATUS, ota(CMD, "downloading"), T.plusSeconds(1)),
        message("dc-meter-002", Category.HELLO, Datagrams.hello("dc-meter-002", 8, T, "9.9.9", 5), T.plusSeconds(2)));

    writer.write(batch).await();

    assertThat(errors("invalid_cmd_id")).as("absent, a number, not a UUID").isEqualTo(5);
    assertThat(errors("unmatched_command_ack")).as("unknown, another device's").isEqualTo(2);
    assertThat(errors("unmatched_ota_status")).isEqualTo(1);
    assertThat(count("SELECT count(*) FROM device_commands WHERE cmd_id = '" + CMD + "' AND status = 'accepted' "
        + "AND ack_detail = 'done'")).isOne();
    assertThat(count("SELECT count(*) FROM device_commands WHERE cmd_id = '" + OTHER_CMD + "' AND status = 'pending'"))
        .as("only the device a command was sent to can answer it").isOne();
    assertThat(count("SELECT count(*) FROM device_command_progress WHERE cmd_id = '" + CMD + "'")).isOne();
    assertThat(count("SELECT count(*) FROM devices WHERE device_id = 'dc-meter-001' AND connection_status = 'online' "
        + "AND last_seen = '" + T.plusSeconds(1) + "'")).as("the device was seen, whatever its acks named").isOne();
    assertThat(count("SELECT count(*) FROM devices WHERE device_id = 'dc-meter-002' AND fw_version = '9.9.9'")).isOne();
  }
}
