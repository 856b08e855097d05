package io.iotmeter.security;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The slow-hash workers' door: bounded in all and per address, shedding at once beyond, freed as checks end. */
class HashingGateTest {

  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() {
    vertx.close().await();
  }

  @Test
  void shedsBeyondItsShareOfAnAddressAndBeyondItsBoundAndAdmitsAgainOnceChecksEnd() throws Exception {
    WorkerExecutor workers = vertx.createSharedWorkerExecutor("gate-test", 2);
    CountDownLatch release = new CountDownLatch(1);
    List<String> outcomes = new ArrayList<>();
    HashingGate gate = new HashingGate(workers, 4, 2, 100);
    // all on one event loop, as in the identity verticle
    Promise<Void> done = Promise.promise();
    vertx.runOnContext(v -> {
      List<Future<Boolean>> admitted = new ArrayList<>();
      admitted.add(gate.submit("10.0.0.1", () -> release.await(10, TimeUnit.SECONDS)));
      admitted.add(gate.submit("10.0.0.1", () -> release.await(10, TimeUnit.SECONDS)));
      Future<Boolean> third = gate.submit("10.0.0.1", () -> true);
      outcomes.add("third of an address: " + (third.failed() && third.cause() instanceof HashingGate.Busy));
      admitted.add(gate.submit("10.0.0.2", () -> release.await(10, TimeUnit.SECONDS)));
      admitted.add(gate.submit("10.0.0.3", () -> release.await(10, TimeUnit.SECONDS)));
      Future<Boolean> fifth = gate.submit("10.0.0.4", () -> true);
      outcomes.add("fifth in all: " + (fifth.failed() && fifth.cause() instanceof HashingGate.Busy));
      outcomes.add("in flight: " + gate.inFlight() + ", shed: " + gate.shed());
      release.countDown();
      Future.all(admitted).onComplete(all -> {
        outcomes.add("in flight after: " + gate.inFlight());
        gate.submit("10.0.0.1", () -> true).onComplete(again -> {
          outcomes.add("admitted again: " + again.succeeded());
          done.complete();
        });
      });
    });
    done.future().await(10, TimeUnit.SECONDS);
    assertThat(outcomes).containsExactly("third of an address: true", "fifth in all: true", "in flight: 4, shed: 2",
        "in flight after: 0", "admitted again: true");
  }

  @Test
  void anAddressGetsItsRateOfSlowChecksAndNoMoreWhileOthersStillGetTheirs() throws Exception {
    WorkerExecutor workers = vertx.createSharedWorkerExecutor("gate-test-rate", 2);
    HashingGate gate = new HashingGate(workers, 100, 100, 3);
    Promise<List<Boolean>> done = Promise.promise();
    vertx.runOnContext(v -> {
      List<Boolean> admitted = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        admitted.add(gate.submit("10.0.0.1", () -> true).failed());
      }
      admitted.add(gate.submit("10.0.0.2", () -> true).failed());
      done.complete(admitted);
    });
    assertThat(done.future().await(10, TimeUnit.SECONDS)).containsExactly(false, false, false, true, true, true, false);
  }

  @Test
  void aFailedCheckFreesItsPlaceToo() throws Exception {
    WorkerExecutor workers = vertx.createSharedWorkerExecutor("gate-test-fail", 1);
    HashingGate gate = new HashingGate(workers, 1, 1, 100);
    Promise<String> done = Promise.promise();
    vertx.runOnContext(v -> gate.<Boolean>submit("a", () -> {
      throw new IllegalStateException("broken hash");
    }).onComplete(first -> gate.submit("a", () -> true)
        .onComplete(second -> done.complete(first.failed() + " " + second.succeeded() + " " + gate.inFlight()))));
    assertThat(done.future().await(10, TimeUnit.SECONDS)).isEqualTo("true true 0");
  }
}
