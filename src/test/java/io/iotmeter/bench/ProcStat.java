package io.iotmeter.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * CPU time and memory of processes, read from Linux's {@code /proc} — so the benchmark can
 * charge each process (platform, stores, load, baseline broker) for its own CPU.
 */
final class ProcStat {

  /** Clock ticks per second of /proc/PID/stat; 100 on every Linux this runs on. */
  private static final long TICKS_PER_SECOND = 100;

  private ProcStat() {
  }

  /**
   * CPU time (user + system) of the process, in nanoseconds; with {@code tree}, also its children:
   * the live ones and those that ended (PostgreSQL forks a backend per connection).
   */
  static long cpuNanos(long pid, boolean tree) {
    return ticks(pid, tree) * (1_000_000_000L / TICKS_PER_SECOND);
  }

  private static long ticks(long pid, boolean tree) {
    String[] fields = fields(pid);
    if (fields == null) {
      return 0;
    }
    // After the command name: state is field 3; utime 14, stime 15, cutime 16, cstime 17 (1-based).
    long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    if (tree) {
      ticks += Long.parseLong(fields[13]) + Long.parseLong(fields[14]);
      for (long child : children(pid)) {
        ticks += ticks(child, true);
      }
    }
    return ticks;
  }

  /** The fields after "pid (comm) ", which may itself hold spaces and parentheses. */
  private static String[] fields(long pid) {
    try {
      return afterCommand(Files.readString(Path.of("/proc", Long.toString(pid), "stat")));
    } catch (IOException e) {
      return null;
    }
  }

  private static String[] afterCommand(String stat) {
    return stat.substring(stat.lastIndexOf(')') + 2).split(" ");
  }

  private static List<Long> children(long pid) {
    List<Long> children = new ArrayList<>();
    ProcessHandle.of(pid).ifPresent(p -> p.children().forEach(c -> children.add(c.pid())));
    return children;
  }

  /**
   * CPU time of a process's live threads, in nanoseconds, by thread name with the digits taken
   * out (Linux keeps the first 15 characters), so that a pool's threads add up under one name.
   */
  static java.util.Map<String, Long> threadCpuNanos(long pid) {
    java.util.Map<String, Long> byName = new java.util.TreeMap<>();
    try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
      for (Path task : tasks.toList()) {
        try {
          String name = Files.readString(task.resolve("comm")).trim().replaceAll("[0-9]+", "N");
          String[] fields = afterCommand(Files.readString(task.resolve("stat")));
          long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
          byName.merge(name, ticks * (1_000_000_000L / TICKS_PER_SECOND), Long::sum);
        } catch (IOException e) {
          // the thread ended meanwhile
        }
      }
    } catch (IOException e) {
      return byName;
    }
    return byName;
  }

  /** Resident set size in bytes (VmRSS). */
  static long rssBytes(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException e) {
      return -1;
    }
    return -1;
  }

  /** The PostgreSQL postmaster of a data directory (first line of postmaster.pid). */
  static long postmaster(Path dataDirectory) {
    try {
      return Long.parseLong(Files.readAllLines(dataDirectory.resolve("postmaster.pid")).get(0).trim());
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("No postmaster.pid in " + dataDirectory, e);
    }
  }
}
