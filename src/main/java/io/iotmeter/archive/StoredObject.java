package io.iotmeter.archive;

import java.time.Instant;

/** One object of the archive as a listing shows it. */
public record StoredObject(String key, long size, Instant lastModified) {
}
