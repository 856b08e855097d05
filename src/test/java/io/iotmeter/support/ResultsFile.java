package io.iotmeter.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A generated table of results (the fault suite's, the benchmark's): Markdown with when, on what
 * machine and at which commit it was made, and the command that makes it again. Always written to
 * {@code target/results/<name>.md}; also to {@code <results.dir>/<name>.md} when the system
 * property {@code results.dir} names a folder (the documented long runs write {@code docs/results},
 * and the README shows that file's table — generated, never copied by hand).
 */
public final class ResultsFile {

  private ResultsFile() {
  }

  /** Writes {@code table} under a header; returns the text written. */
  public static String write(String name, String title, String command, List<String> preamble, String table) {
    StringBuilder text = new StringBuilder("# ").append(title).append("\n\n");
    text.append("Generated ").append(ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'")))
        .append(" at commit ").append(commit()).append(", on ").append(machine()).append(".\n\n");
    text.append("Made by:\n\n```bash\n").append(command).append("\n```\n\n");
    preamble.forEach(p -> text.append(p).append("\n\n"));
    text.append(table.strip()).append('\n');
    try {
      Path local = Path.of("target", "results", name + ".md");
      Files.createDirectories(local.getParent());
      Files.writeString(local, text, StandardCharsets.UTF_8);
      String published = System.getProperty("results.dir", "");
      if (!published.isBlank()) {
        Path file = Path.of(published, name + ".md");
        Files.createDirectories(file.getParent());
        Files.writeString(file, text, StandardCharsets.UTF_8);
        System.out.println("Results written to " + file.toAbsolutePath());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return text.toString();
  }

  /** The commit the code was built from, marked when the work tree differs from it. */
  public static String commit() {
    String head = run("git", "rev-parse", "--short=10", "HEAD");
    if (head.isBlank()) {
      return "(not a git checkout)";
    }
    // Only the code counts as a change of what was measured (the docs, this file among them, do not).
    String changes = run("git", "status", "--porcelain", "--untracked-files=no", "--", "src", "pom.xml", "launcher");
    return head + (changes.isBlank() ? "" : " with uncommitted changes");
  }

  /** Cores, memory, CPU model, kernel and Java of this machine. */
  public static String machine() {
    String cpu = "";
    long memKb = 0;
    try {
      cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
          .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse("");
      memKb = Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal:"))
          .map(l -> Long.parseLong(l.replaceAll("\\D", ""))).findFirst().orElse(0L);
    } catch (IOException | RuntimeException e) {
      // not Linux: the rest still says something
    }
    return String.format("%d cores%s, %.0f GiB, %s %s, Java %s", Runtime.getRuntime().availableProcessors(),
        cpu.isBlank() ? "" : " (" + cpu + ")", memKb / 1024.0 / 1024.0, System.getProperty("os.name"),
        System.getProperty("os.version"), System.getProperty("java.version"));
  }

  private static String run(String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 ? out : "";
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }
}
