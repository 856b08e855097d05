package io.iotmeter.intake;

import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Group commit ({@code intake.linger_ms}): messages that arrive one at a time share a transaction
 * when they come within the linger of the oldest, and wait no longer than the linger for it.
 */
@Timeout(60)
class IntakeGroupCommitTest {

  private static final long LINGER_MS = 400;
  private RunningPlatform platform;

  @BeforeEach
  void start() {
    platform = IntakeOnly.start(intake -> intake.put("linger_ms", LINGER_MS));
  }

  @AfterEach
  void stop() {
    platform.close();
  }

  private Future<JsonObject> hand(long seq) {
    return IntakeOnly.hand(platform, seq);
  }

  private long transactions(long... seqs) {
    StringBuilder in = new StringBuilder();
    for (long seq : seqs) {
      in.append(in.length() == 0 ? "" : ",").append(seq);
    }
    return TestPostgres.count(platform.postgres(),
        "SELECT count(DISTINCT tx) FROM journal WHERE device_id = 'dc-meter-001' AND seq IN (" + in + ")");
  }

  @Test
  void messagesArrivingWithinTheLingerShareOneTransaction() throws InterruptedException {
    assertThat(hand(0).await().getString("outcome")).isEqualTo("accepted");

    long sent = System.nanoTime();
    Future<JsonObject> first = hand(1);
    Thread.sleep(100);
    Future<JsonObject> second = hand(2);
    assertThat(first.await().getString("outcome")).isEqualTo("accepted");
    long firstAnsweredMs = (System.nanoTime() - sent) / 1_000_000;
    assertThat(second.await().getString("outcome")).isEqualTo("accepted");
    assertThat(transactions(1, 2)).as("one transaction for both").isEqualTo(1);
    assertThat(firstAnsweredMs).as("the first waited for the linger, and not much longer")
        .isBetween(LINGER_MS - 50, LINGER_MS + 2000);

    // Beyond the linger: a transaction each.
    assertThat(hand(3).await().getString("outcome")).isEqualTo("accepted");
    Thread.sleep(LINGER_MS + 200);
    assertThat(hand(4).await().getString("outcome")).isEqualTo("accepted");
    assertThat(transactions(3, 4)).isEqualTo(2);
  }
}
