package io.iotmeter.mqtt;

import io.iotmeter.support.FreePorts;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetSocket;
import io.vertx.mqtt.MqttClient;
import io.vertx.mqtt.MqttServer;
import io.vertx.mqtt.MqttServerOptions;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The endpoint's socket is reachable in this vertx-mqtt version (else back-pressure degrades to disconnecting). */
class EndpointSocketTest {

  @Test
  void aRealEndpointHasItsSocket() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      int port = FreePorts.next();
      CompletableFuture<NetSocket> socket = new CompletableFuture<>();
      MqttServer.create(vertx, new MqttServerOptions().setHost("127.0.0.1").setPort(port)).endpointHandler(endpoint -> {
        socket.complete(EndpointSocket.of(endpoint));
        endpoint.accept(false);
      }).listen().await();
      MqttClient.create(vertx).connect(port, "127.0.0.1").await();
      NetSocket found = socket.get(10, TimeUnit.SECONDS);
      assertThat(found).isNotNull();
      assertThat(found.writeQueueFull()).isFalse();
    } finally {
      vertx.close().await();
    }
  }
}
