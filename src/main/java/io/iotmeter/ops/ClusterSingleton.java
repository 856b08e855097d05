package io.iotmeter.ops;

import io.vertx.core.Vertx;
import io.vertx.core.shareddata.Lock;

/**
 * Work that one instance in the cluster does at a time: the holder of a cluster-wide lock. The
 * other instances wait for the lock (Vert.x gives up a wait after 10 s: they ask again) and one
 * takes over when the holder's node leaves, which frees the lock. On a single node the lock is the
 * node's own and the first instance holds it.
 */
public final class ClusterSingleton {

  private final Vertx vertx;
  private final String lockName;
  private final Runnable onTaken;
  private Lock lock;
  private boolean stopped;

  private ClusterSingleton(Vertx vertx, String lockName, Runnable onTaken) {
    this.vertx = vertx;
    this.lockName = lockName;
    this.onTaken = onTaken;
  }

  /** Waits for the lock {@code lockName} and runs {@code onTaken} (on this context) once it holds it. */
  public static ClusterSingleton start(Vertx vertx, String lockName, Runnable onTaken) {
    ClusterSingleton singleton = new ClusterSingleton(vertx, lockName, onTaken);
    singleton.takeOver();
    return singleton;
  }

  private void takeOver() {
    vertx.sharedData().getLock(lockName).onComplete(taken -> {
      if (stopped) {
        if (taken.succeeded()) {
          taken.result().release();
        }
      } else if (taken.succeeded()) {
        lock = taken.result();
        onTaken.run();
      } else {
        vertx.setTimer(1_000, id -> takeOver());
      }
    });
  }

  /**
   * Stops waiting: a lock that comes after this is given back at once, and the work is not started.
   * A lock held stays held until {@link #release}, so the work can end before another instance begins.
   */
  public void stopWaiting() {
    stopped = true;
  }

  /** Gives the lock up if held (and stops waiting), so another instance takes over at once. */
  public void release() {
    stopped = true;
    if (lock != null) {
      lock.release();
      lock = null;
    }
  }
}
