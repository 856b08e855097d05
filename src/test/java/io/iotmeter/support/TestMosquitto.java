package io.iotmeter.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real Mosquitto broker (Debian's package, installed by .ci/run) as a local process on
 * 127.0.0.1, for the broker bridge tests.
 */
public final class TestMosquitto implements AutoCloseable {

  private final int port;
  private final Path config;
  private Process process;

  private TestMosquitto(int port, Path config) {
    this.port = port;
    this.config = config;
  }

  public static TestMosquitto start() {
    return start("mosquitto", dir -> List.of("allow_anonymous true", "max_inflight_messages 20", "persistence false"));
  }

  /**
   * A broker that keeps its sessions and queued messages on disk ({@code persistence true}, saved
   * every second): what a crash ({@link #kill}) may still lose is what it acknowledged since its
   * last save — Mosquitto acknowledges from memory.
   */
  public static TestMosquitto startPersistent() {
    return start("mosquitto-persistent", dir -> List.of("allow_anonymous true", "max_inflight_messages 20", "persistence true",
        "persistence_location " + dir + "/", "autosave_interval 1"));
  }

  /**
   * A broker on a free port with a configuration of its own in a fresh folder: the listener, the
   * settings {@code settings} gives for that folder, and the common ones.
   */
  private static TestMosquitto start(String name, SettingsFor settings) {
    try {
      int port = FreePorts.next();
      Path dir = Files.createTempDirectory(name);
      Path config = dir.resolve("mosquitto.conf");
      List<String> lines = new java.util.ArrayList<>();
      lines.add("listener " + port + " 127.0.0.1");
      lines.addAll(settings.of(dir));
      lines.addAll(List.of("max_queued_messages 100000",
          // As root, Mosquitto would switch to a 'mosquitto' user that may lack access to the temp folder.
          "user root", "log_dest stdout", "log_type error", "log_type warning", ""));
      Files.writeString(config, String.join("\n", lines));
      TestMosquitto broker = new TestMosquitto(port, config);
      broker.launch();
      return broker;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The broker-specific lines of a configuration, given its folder. */
  @FunctionalInterface
  private interface SettingsFor {
    List<String> of(Path dir) throws IOException;
  }

  /**
   * A broker without anonymous access whose users and ACLs are Mosquitto's dynamic-security
   * plugin (Debian's {@code mosquitto_dynamic_security.so}), starting from {@code seed} (a copy:
   * the plugin rewrites its file).
   */
  public static TestMosquitto startWithDynamicSecurity(Path seed) {
    Path plugin = java.util.stream.Stream.of("/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
            "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so", "/usr/lib/mosquitto_dynamic_security.so")
        .map(Path::of).filter(Files::isReadable).findFirst()
        .orElseThrow(() -> new IllegalStateException("mosquitto_dynamic_security.so not found (apt-get install mosquitto)"));
    return start("mosquitto-dynsec", dir -> List.of("persistence false", "allow_anonymous false", "per_listener_settings false", "plugin " + plugin,
        "plugin_opt_config_file " + Files.copy(seed, dir.resolve("dynamic-security.json"))));
  }

  /** A broker that speaks MQTT over TLS only, with this PEM certificate and key (anonymous clients allowed). */
  public static TestMosquitto startWithTls(Path cert, Path key) {
    return start("mosquitto-tls", dir -> List.of("persistence false", "certfile " + cert, "keyfile " + key, "allow_anonymous true"));
  }

  /** The installed Mosquitto's version ("2.0.11"), or "" when it cannot tell. */
  public static String version() {
    try {
      String binary = Files.isExecutable(Path.of("/usr/sbin/mosquitto")) ? "/usr/sbin/mosquitto" : "mosquitto";
      Process p = new ProcessBuilder(binary, "-h").redirectErrorStream(true).start();
      String text = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      p.waitFor();
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("version ([0-9.]+)").matcher(text);
      return m.find() ? m.group(1) : "";
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }

  public int port() {
    return port;
  }

  public String address() {
    return "127.0.0.1:" + port;
  }

  /** Stops the broker process (its in-memory sessions and queues are gone). */
  public void stop() {
    if (process != null) {
      process.destroy();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      process = null;
    }
  }

  /**
   * A crash: SIGKILL, and waits until the process is gone. Returns the pid it had, so that a
   * test can show the process really ended.
   */
  public long kill() {
    long pid = process.pid();
    process.destroyForcibly();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("mosquitto " + pid + " survived SIGKILL");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    process = null;
    return pid;
  }

  /** Starts the broker again on the same port and configuration (after {@link #kill}: from what it had saved). */
  public void relaunch() {
    if (process == null) {
      launch();
    }
  }

  /** Starts the broker again on the same port. */
  public void restart() {
    stop();
    launch();
  }

  @Override
  public void close() {
    stop();
  }

  private void launch() {
    try {
      // Debian installs it in /usr/sbin, which a non-root PATH may not include.
      String binary = Files.isExecutable(Path.of("/usr/sbin/mosquitto")) ? "/usr/sbin/mosquitto" : "mosquitto";
      process = new ProcessBuilder(binary, "-c", config.toString())
          .redirectErrorStream(true)
          .redirectOutput(config.resolveSibling("mosquitto.log").toFile())
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot start mosquitto (apt-get install mosquitto)", e);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return;
      } catch (IOException notYet) {
        if (!process.isAlive()) {
          throw new IllegalStateException("mosquitto exited: see " + config.resolveSibling("mosquitto.log"));
        }
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
    throw new IllegalStateException("mosquitto did not listen on " + port);
  }
}
