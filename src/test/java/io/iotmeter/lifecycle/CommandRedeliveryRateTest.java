package io.iotmeter.lifecycle;

import io.iotmeter.support.Eventually;
import io.iotmeter.support.MigratedDatabase;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The rate limit of command redelivery, exactly, on a clock the test steps: a device is looked
 * at no more than once per interval (here the production 30 s, passing in no time), an online
 * status skips the limit, and the devices heard from together share queries of at most
 * {@link CommandRedelivery#MAX_DEVICES_PER_LOOK}, one at a time. Queries are counted on the
 * pool; a real registry answers them.
 */
@Timeout(60)
class CommandRedeliveryRateTest {

  private static final Duration INTERVAL = Duration.ofSeconds(30);
  private static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");
  private static final Duration WAIT = Duration.ofSeconds(10);

  @RegisterExtension
  final MigratedDatabase db = new MigratedDatabase("redelivery-rate-test");

  private Vertx vertx;
  private Context context;
  private RecordingPool recording;
  private final StepClock clock = new StepClock(T0);
  private CommandRedelivery redelivery;

  @BeforeEach
  void setUp() {
    vertx = db.vertx();
    context = vertx.getOrCreateContext();
    recording = new RecordingPool(db.pool());
    redelivery = new CommandRedelivery(vertx, recording.pool(), INTERVAL, clock, 1);
  }

  /** The device's message reached the lifecycle (on its event loop, as the verticle's consumer runs it). */
  private void heard(String deviceId, boolean reconnected) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    context.runOnContext(v -> {
      redelivery.deviceActive(deviceId, reconnected);
      done.complete(null);
    });
    done.join();
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

  @Test
  void aDeviceIsLookedAtAtMostOncePerIntervalToTheMillisecond() {
    heard("dc-meter-001", false);
    heard("dc-meter-001", false); // heard again at once: the same look
    assertLooks(1);

    clock.set(T0.plus(INTERVAL).minusMillis(1));
    heard("dc-meter-001", false);
    assertLooks(1);

    clock.set(T0.plus(INTERVAL));
    heard("dc-meter-001", false);
    assertLooks(2);

    // The interval runs from the last look, not from the first.
    clock.set(T0.plus(INTERVAL).plus(INTERVAL).minusMillis(1));
    heard("dc-meter-001", false);
    assertLooks(2);
    assertThat(recording.looks()).allSatisfy(look -> assertThat(look.devices()).containsExactly("dc-meter-001"));
  }

  @Test
  void anOnlineStatusIsLookedAtAtOnceWhateverTheInterval() {
    heard("dc-meter-001", false);
    assertLooks(1);

    clock.advance(Duration.ofMillis(1));
    heard("dc-meter-001", true); // came back: its session may be new and empty
    assertLooks(2);

    // ... and starts the interval again.
    clock.set(T0.plus(INTERVAL));
    heard("dc-meter-001", false);
    assertLooks(2);
    clock.set(T0.plus(INTERVAL).plusMillis(1));
    heard("dc-meter-001", false);
    assertLooks(3);
  }

  @Test
  void eachDeviceHasItsOwnInterval() {
    heard("dc-meter-001", false);
    assertLooks(1);
    clock.advance(Duration.ofSeconds(1));
    heard("dc-meter-002", false); // another device: not limited by the first one's look
    heard("dc-meter-001", false);
    assertLooks(2);
    assertThat(recording.looks().get(1).devices()).containsExactly("dc-meter-002");
  }

  @Test
  void devicesHeardTogetherShareQueriesOfAtMostAThousandOneAtATime() {
    long gatherMs = 20;
    redelivery = new CommandRedelivery(vertx, recording.pool(), INTERVAL, clock, gatherMs);
    List<String> devices = IntStream.range(0, 2500).mapToObj(n -> "meter-" + n).toList();
    CompletableFuture<Void> heard = new CompletableFuture<>();
    context.runOnContext(v -> {
      devices.forEach(device -> redelivery.deviceActive(device, false));
      heard.complete(null);
    });
    heard.join();

    assertLooks(3);
    List<RecordingPool.Execution> looks = recording.looks();
    assertThat(looks).extracting(look -> look.devices().size()).containsExactly(1000, 1000, 500);
    List<String> looked = new ArrayList<>();
    looks.forEach(look -> looked.addAll(look.devices()));
    assertThat(looked).as("each device once, in the order they were heard from").isEqualTo(devices);
    assertThat(recording.mostInFlight()).as("one look at a time").isEqualTo(1);
    for (int i = 1; i < looks.size(); i++) {
      assertThat(Duration.ofNanos(looks.get(i).startedNanos - looks.get(i - 1).endedNanos).toMillis())
          .as("the devices heard from meanwhile gather before the next look").isGreaterThanOrEqualTo(gatherMs);
    }
  }
}
