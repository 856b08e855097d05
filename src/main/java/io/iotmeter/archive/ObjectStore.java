package io.iotmeter.archive;

import java.util.List;

/**
 * The archive of raw messages: one bucket of an S3-compatible object store.
 *
 * <p>Every method blocks on network I/O: call it from a worker thread, never from an event loop.
 * Failures are {@link ObjectStoreException}s.
 */
public interface ObjectStore extends AutoCloseable {

  /** Creates the bucket unless it exists; nodes doing this at the same time all succeed. */
  void ensureBucket();

  /** Stores {@code content} under {@code key}, replacing any object already there. */
  void put(String key, byte[] content, String contentType);

  /**
   * The first {@code limit} objects whose keys start with {@code prefix} (at any depth), in
   * ascending key order; folder markers are not objects and are left out.
   */
  List<StoredObject> list(String prefix, int limit);

  /** The content of the object under {@code key}. */
  byte[] get(String key);

  /** Fails within a few seconds unless the store answers and the bucket exists. */
  void ping();

  @Override
  void close();
}
