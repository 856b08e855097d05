package io.iotmeter.lifecycle;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.MigratedDatabase;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Command redelivery when the registry fails under it — for real: the table renamed away, or a
 * trigger that raises a server error — on a clock the test steps, so the 30 s interval between
 * looks passes in no time. A failed look forgets no device; a command sent whose record then
 * fails is neither lost nor sent again and again.
 */
@Timeout(60)
class CommandRedeliveryFailureTest {

  private static final Duration INTERVAL = Duration.ofSeconds(30);
  private static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final String CMD_1 = "00000000-0000-0000-0000-000000000001";
  private static final String CMD_2 = "00000000-0000-0000-0000-000000000002";
  private static final String CMD_3 = "00000000-0000-0000-0000-000000000003";

  @RegisterExtension
  final MigratedDatabase db = new MigratedDatabase("redelivery-failure-test");

  private Vertx vertx;
  private JsonObject postgres;
  private Context context;
  private RecordingPool recording;
  private final StepClock clock = new StepClock(T0);
  private CommandRedelivery redelivery;
  /** The commands handed to MQTT (the device endpoint takes every one), in order. */
  private final List<String> sent = new CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp() {
    vertx = db.vertx();
    postgres = db.postgres();
    context = vertx.getOrCreateContext();
    recording = new RecordingPool(db.pool());
    redelivery = new CommandRedelivery(vertx, recording.pool(), INTERVAL, clock, 1);
    TestPostgres.execute(postgres, "INSERT INTO device_commands (cmd_id, device_id, cmd, params, created_at) VALUES "
        + "('" + CMD_1 + "', 'dc-meter-001', 'request_status', '{}', now() - interval '2 minutes'), "
        + "('" + CMD_2 + "', 'dc-meter-001', 'reboot', '{}', now() - interval '1 minute'), "
        + "('" + CMD_3 + "', 'dc-meter-002', 'request_status', '{}', now() - interval '1 minute')");
    vertx.eventBus().<JsonObject>consumer(BusAddress.COMMAND_SEND.address(), m -> {
      sent.add(m.body().getString("cmd_id"));
      m.reply(new JsonObject().put("delivered", true));
    }).completion().await();
  }

  private void heard(String deviceId, boolean reconnected) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    context.runOnContext(v -> {
      redelivery.deviceActive(deviceId, reconnected);
      done.complete(null);
    });
    done.join();
  }

  private long published() {
    return TestPostgres.count(postgres, "SELECT count(*) FROM device_commands WHERE published_at IS NOT NULL");
  }

  private long waiting() {
    return TestPostgres.count(postgres, "SELECT count(*) FROM device_commands WHERE status = 'pending' AND delivered_at IS NULL");
  }

  /**
   * Waits until no look is under way or due — none can start then without the device being heard
   * from again — and counts the looks there were: exactly, no late one can come.
   */
  private void assertLooks(int n) {
    Eventually.within(WAIT, () -> assertThat(idle()).as("idle").isTrue());
    assertThat(recording.looks()).hasSize(n);
  }

  private boolean idle() {
    CompletableFuture<Boolean> idle = new CompletableFuture<>();
    context.runOnContext(v -> idle.complete(redelivery.idle()));
    return idle.join();
  }

  /** A trigger that fails the updates of {@code column} of device_commands with SQLSTATE {@code state}. */
  private void failUpdatesOf(String column, String state) {
    TestPostgres.execute(postgres, "CREATE FUNCTION fail_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        + "RAISE EXCEPTION 'raised by the test' USING ERRCODE = '" + state + "'; END $$; "
        + "CREATE TRIGGER fail_update BEFORE UPDATE OF " + column + " ON device_commands FOR EACH ROW EXECUTE FUNCTION fail_update()");
  }

  private void stopFailingUpdates() {
    TestPostgres.execute(postgres, "DROP TRIGGER fail_update ON device_commands; DROP FUNCTION fail_update()");
  }

  @Test
  void theDevicesOfAFailedLookAreLookedAtAgainWhenNextHeardFrom() {
    TestPostgres.execute(postgres, "ALTER TABLE device_commands RENAME TO device_commands_away");
    heard("dc-meter-001", true);
    heard("dc-meter-002", false);
    assertLooks(1);
    assertThat(recording.looks().get(0).failure).as("the look failed on the server").isNotNull()
        .hasMessageContaining("device_commands");
    assertThat(recording.looks().get(0).devices()).containsExactly("dc-meter-001", "dc-meter-002");
    assertThat(sent).isEmpty();
    TestPostgres.execute(postgres, "ALTER TABLE device_commands_away RENAME TO device_commands");

    // Back: each as soon as the rate limit lets it — an online status at once, other traffic
    // after the interval.
    heard("dc-meter-001", true);
    assertLooks(2);
    assertThat(sent).containsExactly(CMD_1, CMD_2);
    clock.set(T0.plus(INTERVAL));
    heard("dc-meter-002", false);
    assertLooks(3);
    assertThat(sent).containsExactly(CMD_1, CMD_2, CMD_3);
    assertThat(published()).isEqualTo(3);
  }

  @Test
  void aCommandSentWhoseRecordFailsIsSentAgainAtTheNextLookAndNotBefore() {
    failUpdatesOf("published_at", "53100"); // disk full: the send went out, its record did not
    heard("dc-meter-001", true);
    assertLooks(1);
    // The look stops at the command it could not record (the next one must not overtake it),
    // and is not repeated on its own: no copy after copy while the registry fails.
    assertThat(sent).containsExactly(CMD_1);
    assertThat(waiting()).as("not lost: every command still waits for its device's confirmation").isEqualTo(3);
    assertThat(published()).isZero();

    // Heard from again within the interval: no second copy yet.
    clock.set(T0.plus(INTERVAL).minusMillis(1));
    heard("dc-meter-001", false);
    assertLooks(1);
    assertThat(sent).containsExactly(CMD_1);

    stopFailingUpdates();
    clock.set(T0.plus(INTERVAL));
    heard("dc-meter-001", false);
    assertLooks(2);
    assertThat(sent).containsExactly(CMD_1, CMD_1, CMD_2);
    assertThat(published()).isEqualTo(2);
  }

  @Test
  void aDeliveryThatCannotBeRecordedCostsOneCopyPerLookUntilItIs() {
    failUpdatesOf("delivered_at", "57014"); // the device confirmed (PUBCOMP); the record of it timed out
    context.runOnContext(v -> redelivery.delivered(CMD_1, "dc-meter-001"));
    Eventually.within(WAIT, () -> assertThat(recording.statements("UPDATE device_commands SET delivered_at"))
        .singleElement().satisfies(update -> assertThat(update.failure).hasMessageContaining("raised by the test")));
    heard("dc-meter-001", true);
    assertLooks(1);
    assertThat(sent).as("one copy per look, not a loop").containsExactly(CMD_1, CMD_2);

    // Recorded now: the next look leaves it out; the other goes once more (its delivery was never confirmed).
    stopFailingUpdates();
    context.runOnContext(v -> redelivery.delivered(CMD_1, "dc-meter-001"));
    Eventually.within(WAIT, () -> assertThat(TestPostgres.count(postgres,
        "SELECT count(*) FROM device_commands WHERE delivered_at IS NOT NULL")).isOne());
    clock.set(T0.plus(INTERVAL));
    heard("dc-meter-001", false);
    assertLooks(2);
    assertThat(sent).containsExactly(CMD_1, CMD_2, CMD_2);
  }
}
