package io.iotmeter.ops;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class PeriodicTest {

  @Test
  void aTickWhileTheJobRunsIsSkippedAndTheNextOneRunsIt() {
    AtomicInteger runs = new AtomicInteger();
    Promise<Void>[] current = new Promise[1];
    Periodic periodic = Periodic.manual("test job", LoggerFactory.getLogger(PeriodicTest.class), () -> {
      runs.incrementAndGet();
      current[0] = Promise.promise();
      return current[0].future();
    });
    periodic.tick();
    periodic.tick();
    periodic.tick();
    assertThat(runs.get()).isEqualTo(1);
    assertThat(periodic.skipped()).isEqualTo(2);
    current[0].complete();
    periodic.tick();
    assertThat(runs.get()).isEqualTo(2);
  }

  @Test
  void aFailingOrThrowingJobRunsAgainNextTime() {
    AtomicInteger runs = new AtomicInteger();
    Periodic periodic = Periodic.manual("test job", LoggerFactory.getLogger(PeriodicTest.class), () -> {
      if (runs.incrementAndGet() == 1) {
        throw new IllegalStateException("boom");
      }
      return Future.failedFuture("down");
    });
    periodic.tick();
    assertThat(periodic.running()).isFalse();
    periodic.tick();
    periodic.tick();
    assertThat(runs.get()).isEqualTo(3);
  }
}
