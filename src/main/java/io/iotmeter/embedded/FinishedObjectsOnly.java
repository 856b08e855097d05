package io.iotmeter.embedded;

import java.util.regex.Pattern;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.domain.PageSet;
import org.jclouds.blobstore.domain.StorageMetadata;
import org.jclouds.blobstore.domain.internal.PageSetImpl;
import org.jclouds.blobstore.options.ListContainerOptions;
import org.jclouds.blobstore.util.ForwardingBlobStore;

/**
 * Hides objects still being written from listings.
 *
 * <p>jclouds' filesystem store writes an object to {@code <key>-<uuid>} and renames it to
 * {@code <key>} when done; until then a listing shows the temporary file as an object of its own,
 * which a reader may then fail to get (it was renamed meanwhile) or read as a second, partial
 * copy. MinIO never lists an object before its upload is complete, and neither does this store.
 */
final class FinishedObjectsOnly extends ForwardingBlobStore {

  /** The name jclouds gives an object while it is being written. */
  static final Pattern UNFINISHED = Pattern.compile(
      ".+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

  FinishedObjectsOnly(BlobStore blobStore) {
    super(blobStore);
  }

  static boolean unfinished(String name) {
    return name != null && UNFINISHED.matcher(name).matches();
  }

  @Override
  public PageSet<? extends StorageMetadata> list(String container) {
    return finished(super.list(container));
  }

  @Override
  public PageSet<? extends StorageMetadata> list(String container, ListContainerOptions options) {
    return finished(super.list(container, options));
  }

  private static PageSet<? extends StorageMetadata> finished(PageSet<? extends StorageMetadata> page) {
    // The next marker stays the underlying store's, so paging goes on past a hidden last entry.
    return new PageSetImpl<>(page.stream().filter(m -> !unfinished(m.getName())).toList(), page.getNextMarker());
  }
}
