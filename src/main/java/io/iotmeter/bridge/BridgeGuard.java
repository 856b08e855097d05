package io.iotmeter.bridge;

import io.iotmeter.bridge.BridgePermissions.Direction;
import io.iotmeter.bridge.BridgePermissions.Permitted;
import io.iotmeter.ops.TokenBucket;
import io.iotmeter.security.KeyVerifier;
import io.iotmeter.security.Role;
import io.iotmeter.security.SecuritySettings;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Who may do what on one bridge: authenticates a connection by the API key in its frames'
 * {@code api_key} header, holds every frame against {@link BridgePermissions} and the key's
 * role, and bounds each connection (frames per second, registrations, deliveries per second)
 * and the bridge (connections). Shared by the SockJS and the TCP bridge, so both follow the
 * same rules; what it refuses is answered with a clear error frame and counted
 * ({@code iot_bridge_frames_total{bridge, outcome}}).
 *
 * <p>The first key a connection presents binds it; its frames need not repeat it. With security
 * off every connection may do everything permitted, as the REST API allows everything then.
 */
public final class BridgeGuard {

  /** A refused frame: what the client is told, and the outcome it is counted under. */
  public record Refusal(String outcome, String message) {
  }

  /** A connection refused: the bridge is full, or the client's address has its share. */
  public static final class TooManyConnections extends RuntimeException {
    TooManyConnections(String message) {
      super(message, null, false, false);
    }
  }

  private final Vertx vertx;
  private final String bridge;
  private final BridgeSettings settings;
  private final boolean secured;
  private final KeyVerifier keys;
  private final MeterRegistry metrics;
  private final Map<String, Counter> outcomes = new ConcurrentHashMap<>();
  private final Set<Connection> open = ConcurrentHashMap.newKeySet();
  /** Open connections by client host: the bridge is shared by every event loop of the node. */
  private final Map<String, Integer> byHost = new ConcurrentHashMap<>();

  /** @param bridge {@code sockjs} or {@code tcp}, for the metrics and the logs */
  public BridgeGuard(Vertx vertx, String bridge, BridgeSettings settings, SecuritySettings security, MeterRegistry metrics) {
    this.vertx = vertx;
    this.bridge = bridge;
    this.settings = settings;
    this.secured = security.enabled();
    this.metrics = metrics;
    // A deleted key loses its connections at once.
    this.keys = new KeyVerifier(vertx, security, keyId -> open.stream()
        .filter(c -> c.identity != null && keyId.equals(c.identity.keyId())).toList()
        .forEach(c -> c.closer.accept("API key revoked")));
    Gauge.builder("iot.bridge.connections", open, Set::size).tags("bridge", bridge)
        .description("Open bridge connections").register(metrics);
    for (String outcome : new String[] {"accepted", "denied", "unauthenticated", "rate_limited", "invalid", "dropped",
        "refused_connection", "login_timeout", "paused", "not_reading"}) {
      counter(outcome);
    }
  }

  public BridgeSettings settings() {
    return settings;
  }

  /**
   * A new connection; {@link TooManyConnections} (counted) when the bridge is at
   * {@code bridge.max_connections} or the client's address at {@code max_connections_per_address}.
   * With security on, it is closed unless it presents a valid key within {@code login_timeout_ms}.
   * Call on the connection's event loop.
   */
  public Connection open(SocketAddress remote, Consumer<String> closer) {
    if (open.size() >= settings.maxConnections()) {
      count("refused_connection");
      throw new TooManyConnections("too_many_connections: at most " + settings.maxConnections() + " on this bridge");
    }
    String host = hostOf(remote);
    boolean[] full = {false};
    byHost.compute(host, (h, n) -> {
      int now = n == null ? 0 : n;
      full[0] = now >= settings.maxConnectionsPerAddress();
      return full[0] ? n : now + 1;
    });
    if (full[0]) {
      count("refused_connection");
      throw new TooManyConnections("too_many_connections_from_address: at most " + settings.maxConnectionsPerAddress()
          + " from " + host + " on this bridge");
    }
    Connection connection = new Connection(remote, host, closer);
    open.add(connection);
    if (secured && settings.loginTimeoutMs() > 0) {
      vertx.setTimer(settings.loginTimeoutMs(), id -> {
        if (!connection.closed && connection.identity == null) {
          count("login_timeout");
          closer.accept("login_timeout: no valid API key within " + settings.loginTimeoutMs() + " ms");
        }
      });
    }
    return connection;
  }

  private static String hostOf(SocketAddress remote) {
    return remote == null || remote.hostAddress() == null ? "?" : remote.hostAddress();
  }

  public Future<Void> close() {
    return keys.close();
  }

  /** Counts a frame's outcome. */
  public void count(String outcome) {
    counter(outcome).increment();
  }

  private Counter counter(String outcome) {
    return outcomes.computeIfAbsent(outcome, o -> Counter.builder("iot.bridge.frames").tags("bridge", bridge, "outcome", o)
        .description("Frames from bridge clients and deliveries to them, by outcome").register(metrics));
  }

  /** One client connection's identity and bounds. Confined to the connection's event loop. */
  public final class Connection {

    private final String remote;
    /** The client's host address: what the identity verticle sheds slow checks by. */
    private final String host;
    private final Consumer<String> closer;
    private final TokenBucket inbound;
    private final TokenBucket outbound;
    private KeyVerifier.Verified identity;
    private String boundKey;
    private int failedKeys;
    private int registrations;
    private Future<Void> last = Future.succeededFuture();
    private boolean closed;

    private Connection(SocketAddress remote, String host, Consumer<String> closer) {
      this.remote = String.valueOf(remote);
      this.host = host;
      this.closer = closer;
      long now = System.nanoTime();
      this.inbound = new TokenBucket(settings.inboundPerSecond(), now);
      this.outbound = new TokenBucket(settings.outboundPerSecond(), now);
    }

    public String remote() {
      return remote;
    }

    /** The key's id, name and role, once authenticated (anonymous admin with security off). */
    public KeyVerifier.Verified identity() {
      return identity;
    }

    /**
     * Takes a frame that needs no check ({@code ping}, or one too broken to be read) out of the
     * connection's rate: false (counted {@code rate_limited}) beyond {@code bridge.inbound_per_s}.
     */
    public boolean arrived() {
      if (!inbound.tryTake(System.nanoTime())) {
        count("rate_limited");
        return false;
      }
      return true;
    }

    /**
     * Whether a client frame ({@code register}, {@code unregister}, {@code send} or {@code publish})
     * may pass; fails with a {@link Refusal}. A passing send gets the caller's identity as headers.
     */
    public Future<Void> admit(String type, String address, JsonObject headers) {
      // The rate first, as the frame arrives: so at most a second's worth of frames can wait
      // behind a key that is being checked.
      if (!inbound.tryTake(System.nanoTime())) {
        return refuse("rate_limited", "rate_limited: more than " + settings.inboundPerSecond() + " frames a second");
      }
      // One frame after the other: a frame that follows the one whose key is being checked must
      // see the outcome of that check (and the client's frames keep their order).
      Future<Void> admitted = last.transform(previous -> check(type, address, headers));
      last = admitted.transform(done -> Future.succeededFuture());
      return admitted;
    }

    private Future<Void> check(String type, String address, JsonObject headers) {
      String key = headers == null ? null : headers.getValue("api_key") instanceof String k ? k : null;
      return authenticate(key).compose(who -> {
        Direction direction = switch (type) {
          case "register", "unregister" -> Direction.RECEIVE;
          case "send" -> Direction.SEND;
          default -> null; // publish: no public address takes a publication from a client
        };
        if (direction == null) {
          return refuse("denied", "access_denied: " + type + " is not permitted on this bridge");
        }
        Permitted permitted = BridgePermissions.find(direction, address).orElse(null);
        if (permitted == null) {
          return refuse("denied", "access_denied: " + abbreviate(address) + " is not a public address for "
              + (direction == Direction.RECEIVE ? "receiving" : "sending") + " (docs/bus-bridge.md)");
        }
        if (!who.role().includes(permitted.least())) {
          return refuse("denied", "access_denied: API key '" + who.name() + "' (role " + who.role().wireName() + ") may not "
              + type + " " + address + ": it needs the " + permitted.least().wireName() + " role");
        }
        if ("register".equals(type) && registrations >= settings.maxRegistrations()) {
          return refuse("denied", "access_denied: at most " + settings.maxRegistrations() + " registrations per connection");
        }
        count("accepted");
        return Future.succeededFuture();
      });
    }

    /**
     * The caller's identity as headers for the consumer of a request ({@link #KEY_ID},
     * {@link #KEY_NAME}, {@link #ROLE}); whatever the client put in its own headers stays behind.
     */
    public Map<String, String> identityHeaders() {
      Map<String, String> headers = new java.util.LinkedHashMap<>();
      if (identity.keyId() != null) {
        headers.put(KEY_ID, identity.keyId());
      }
      headers.put(KEY_NAME, identity.name());
      headers.put(ROLE, identity.role().wireName());
      return headers;
    }

    /** Keeps count of the connection's registrations (after a register or unregister took effect). */
    public void registered(int delta) {
      registrations += delta;
    }

    private Future<KeyVerifier.Verified> authenticate(String key) {
      if (!secured) {
        identity = ANONYMOUS;
        return Future.succeededFuture(identity);
      }
      if (identity != null && (key == null || key.equals(boundKey))) {
        return Future.succeededFuture(identity);
      }
      if (identity != null) {
        return refuse("unauthenticated", "access_denied: this connection is bound to another API key");
      }
      if (key == null || key.isEmpty() || key.length() > 256) {
        return refuse("unauthenticated", "access_denied: API key required (header api_key)");
      }
      return keys.verify(key, host, true).map(verified -> {
        identity = verified;
        boundKey = key;
        return verified;
      }).recover(e -> {
        if (e instanceof KeyVerifier.KeyRefused refused && refused.status() == 401 && ++failedKeys >= settings.maxFailedKeys()) {
          closer.accept(failedKeys + " wrong API keys");
        }
        return refuse("unauthenticated", "access_denied: " + e.getMessage());
      });
    }

    /**
     * Whether a message may go out to this client now: within {@code bridge.outbound_per_s} and
     * while its socket keeps up ({@code writeQueueFull} false). A message that may not is dropped
     * for this client and counted — a slow client never holds up the bus or grows the heap.
     */
    public boolean mayDeliver(boolean writeQueueFull) {
      if (writeQueueFull || !outbound.tryTake(System.nanoTime())) {
        count("dropped");
        return false;
      }
      return true;
    }

    /** Forgets the connection (it closed). */
    public void closed() {
      if (closed) {
        return;
      }
      closed = true;
      open.remove(this);
      byHost.computeIfPresent(host, (h, n) -> n <= 1 ? null : n - 1);
    }

    public boolean isClosed() {
      return closed;
    }

    private <T> Future<T> refuse(String outcome, String message) {
      count(outcome);
      return Future.failedFuture(new RefusedFrame(new Refusal(outcome, message)));
    }
  }

  /** The failure of a refused frame. */
  public static final class RefusedFrame extends RuntimeException {
    private final Refusal refusal;

    RefusedFrame(Refusal refusal) {
      super(refusal.message(), null, false, false);
      this.refusal = refusal;
    }

    public Refusal refusal() {
      return refusal;
    }
  }

  private static final KeyVerifier.Verified ANONYMOUS = new KeyVerifier.Verified(null, "anonymous", Role.ADMIN);

  /** The identity headers a passing request carries to its consumer (a client's own are dropped). */
  public static final String KEY_ID = "iot-key-id";
  public static final String KEY_NAME = "iot-key-name";
  public static final String ROLE = "iot-role";

  private static String abbreviate(String s) {
    if (s == null) {
      return "(no address)";
    }
    return s.length() > 80 ? s.substring(0, 80) + "…" : s;
  }
}
