package io.iotmeter.ops;

import io.iotmeter.bus.BusAddress;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Messages seen per address since the tap was installed, with a recent rate: per catalogue
 * entry (a family such as {@code iot.accepted.<category>} sums its members) and per concrete
 * address. Counting is one map lookup and two {@link LongAdder} increments, safe from every
 * event loop at once; rates are computed once a second by {@link #sample}, off the message path.
 *
 * <p>Concrete addresses are listed up to {@link #MAX_LISTED} per entry (and as many addresses
 * outside the catalogue): one MQTT connection is one address, so a fleet of meters reconnecting
 * would otherwise grow the map without bound. Messages beyond the listing still count in the
 * entry's total and in its {@code other_addresses_seen}.
 */
final class AddressCounters {

  static final int MAX_LISTED = 200;
  static final int RATE_WINDOW_S = 10;
  private static final int SLOTS = RATE_WINDOW_S + 1;

  /** The counter of one address or entry: a total and the totals of the last samples. */
  private static final class Counter {
    final LongAdder seen = new LongAdder();
    private final long[] history = new long[SLOTS];
    private volatile double perSecond;

    void sample(int slot, int oldest, double seconds) {
      long total = seen.sum();
      history[slot] = total;
      perSecond = seconds > 0 ? (total - history[oldest]) / seconds : 0;
    }

    JsonObject toJson() {
      return new JsonObject().put("seen", seen.sum()).put("rate_per_s", Math.round(perSecond * 100) / 100.0);
    }
  }

  /** Where a concrete address counts: its own counter and its group's total. */
  private record Route(Counter own, Counter group) {
  }

  /** The counters under one catalogue entry, or under "uncatalogued". */
  private static final class Group {
    final Counter total = new Counter();
    final Counter unlisted = new Counter();
    final AtomicInteger listed = new AtomicInteger();
    final Map<String, Counter> addresses = new ConcurrentHashMap<>();
  }

  private final Map<BusAddress, Group> entries = new EnumMap<>(BusAddress.class);
  private final Group uncatalogued = new Group();
  private final Counter replies = new Counter();
  private final Map<String, Route> routes = new ConcurrentHashMap<>();
  private final long[] sampleTimes = new long[SLOTS];
  private long samples;

  AddressCounters(long nowNanos) {
    for (BusAddress entry : BusAddress.values()) {
      entries.put(entry, new Group());
    }
    sampleTimes[0] = nowNanos;
    samples = 1;
  }

  void record(String address) {
    Route route = routes.get(address);
    if (route == null) {
      route = route(address);
    }
    route.own().seen.increment();
    route.group().seen.increment();
  }

  /** Replies go to one-off addresses: counted together, never one counter each. */
  void recordReply() {
    replies.seen.increment();
  }

  private Route route(String address) {
    BusAddress entry = entryOf(address);
    Group group = entry == null ? uncatalogued : entries.get(entry);
    if (group.listed.get() >= MAX_LISTED) {
      // Not remembered: the next message of this address takes the same way.
      return new Route(group.unlisted, group.total);
    }
    return routes.computeIfAbsent(address, a -> {
      group.listed.incrementAndGet();
      return new Route(group.addresses.computeIfAbsent(a, x -> new Counter()), group.total);
    });
  }

  /** The catalogue entry an address belongs to: its own, or the family it is a member of. */
  static BusAddress entryOf(String address) {
    for (BusAddress entry : BusAddress.values()) {
      String name = entry.address();
      int placeholder = name.indexOf('<');
      if (placeholder < 0 ? name.equals(address)
          : address.length() > placeholder && address.regionMatches(0, name, 0, placeholder)) {
        return entry;
      }
    }
    return null;
  }

  /** Takes this second's totals and recomputes every rate over the last {@link #RATE_WINDOW_S} seconds. */
  synchronized void sample(long nowNanos) {
    int slot = (int) (samples % SLOTS);
    int oldest = samples >= SLOTS - 1 ? (int) ((samples + 1) % SLOTS) : 0;
    samples++;
    sampleTimes[slot] = nowNanos;
    double seconds = (nowNanos - sampleTimes[oldest]) / 1e9;
    for (Group group : allGroups()) {
      group.total.sample(slot, oldest, seconds);
      group.unlisted.sample(slot, oldest, seconds);
      group.addresses.values().forEach(counter -> counter.sample(slot, oldest, seconds));
    }
    replies.sample(slot, oldest, seconds);
  }

  private List<Group> allGroups() {
    List<Group> all = new ArrayList<>(entries.values());
    all.add(uncatalogued);
    return all;
  }

  /**
   * The catalogue with the counters: {@code addresses} (every entry, in catalogue order),
   * {@code uncatalogued} (addresses outside the catalogue) and {@code replies}.
   */
  JsonObject toJson() {
    JsonArray catalogue = new JsonArray();
    entries.forEach((entry, group) -> catalogue.add(describe(entry).mergeIn(groupJson(group))));
    return new JsonObject()
        .put("rate_window_s", RATE_WINDOW_S)
        .put("addresses", catalogue)
        .put("uncatalogued", groupJson(uncatalogued))
        .put("replies", replies.toJson());
  }

  /** A catalogue entry as the listing shows it, without counters. */
  static JsonObject describe(BusAddress entry) {
    return new JsonObject()
        .put("address", entry.address())
        .put("family", entry.address().indexOf('<') >= 0)
        .put("delivery", entry.delivery().name().toLowerCase(Locale.ROOT))
        .put("scope", entry.scope().name().toLowerCase(Locale.ROOT))
        .put("shape", entry.shape())
        .put("producers", entry.producers())
        .put("consumers", entry.consumers())
        .put("notes", entry.notes());
  }

  private static JsonObject groupJson(Group group) {
    JsonArray addresses = new JsonArray();
    group.addresses.entrySet().stream().sorted(Map.Entry.comparingByKey(Comparator.naturalOrder()))
        .forEach(e -> addresses.add(new JsonObject().put("address", e.getKey()).mergeIn(e.getValue().toJson())));
    return group.total.toJson()
        .put("addresses", addresses)
        .put("other_addresses_seen", group.unlisted.seen.sum());
  }
}
