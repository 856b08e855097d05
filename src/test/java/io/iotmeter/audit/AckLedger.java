package io.iotmeter.audit;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the meters of a load saw acknowledged, key by key, as it happened: the input of the
 * {@link StoreAudit}. Each acknowledgement is recorded under its <em>path</em> (the broker or
 * endpoint that answered), so that one path's loss cannot hide behind another path's copy, with
 * the wall-clock times of its send and of its acknowledgement (a row that kills a broker can tell
 * what that broker acknowledged just before it died).
 *
 * <p>A load in another process writes the same facts to a file as they happen
 * ({@link #recordingTo}); {@link #read} gives them back to the auditor. Thread-safe: the meters'
 * callbacks run on several event loops.
 */
public final class AckLedger implements AutoCloseable {

  /** When one key was sent and acknowledged on one path (epoch milliseconds). */
  public record Ack(long sentAtMs, long ackedAtMs) {
  }

  private final Map<String, Map<MessageKey, Ack>> byPath = new ConcurrentHashMap<>();
  private final Set<MessageKey> published = ConcurrentHashMap.newKeySet();
  private final AtomicLong unmatchedAcks = new AtomicLong();
  private final BufferedWriter file;

  public AckLedger() {
    this.file = null;
  }

  private AckLedger(BufferedWriter file) {
    this.file = file;
  }

  /** A ledger that also appends every fact to {@code path} (for a load that runs in its own process). */
  public static AckLedger recordingTo(Path path) {
    try {
      return new AckLedger(Files.newBufferedWriter(path, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code key} was handed to the client for sending on {@code path}. */
  public void published(String path, MessageKey key) {
    if (published.add(key)) {
      write("P " + path + " " + key.device() + " " + key.seq());
    }
  }

  /** {@code path} acknowledged {@code key} (PUBACK, or PUBCOMP at QoS 2). */
  public void acked(String path, MessageKey key, long sentAtMs, long ackedAtMs) {
    published.add(key);
    if (byPath.computeIfAbsent(path, p -> new ConcurrentHashMap<>()).putIfAbsent(key, new Ack(sentAtMs, ackedAtMs)) == null) {
      write("A " + path + " " + key.device() + " " + key.seq() + " " + sentAtMs + " " + ackedAtMs);
    }
  }

  /** An acknowledgement the client could not match with any publish: a defect of the load, which must stay at zero. */
  public void unmatchedAck(String path, int packetId) {
    unmatchedAcks.incrementAndGet();
    write("U " + path + " " + packetId);
  }

  /** Every key some path acknowledged. */
  public Set<MessageKey> acked() {
    Set<MessageKey> all = new HashSet<>();
    byPath.values().forEach(acks -> all.addAll(acks.keySet()));
    return all;
  }

  /** The keys one path acknowledged, with their times. */
  public Map<MessageKey, Ack> acked(String path) {
    return java.util.Collections.unmodifiableMap(new java.util.HashMap<>(byPath.getOrDefault(path, Map.of())));
  }

  public Set<String> paths() {
    return new TreeSet<>(byPath.keySet());
  }

  /** Every key handed to a client for sending, acknowledged or not. */
  public Set<MessageKey> published() {
    // Not Set.copyOf: its open addressing degrades to quadratic on keys whose hashes run in
    // sequence (a device's seqs), minutes for a benchmark's million keys.
    return java.util.Collections.unmodifiableSet(new java.util.HashSet<>(published));
  }

  public long unmatchedAcks() {
    return unmatchedAcks.get();
  }

  public long ackedCount() {
    return acked().size();
  }

  /**
   * Each acknowledged key's earliest send over every path: the copy the platform can have taken
   * first. A copy sent through another path after that one is dropped as a duplicate and times
   * nothing, so only the earliest send bounds what the registry recorded.
   */
  public Map<MessageKey, Long> firstSends() {
    Map<MessageKey, Long> first = new HashMap<>();
    byPath.values().forEach(acks -> acks.forEach((key, ack) -> first.merge(key, ack.sentAtMs(), Math::min)));
    return first;
  }

  /**
   * Per device, the first send of its newest acknowledged message ({@link #firstSends}): the
   * registry's {@code last_seen} is at least that.
   */
  public Map<String, Long> newestAckedSend() {
    Map<String, Long> newest = new HashMap<>();
    firstSends().forEach((key, sent) -> newest.merge(key.device(), sent, Math::max));
    return newest;
  }

  private void write(String line) {
    if (file != null) {
      synchronized (file) {
        try {
          file.write(line);
          file.write('\n');
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }
  }

  /** Writes out what the file holds so far (the load calls it before it reports its result). */
  public void flush() {
    if (file != null) {
      synchronized (file) {
        try {
          file.flush();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }
  }

  @Override
  public void close() {
    if (file != null) {
      synchronized (file) {
        try {
          file.close();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }
  }

  /** The ledger a load wrote with {@link #recordingTo}. */
  public static AckLedger read(Path path) {
    AckLedger ledger = new AckLedger();
    try (var lines = Files.lines(path, StandardCharsets.UTF_8)) {
      lines.forEach(line -> {
        String[] f = line.split(" ");
        switch (f[0]) {
          case "P" -> ledger.published.add(new MessageKey(f[2], Long.parseLong(f[3])));
          case "A" -> ledger.acked(f[1], new MessageKey(f[2], Long.parseLong(f[3])), Long.parseLong(f[4]), Long.parseLong(f[5]));
          case "U" -> ledger.unmatchedAcks.incrementAndGet();
          default -> throw new IllegalStateException("Not a ledger line in " + path + ": " + line);
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return ledger;
  }
}
