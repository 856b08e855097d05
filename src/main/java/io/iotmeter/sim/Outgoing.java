package io.iotmeter.sim;

import io.vertx.core.buffer.Buffer;

/**
 * A message waiting in a meter's outbox for one broker.
 *
 * @param perConnection a status message that belongs to one connection (the {@code online} sent
 *                      after connecting, the {@code offline} before leaving): never sent again
 *                      on a later connection, which announces itself anew
 */
record Outgoing(String topic, Buffer payload, int qos, boolean retain, boolean perConnection) {
}
