package io.iotmeter.sink;

import io.iotmeter.journal.AcceptedMessage;
import io.vertx.core.Future;

import java.util.List;

/**
 * Stores a batch of accepted messages in one store. Must be idempotent: the same message may
 * be written again after a failure or a restart, and must not end up stored twice.
 */
@FunctionalInterface
public interface SinkWriter {

  Future<Void> write(List<AcceptedMessage> batch);
}
