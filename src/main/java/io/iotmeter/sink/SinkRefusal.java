package io.iotmeter.sink;

import java.util.Map;

/**
 * A sink writer's way of saying that the store cannot take (some of) the batch as it is — not
 * that the store is away. {@link JournalFeed} then isolates the messages at fault: those named
 * in {@link #offenders()} are quarantined at once; without names, the batch is split until the
 * refused message is found. Every other message keeps flowing.
 */
public final class SinkRefusal extends RuntimeException {

  private final Map<Long, String> offenders;

  /**
   * @param offenders journal id → reason, for the messages known to be at fault; empty when the
   *                  store refused the batch as a whole
   */
  public SinkRefusal(String message, Map<Long, String> offenders) {
    super(message, null, false, false);
    this.offenders = Map.copyOf(offenders);
  }

  public Map<Long, String> offenders() {
    return offenders;
  }
}
