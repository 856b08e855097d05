package io.iotmeter.lifecycle;

import io.iotmeter.support.MigratedDatabase;
import io.iotmeter.bus.BusAddress;
import io.iotmeter.support.Eventually;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/** The failure branches of command redelivery, against a real registry. */
@Timeout(60)
class CommandRedeliveryTest {

  private static final Duration WAIT = Duration.ofSeconds(15);
  private static final String CMD_1 = "00000000-0000-0000-0000-000000000001";
  private static final String CMD_2 = "00000000-0000-0000-0000-000000000002";

  private Vertx vertx;
  private Pool pool;
  private JsonObject postgres;
  private CommandRedelivery redelivery;

  @RegisterExtension
  final MigratedDatabase db = new MigratedDatabase("redelivery-test");

  @BeforeEach
  void setUp() {
    vertx = db.vertx();
    postgres = db.postgres();
    pool = db.pool();
    TestPostgres.execute(postgres, "INSERT INTO device_commands (cmd_id, device_id, cmd, params, created_at) VALUES "
        + "('" + CMD_1 + "', 'dc-meter-001', 'request_status', '{}', now() - interval '2 minutes'), "
        + "('" + CMD_2 + "', 'dc-meter-001', 'reboot', '{}', now() - interval '1 minute')");
    redelivery = new CommandRedelivery(vertx, pool, Duration.ZERO);
  }


  private long published() {
    return TestPostgres.count(postgres, "SELECT count(*) FROM device_commands WHERE published_at IS NOT NULL");
  }

  @Test
  void aSendThatFailsLeavesTheCommandsWaitingInOrder() {
    // No MQTT verticle: the send fails (NO_HANDLERS); nothing is marked delivered.
    redelivery.redeliver("dc-meter-001").otherwiseEmpty().await();
    assertThat(published()).isZero();

    // The first fails, the second must not overtake it.
    List<String> sent = new CopyOnWriteArrayList<>();
    MessageConsumer<JsonObject> mqtt = vertx.eventBus().consumer(BusAddress.COMMAND_SEND.address(), m -> {
      sent.add(m.body().getString("cmd_id"));
      if (sent.size() == 1) {
        m.fail(503, "broker away");
      } else {
        m.reply(new JsonObject().put("delivered", true));
      }
    });
    mqtt.completion().await();
    redelivery.redeliver("dc-meter-001").otherwiseEmpty().await();
    assertThat(sent).containsExactly(CMD_1);
    assertThat(published()).isZero();

    redelivery.redeliver("dc-meter-001").await();
    assertThat(sent).containsExactly(CMD_1, CMD_1, CMD_2);
    assertThat(published()).isEqualTo(2);
  }

  @Test
  void aDeviceHeardSeveralTimesAtOnceIsLookedAtOneLookAtATime() {
    List<String> sent = new CopyOnWriteArrayList<>();
    java.util.concurrent.atomic.AtomicInteger inProgress = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger mostAtOnce = new java.util.concurrent.atomic.AtomicInteger();
    vertx.eventBus().<JsonObject>consumer(BusAddress.COMMAND_SEND.address(), m -> {
      sent.add(m.body().getString("cmd_id"));
      if (sent.size() == 1) {
        // Heard from twice more while its first look is under way.
        redelivery.deviceActive("dc-meter-001", true);
        redelivery.deviceActive("dc-meter-001", true);
      }
      mostAtOnce.accumulateAndGet(inProgress.incrementAndGet(), Math::max);
      vertx.setTimer(50, id -> {
        inProgress.decrementAndGet();
        m.reply(new JsonObject().put("delivered", true));
      });
    }).completion().await();
    vertx.runOnContext(v -> {
      // Heard from three times at once: one look.
      redelivery.deviceActive("dc-meter-001", true);
      redelivery.deviceActive("dc-meter-001", true);
      redelivery.deviceActive("dc-meter-001", true);
    });
    // One look now and one more after it (for what came meanwhile): never two at once, and
    // each look sends the waiting commands in order.
    Eventually.within(WAIT, () -> assertThat(sent).hasSize(4));
    vertx.timer(1000).await();
    assertThat(sent).containsExactly(CMD_1, CMD_2, CMD_1, CMD_2);
    assertThat(mostAtOnce.get()).isEqualTo(1);
  }

  private static Map<String, Integer> sendsPerDevice(Map<String, List<String>> sent) {
    Map<String, Integer> counts = new java.util.HashMap<>();
    sent.forEach((device, commands) -> counts.put(device, commands.size()));
    return counts;
  }

  @Test
  void manyDevicesAreLookedAtTogetherEachInOrder() {
    TestPostgres.execute(postgres, "INSERT INTO devices (device_id, device_name) SELECT 'meter-' || n, 'meter ' || n "
        + "FROM generate_series(0, 1499) n");
    TestPostgres.execute(postgres, "INSERT INTO device_commands (cmd_id, device_id, cmd, params, created_at) SELECT "
        + "('00000000-0000-0000-0001-' || lpad(to_hex(n), 12, '0'))::uuid, 'meter-' || (n % 1500), 'request_status', '{}', "
        + "now() - (n || ' seconds')::interval FROM generate_series(1, 3000) n");
    java.util.Map<String, List<String>> sentByDevice = new java.util.concurrent.ConcurrentHashMap<>();
    vertx.eventBus().<JsonObject>consumer(BusAddress.COMMAND_SEND.address(), m -> {
      sentByDevice.computeIfAbsent(m.body().getString("device_id"), d -> new CopyOnWriteArrayList<>())
          .add(m.body().getString("cmd_id"));
      m.reply(new JsonObject().put("delivered", true));
    }).completion().await();
    // All at once: one query each would overrun the pool's wait queue (1,000), and the devices
    // beyond it would wait for their next message.
    vertx.runOnContext(v -> {
      for (int n = 0; n < 1500; n++) {
        redelivery.deviceActive("meter-" + n, false);
      }
    });
    Eventually.within(WAIT, () -> assertThat(sentByDevice).hasSize(1500));
    // Each command once: counted after the sends stayed the same for a second (as above), so a
    // third send to a device would show.
    Map<String, Integer> sends = Eventually.settled(WAIT, Duration.ofSeconds(1), () -> sendsPerDevice(sentByDevice),
        counts -> counts.size() == 1500 && counts.values().stream().allMatch(n -> n >= 2));
    assertThat(sends.values()).allMatch(n -> n == 2);
    assertThat(sentByDevice.values()).allMatch(list -> list.size() == 2);
    // Each device's two commands in the order they were created (the older has the larger n).
    assertThat(sentByDevice.get("meter-7")).containsExactly("00000000-0000-0000-0001-0000000005e3",
        "00000000-0000-0000-0001-000000000007");
    Eventually.within(WAIT, () -> assertThat(TestPostgres.count(postgres,
        "SELECT count(*) FROM device_commands WHERE published_at IS NOT NULL")).isEqualTo(3000));
  }

  @Test
  void aDeliveredCommandIsNotSentAgain() {
    List<String> sent = new CopyOnWriteArrayList<>();
    vertx.eventBus().<JsonObject>consumer(BusAddress.COMMAND_SEND.address(), m -> {
      sent.add(m.body().getString("cmd_id"));
      m.reply(new JsonObject().put("delivered", true));
    }).completion().await();
    vertx.runOnContext(v -> redelivery.delivered(CMD_1, "dc-meter-001"));
    Eventually.within(WAIT, () -> assertThat(TestPostgres.count(postgres,
        "SELECT count(*) FROM device_commands WHERE delivered_at IS NOT NULL")).isEqualTo(1));
    vertx.runOnContext(v -> redelivery.delivered(CMD_2, "another-device")); // only its own device can confirm it
    redelivery.redeliver("dc-meter-001").await();
    assertThat(sent).containsExactly(CMD_2);
  }
}
