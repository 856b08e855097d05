package io.iotmeter.ops;

import io.vertx.core.Vertx;

import java.util.UUID;

/**
 * This node's name in what it reports to others (live ingest rates, the cluster-wide bus tap):
 * the host and a short id of its Vert.x instance — unique also for two nodes in one JVM (tests),
 * and stable while the node runs.
 */
public final class NodeName {

  private NodeName() {
  }

  public static String of(Vertx vertx) {
    return (String) vertx.sharedData().getLocalMap("iot.node").computeIfAbsent("name", k -> host() + "/"
        + UUID.randomUUID().toString().substring(0, 8));
  }

  private static String host() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      return "node";
    }
  }
}
