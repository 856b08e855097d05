package io.iotmeter.security;

import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;

import io.iotmeter.ops.TokenBucket;

import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The way into the slow-hash workers, bounded: at most {@code maxInFlight} checks running or
 * waiting, at most {@code perAddress} of them for one caller address, and at most
 * {@code perAddressPerSecond} a second from one address. A check beyond any of these is shed at once ({@link Busy}, answered 503 / CONNACK "server unavailable") instead of queued, so a
 * stranger sending bad secrets from one address cannot make everybody else wait behind his
 * hashes, and the wait of an admitted check stays under {@code maxInFlight / threads} hashes.
 * Event-loop confined (the identity verticle's).
 */
final class HashingGate {

  /** A check shed because the workers are full, or the caller's address has its share. */
  static final class Busy extends RuntimeException {
    Busy(String message) {
      super(message, null, false, false);
    }
  }

  private final WorkerExecutor workers;
  private final int maxInFlight;
  private final int perAddress;
  private final int perAddressPerSecond;
  private final Map<String, Integer> byAddress = new HashMap<>();
  /** Rates of the addresses seen lately, the oldest forgotten first beyond {@link #MAX_ADDRESSES}. */
  private final Map<String, TokenBucket> rates = new LinkedHashMap<>(16, 0.75f, true);
  static final int MAX_ADDRESSES = 10_000;
  private int inFlight;
  private long shed;

  HashingGate(WorkerExecutor workers, int maxInFlight, int perAddress, int perAddressPerSecond) {
    this.workers = workers;
    this.maxInFlight = maxInFlight;
    this.perAddress = perAddress;
    this.perAddressPerSecond = perAddressPerSecond;
  }

  <T> Future<T> submit(String address, Callable<T> check) {
    int ofAddress = byAddress.getOrDefault(address, 0);
    if (inFlight >= maxInFlight) {
      return shed("identity check busy: " + inFlight + " slow checks in flight");
    }
    if (ofAddress >= perAddress || !rate(address).tryTake(System.nanoTime())) {
      return shed("identity check busy for " + address);
    }
    inFlight++;
    byAddress.put(address, ofAddress + 1);
    return workers.executeBlocking(check, false).andThen(done -> {
      inFlight--;
      byAddress.computeIfPresent(address, (a, n) -> n <= 1 ? null : n - 1);
    });
  }

  private TokenBucket rate(String address) {
    TokenBucket bucket = rates.get(address);
    if (bucket == null) {
      if (rates.size() >= MAX_ADDRESSES) {
        Iterator<String> oldest = rates.keySet().iterator();
        oldest.next();
        oldest.remove();
      }
      bucket = new TokenBucket(perAddressPerSecond, System.nanoTime());
      rates.put(address, bucket);
    }
    return bucket;
  }

  private <T> Future<T> shed(String why) {
    shed++;
    return Future.failedFuture(new Busy(why));
  }

  /** Checks shed since the start. */
  long shed() {
    return shed;
  }

  /** Checks running or waiting now. */
  int inFlight() {
    return inFlight;
  }
}
