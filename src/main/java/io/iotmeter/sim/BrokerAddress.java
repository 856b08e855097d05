package io.iotmeter.sim;

import io.vertx.core.json.JsonObject;

/**
 * A broker a meter publishes to. The simulator's configuration lists them as {@code host:port};
 * an {@code update_config} command carries them as {@code {"host","port"}} objects.
 */
public record BrokerAddress(String host, int port) {

  public BrokerAddress {
    if (host == null || host.isBlank() || port < 1 || port > 65535) {
      throw new IllegalArgumentException("a broker is host:port with a port from 1 to 65535, not " + host + ":" + port);
    }
  }

  public static BrokerAddress parse(String hostPort) {
    int colon = hostPort == null ? -1 : hostPort.lastIndexOf(':');
    if (colon <= 0 || colon == hostPort.length() - 1) {
      throw new IllegalArgumentException("a broker is host:port, not '" + hostPort + "'");
    }
    try {
      return new BrokerAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("a broker is host:port, not '" + hostPort + "'");
    }
  }

  /** From a validated {@code update_config} entry (see {@code CommandParams}). */
  public static BrokerAddress fromJson(JsonObject json) {
    return new BrokerAddress(json.getString("host"), json.getNumber("port").intValue());
  }

  @Override
  public String toString() {
    return host + ":" + port;
  }
}
