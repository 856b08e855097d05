package io.iotmeter.bus;

import io.vertx.core.json.JsonObject;

/**
 * A message body that travels on a node-local address as the object itself ({@link LocalCodec}):
 * immutable, so every consumer may share it. {@link #toJson} is its documented shape in the
 * address catalogue, for the bus tap and for senders that only have JSON.
 */
public interface LocalBody {

  JsonObject toJson();
}
