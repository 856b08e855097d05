package io.iotmeter.bench;

import io.vertx.core.json.JsonObject;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.Writer;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A process of the benchmark: a JVM on the test classpath ({@link #java}) or any program
 * ({@link #program}). Lines it prints as {@code @TAG {json}} are its reports; everything else goes
 * to its log file, which an error message names.
 */
final class Child implements AutoCloseable {

  private final String name;
  private final Process process;
  private final Path log;
  private final BlockingQueue<String> reports = new LinkedBlockingQueue<>();
  private final PrintWriter stdin;
  /** JVMs of ours stop cleanly on "quit"; other programs get SIGTERM. */
  private final boolean quitOnStdin;

  private Child(String name, List<String> command, Path logDir, boolean quitOnStdin) throws IOException {
    this.name = name;
    this.quitOnStdin = quitOnStdin;
    this.log = logDir.resolve(name + ".log");
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    this.process = builder.start();
    this.stdin = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
    Writer logFile = Files.newBufferedWriter(log, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
    Thread reader = new Thread(() -> {
      try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
           logFile) {
        for (String line; (line = out.readLine()) != null; ) {
          if (line.startsWith("@")) {
            reports.add(line);
          } else {
            logFile.write(line);
            logFile.write('\n');
            logFile.flush();
          }
        }
      } catch (IOException e) {
        // the process ended
      }
    }, "bench-" + name);
    reader.setDaemon(true);
    reader.start();
  }

  /** A JVM running {@code mainClass} on the benchmark's own classpath. */
  static Child java(String name, Path logDir, List<String> jvmOptions, Class<?> mainClass, String... args)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmOptions);
    command.add("-cp");
    command.add(classpath());
    command.add(mainClass.getName());
    command.addAll(Arrays.asList(args));
    return new Child(name, command, logDir, true);
  }

  static Child program(String name, Path logDir, String... command) throws IOException {
    return new Child(name, List.of(command), logDir, false);
  }

  /**
   * The classpath this program runs on: under {@code exec:java} it is the plugin's class loader's,
   * not {@code java.class.path} (which then is Maven's own).
   */
  private static String classpath() {
    if (Thread.currentThread().getContextClassLoader() instanceof URLClassLoader loader) {
      String urls = Arrays.stream(loader.getURLs()).map(url -> {
        try {
          return Path.of(url.toURI()).toString();
        } catch (java.net.URISyntaxException e) {
          throw new IllegalStateException(e);
        }
      }).collect(Collectors.joining(java.io.File.pathSeparator));
      if (!urls.isEmpty()) {
        return urls;
      }
    }
    return System.getProperty("java.class.path");
  }

  long pid() {
    return process.pid();
  }

  void send(String command) {
    stdin.println(command);
  }

  /** The next report with that tag; fails when the process ends first or the time runs out. */
  JsonObject await(String tag, long timeout, TimeUnit unit) throws InterruptedException {
    long deadline = System.nanoTime() + unit.toNanos(timeout);
    while (System.nanoTime() < deadline) {
      String line = reports.poll(200, TimeUnit.MILLISECONDS);
      if (line != null && line.startsWith("@" + tag + " ")) {
        return new JsonObject(line.substring(tag.length() + 2));
      }
      if (line == null && !process.isAlive()) {
        throw new IllegalStateException(name + " ended (exit " + process.exitValue() + ") before reporting " + tag
            + "; its output: " + log);
      }
    }
    throw new IllegalStateException(name + " did not report " + tag + " within " + unit.toSeconds(timeout)
        + " s; its output: " + log);
  }

  /** Asks the process to quit (stdin, or SIGTERM), and ends it when it does not. */
  @Override
  public void close() {
    if (quitOnStdin) {
      send("quit");
    } else {
      process.destroy();
    }
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
