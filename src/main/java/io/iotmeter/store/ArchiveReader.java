package io.iotmeter.store;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;

/** Lists raw messages in the object-store archive. */
public interface ArchiveReader {

  /**
   * Up to {@code limit} objects under {@code {device_id}/{prefix}}, as
   * {@code {"filename", "size", "last_modified"}}.
   */
  Future<JsonArray> list(String deviceId, String prefix, int limit);
}
