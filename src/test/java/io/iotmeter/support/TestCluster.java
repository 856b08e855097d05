package io.iotmeter.support;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.UUID;
import java.util.stream.IntStream;

/**
 * A Hazelcast cluster of platform nodes on 127.0.0.1 for one test: its own name and member
 * ports, and the configuration that makes a node one of its members.
 */
public final class TestCluster {

  private final String name = "test-" + UUID.randomUUID();
  private final List<Integer> memberPorts;

  public TestCluster(int members) {
    memberPorts = IntStream.range(0, members).mapToObj(i -> FreePorts.next()).toList();
  }

  /**
   * The {@code cluster} section of member {@code index}: plaintext on loopback (the tests of bus
   * TLS and of the cluster secret set their own).
   */
  public JsonObject section(int index) {
    return new JsonObject().put("enabled", true).put("allow_plaintext", true).put("name", name).put("host", "127.0.0.1")
        .put("port", memberPorts.get(index)).put("bus_port", 0)
        .put("members", new JsonArray(memberPorts.stream().map(p -> "127.0.0.1:" + p).toList()));
  }

  /** {@code config} as member {@code index} with these roles (comma-separated), its ops port on a free port. */
  public JsonObject node(JsonObject config, int index, String roles) {
    config.put("roles", new JsonArray(List.of(roles.split(","))));
    config.put("cluster", section(index));
    config.getJsonObject("ops").put("host", "127.0.0.1").put("port", FreePorts.next());
    config.getJsonObject("deploy").put("ops", 1);
    return config;
  }
}
