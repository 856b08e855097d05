package io.iotmeter.archive;

import io.vertx.core.json.JsonObject;

/** Opens the object store the {@code s3} configuration names. */
public final class ObjectStores {

  private ObjectStores() {
  }

  public static ObjectStore open(JsonObject s3) {
    return new MinioObjectStore(s3.getString("endpoint"), s3.getString("access_key"), s3.getString("secret_key"),
        s3.getString("bucket"), s3.getString("region"));
  }
}
