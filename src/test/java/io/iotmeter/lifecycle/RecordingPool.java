package io.iotmeter.lifecycle;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PreparedQuery;
import io.vertx.sqlclient.Tuple;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real pool that also records every prepared statement run through it — its SQL, arguments,
 * when it started and ended and how — so tests can count the queries of {@link CommandRedelivery}
 * exactly, and see whether two ran at once. Failures come from the real server, not from here.
 * (A hand-written {@link Proxy}: no mocking library is on the class path.)
 */
final class RecordingPool {

  /** One statement run. */
  static final class Execution {
    final String sql;
    final Tuple args;
    final long startedNanos = System.nanoTime();
    volatile long endedNanos;
    volatile Throwable failure;

    Execution(String sql, Tuple args) {
      this.sql = sql;
      this.args = args;
    }

    boolean ended() {
      return endedNanos != 0;
    }

    /** The device ids of a look for waiting commands (its one array argument). */
    List<String> devices() {
      return List.of((String[]) args.getValue(0));
    }
  }

  private final Pool real;
  private final List<Execution> executions = new CopyOnWriteArrayList<>();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger mostInFlight = new AtomicInteger();

  RecordingPool(Pool real) {
    this.real = real;
  }

  /** The looks for waiting commands, in the order they started. */
  List<Execution> looks() {
    return statements("SELECT cmd_id");
  }

  /** The statements whose SQL starts with {@code prefix}, in the order they started. */
  List<Execution> statements(String prefix) {
    return executions.stream().filter(e -> e.sql.startsWith(prefix)).toList();
  }

  /** The most statements that ran at the same time. */
  int mostInFlight() {
    return mostInFlight.get();
  }

  Pool pool() {
    return proxy(Pool.class, (method, args) -> {
      if (method.getName().equals("preparedQuery") && args.length == 1) {
        String sql = (String) args[0];
        PreparedQuery<?> query = real.preparedQuery(sql);
        return proxy(PreparedQuery.class, (m, a) -> {
          if (m.getName().equals("execute") && a != null && a.length == 1 && a[0] instanceof Tuple tuple) {
            Execution execution = new Execution(sql, tuple);
            executions.add(execution);
            mostInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            return ((Future<?>) call(m, query, a)).andThen(done -> {
              execution.failure = done.cause();
              inFlight.decrementAndGet();
              execution.endedNanos = System.nanoTime();
            });
          }
          return call(m, query, a);
        });
      }
      return call(method, real, args);
    });
  }

  private interface Handler {
    Object handle(Method method, Object[] args) throws Throwable;
  }

  private static <T> T proxy(Class<T> type, Handler handler) {
    return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type},
        (proxy, method, args) -> handler.handle(method, args)));
  }

  private static Object call(Method method, Object target, Object[] args) throws Throwable {
    try {
      return method.invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }
}
