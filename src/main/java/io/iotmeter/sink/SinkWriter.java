package io.iotmeter.sink;

import io.iotmeter.protocol.AcceptedMessage;
import io.vertx.core.Future;

import java.util.List;

/**
 * Stores a batch of accepted messages in one store. Must be idempotent: the same message may
 * be written again after a failure or a restart, and must not end up stored twice.
 */
@FunctionalInterface
public interface SinkWriter {

  Future<Void> write(List<AcceptedMessage> batch);

  /**
   * Whether what a batch holds shapes what is stored (the archive: one object per device and
   * category of the batch). Then the feed records a batch's end before writing it, and a crash
   * is followed by the same batch, not a differently cut one whose objects would repeat records.
   */
  default boolean rebuildsBatches() {
    return false;
  }

  /** Whether it reads a message's parsed measurements ({@link AcceptedMessage#parse}) rather than its payload. */
  default boolean usesParsed() {
    return true;
  }
}
