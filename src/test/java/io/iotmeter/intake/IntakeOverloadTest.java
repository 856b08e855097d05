package io.iotmeter.intake;

import io.iotmeter.support.Eventually;
import io.iotmeter.support.RunningPlatform;
import io.iotmeter.support.TestPostgres;
import io.vertx.core.Future;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The intake's queue is bounded in time as well as in size: with the journal stalled (a real
 * PostgreSQL whose table another session holds locked), requests that waited longer than
 * {@code intake.max_queue_wait_ms} are answered unprocessed, new ones are refused while the
 * oldest waits too long, and once the journal moves everything flows again. Without the bound,
 * an overload collapses into committing copies whose senders have given up (the 10,000-meter
 * benchmark: 9 of 1,000 datagrams/s acknowledged).
 */
@Timeout(90)
class IntakeOverloadTest {

  private static final long MAX_WAIT_MS = 300;
  private RunningPlatform platform;

  @BeforeEach
  void start() {
    platform = IntakeOnly.start(intake -> intake.put("max_queue_wait_ms", MAX_WAIT_MS));
  }

  @AfterEach
  void stop() {
    platform.close();
  }

  private Future<JsonObject> hand(long seq) {
    return IntakeOnly.hand(platform, seq);
  }

  /** The 503 the intake answered instead of a reply, by its message. */
  private static String refusal(Future<JsonObject> reply) {
    try {
      JsonObject answer = reply.await();
      throw new AssertionError("answered " + answer.encode() + ", expected a refusal");
    } catch (ReplyException e) {
      assertThat(e.failureCode()).isEqualTo(503);
      return e.getMessage();
    }
  }

  private double counter(String errorType) {
    String line = "mqtt_collector_messages_errors_total{error_type=\"" + errorType + "\"}";
    return platform.get("/metrics").body().lines().filter(l -> l.startsWith(line)).findFirst()
        .map(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).orElse(Double.NaN);
  }

  @Test
  void aStalledJournalRefusesAndExpiresInsteadOfQueueingWorkNobodyWaitsFor() throws Exception {
    assertThat(hand(0).await().getString("outcome")).as("the device is registered on its first message").isEqualTo("accepted");
    Future<JsonObject> first;
    Future<JsonObject> queued;
    try (Connection c = DriverManager.getConnection(TestPostgres.jdbcUrl(platform.postgres().getString("database")),
        "postgres", io.iotmeter.support.TestPostgres.password())) {
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        s.execute("LOCK TABLE device_seq_tracking IN ACCESS EXCLUSIVE MODE");
      }
      first = hand(1);   // its batch waits for the lock
      Thread.sleep(100);
      queued = hand(2);  // waits in the queue behind it
      Thread.sleep(MAX_WAIT_MS + 200);
      assertThat(refusal(hand(3))).as("the oldest queued request waited too long: new ones are refused at once")
          .contains("intake queue full");
      assertThat(first.isComplete()).as("the stalled batch is still waiting").isFalse();
      c.rollback();
    }
    assertThat(first.await().getString("outcome")).isEqualTo("accepted");
    assertThat(refusal(queued)).as("answered unprocessed: it waited longer than max_queue_wait_ms")
        .contains("intake overloaded");
    assertThat(hand(2).await().getString("outcome")).as("sent again, it is taken").isEqualTo("accepted");
    assertThat(hand(3).await().getString("outcome")).isEqualTo("accepted");
    Eventually.within(Duration.ofSeconds(10), () -> {
      assertThat(counter("intake_queue_full")).isEqualTo(1.0);
      assertThat(counter("intake_queue_expired")).isEqualTo(1.0);
    });
    assertThat(TestPostgres.count(platform.postgres(), "SELECT count(*) FROM journal WHERE device_id = 'dc-meter-001'"))
        .as("each message journalled once").isEqualTo(4);
  }
}
