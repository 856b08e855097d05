package io.iotmeter.store;

import java.util.List;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * Batches go to PostgreSQL as one array per column, spread into rows by {@code unnest}: one
 * statement for hundreds of rows. This turns a list of row objects into such a column.
 */
public final class Columns {

  private Columns() {
  }

  /** The values {@code getter} reads from each row, as an array of the column's type. */
  public static <R, V> V[] of(List<R> rows, Function<R, V> getter, IntFunction<V[]> array) {
    V[] column = array.apply(rows.size());
    for (int i = 0; i < column.length; i++) {
      column[i] = getter.apply(rows.get(i));
    }
    return column;
  }
}
