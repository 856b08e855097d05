package io.iotmeter.mqtt;

import io.iotmeter.Main;
import io.iotmeter.bus.BusAddress;
import io.iotmeter.support.FreePorts;
import io.iotmeter.support.Profiles;
import io.iotmeter.support.RawMqtt5Client;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.eclipse.paho.mqttv5.common.packet.UserProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The device endpoint's MQTT 5 features, each against a strict MQTT 5 client (Eclipse Paho's
 * Java client) or, where a test must set or see the exact bytes (topic aliases, more messages
 * than allowed, a packet too large), {@link RawMqtt5Client}. The endpoint runs alone with a fake
 * intake that takes every message at once (as DeviceConnectionAckTest), security off: the
 * identity rules for MQTT 5 clients are {@code Mqtt5SecuredEndpointTest}'s. Each test starts its
 * own Vert.x, so that it can set the bounds it needs.
 */
@Timeout(60)
class Mqtt5EndpointTest {

  private static final String TOPIC = "iot/paho/TopicA";

  private Vertx vertx;
  private int port;
  private final List<AutoCloseable> open = new ArrayList<>();

  /** A message as a client received it. */
  private record Received(String topic, MqttMessage message) {
    String text() {
      return new String(message.getPayload(), StandardCharsets.UTF_8);
    }
  }

  /** A Paho MQTT 5 client and what it received. */
  private final class V5 implements AutoCloseable {
    final MqttAsyncClient client;
    final LinkedBlockingQueue<Received> messages = new LinkedBlockingQueue<>();
    final List<MqttDisconnectResponse> disconnects = new CopyOnWriteArrayList<>();
    IMqttToken connack;

    V5(String clientId, Consumer<MqttConnectionOptions> settings) throws MqttException {
      client = new MqttAsyncClient("tcp://127.0.0.1:" + port, clientId, new MemoryPersistence());
      client.setCallback(new MqttCallback() {
        @Override
        public void disconnected(MqttDisconnectResponse response) {
          disconnects.add(response);
        }

        @Override
        public void mqttErrorOccurred(MqttException exception) {
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) {
          messages.add(new Received(topic, message));
        }

        @Override
        public void deliveryComplete(IMqttToken token) {
        }

        @Override
        public void connectComplete(boolean reconnect, String serverURI) {
        }

        @Override
        public void authPacketArrived(int reasonCode, MqttProperties properties) {
        }
      });
      open.add(this);
      connect(settings);
    }

    void connect(Consumer<MqttConnectionOptions> settings) throws MqttException {
      MqttConnectionOptions options = new MqttConnectionOptions();
      options.setCleanStart(true);
      options.setUseSubscriptionIdentifiers(false);
      settings.accept(options);
      connack = client.connect(options);
      connack.waitForCompletion(5000);
    }

    int[] subscribe(MqttSubscription... subscriptions) throws MqttException {
      IMqttToken token = client.subscribe(subscriptions);
      token.waitForCompletion(5000);
      return token.getReasonCodes();
    }

    int[] subscribe(int identifier, MqttSubscription... subscriptions) throws MqttException {
      MqttProperties properties = new MqttProperties();
      properties.setSubscriptionIdentifier(identifier);
      IMqttToken token = client.subscribe(subscriptions, null, null, properties);
      token.waitForCompletion(5000);
      return token.getReasonCodes();
    }

    void publish(String topic, String payload, int qos, boolean retain, MqttProperties properties) throws MqttException {
      MqttMessage message = new MqttMessage(payload.getBytes(StandardCharsets.UTF_8), qos, retain, properties);
      client.publish(topic, message).waitForCompletion(5000);
    }

    void publish(String topic, String payload, int qos) throws MqttException {
      publish(topic, payload, qos, false, new MqttProperties());
    }

    Received next() throws InterruptedException {
      Received received = messages.poll(5, TimeUnit.SECONDS);
      assertThat(received).as("a message within 5 s").isNotNull();
      return received;
    }

    List<Received> within(Duration window) throws InterruptedException {
      Thread.sleep(window.toMillis());
      List<Received> all = new ArrayList<>();
      messages.drainTo(all);
      return all;
    }

    void disconnect() throws MqttException {
      client.disconnect().waitForCompletion(5000);
    }

    void disconnect(MqttProperties properties) throws MqttException {
      client.disconnect(1000, null, null, 0, properties).waitForCompletion(5000);
    }

    /** Drops the connection without DISCONNECT: to the server the client vanished. */
    void vanish() throws MqttException {
      client.disconnectForcibly(0, 100, false);
    }

    @Override
    public void close() throws Exception {
      if (client.isConnected()) {
        client.disconnectForcibly(0, 100, false);
      }
      client.close(true);
    }
  }

  private void start(JsonObject mqttSettings) {
    JsonObject config = Profiles.load("embedded").copy();
    port = FreePorts.next();
    config.getJsonObject("mqtt").put("port", port).mergeIn(mqttSettings);
    config.getJsonObject("security").put("enabled", false).put("allow_default_secrets", true);
    vertx = Main.createVertx(config).await();
    // The intake takes every message at once: what is under test is the endpoint.
    vertx.eventBus().localConsumer(BusAddress.INBOUND.address(), request -> request.reply(
        new JsonObject().put("outcome", "accepted"))).completion().await();
    endpointDeployment = vertx.deployVerticle(new MqttServerVerticle(), new DeploymentOptions().setConfig(config)).await();
  }

  private String endpointDeployment;

  private void start() {
    start(new JsonObject());
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : open) {
      try {
        c.close();
      } catch (Exception ignored) {
        // already closed by the test
      }
    }
    if (vertx != null) {
      vertx.close().await();
    }
  }

  private RawMqtt5Client raw(String clientId, Buffer properties) {
    RawMqtt5Client client = RawMqtt5Client.connect(vertx, port, clientId, 0, properties);
    open.add(client);
    return client;
  }

  private static MqttSubscription subscription(String filter, int qos) {
    return new MqttSubscription(filter, qos);
  }

  @Test
  void aStrictV5ClientReceivesWhatItSubscribedToAtEveryQos() throws Exception {
    start();
    V5 a = new V5("myclientid", o -> { });
    assertThat(a.subscribe(subscription(TOPIC, 2))).containsExactly(2);
    a.publish(TOPIC, "qos 0", 0);
    a.publish(TOPIC, "qos 1", 1);
    a.publish(TOPIC, "qos 2", 2);
    List<Integer> qos = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      qos.add(a.next().message().getQos());
    }
    assertThat(qos).containsExactlyInAnyOrder(0, 1, 2);
  }

  @Test
  void messagePropertiesReachSubscribersAndStayWithRetainedMessages() throws Exception {
    start();
    V5 subscriber = new V5("sub", o -> { });
    subscriber.subscribe(subscription(TOPIC, 2));
    V5 publisher = new V5("pub", o -> { });
    MqttProperties properties = new MqttProperties();
    properties.setUserProperties(List.of(new UserProperty("a", "2"), new UserProperty("c", "3"), new UserProperty("a", "4")));
    properties.setPayloadFormat(true);
    properties.setContentType("application/json");
    properties.setResponseTopic("iot/paho/reply");
    properties.setCorrelationData(new byte[] {3, 3, 4});
    publisher.publish(TOPIC, "{\"v\":2}", 1, true, properties);

    MqttProperties received = subscriber.next().message().getProperties();
    assertThat(received.getUserProperties()).containsExactly(
        new UserProperty("a", "2"), new UserProperty("c", "3"), new UserProperty("a", "4"));
    assertThat(received.getPayloadFormat()).isTrue();
    assertThat(received.getContentType()).isEqualTo("application/json");
    assertThat(received.getResponseTopic()).isEqualTo("iot/paho/reply");
    assertThat(received.getCorrelationData()).containsExactly(3, 3, 4);

    V5 late = new V5("late", o -> { });
    late.subscribe(subscription(TOPIC, 1));
    Received retained = late.next();
    assertThat(retained.message().isRetained()).isTrue();
    assertThat(retained.message().getProperties().getUserProperties()).hasSize(3);
    assertThat(retained.message().getProperties().getContentType()).isEqualTo("application/json");
  }

  @Test
  void theClientChoosesItsSessionExpiryWithinTheConfiguredBound() throws Exception {
    start(new JsonObject().put("session_expiry_s", 30));
    V5 a = new V5("expiring", o -> o.setSessionExpiryInterval(2L));
    assertThat(a.connack.getResponseProperties().getSessionExpiryInterval()).as("granted as asked: not told").isNull();
    a.subscribe(subscription(TOPIC, 1));
    a.disconnect();
    a.connect(o -> {
      o.setCleanStart(false);
      o.setSessionExpiryInterval(2L);
    });
    assertThat(a.connack.getSessionPresent()).as("back within 2 s").isTrue();
    a.disconnect();
    Thread.sleep(3000);
    a.connect(o -> o.setCleanStart(false));
    assertThat(a.connack.getSessionPresent()).as("back after 3 s").isFalse();
    a.disconnect();

    a.connect(o -> o.setSessionExpiryInterval(100_000L));
    assertThat(a.connack.getResponseProperties().getSessionExpiryInterval()).as("cut to mqtt.session_expiry_s").isEqualTo(30);
    a.subscribe(subscription(TOPIC, 1));
    MqttProperties endNow = new MqttProperties();
    endNow.setSessionExpiryInterval(0L);
    a.disconnect(endNow);
    a.connect(o -> o.setCleanStart(false));
    assertThat(a.connack.getSessionPresent()).as("DISCONNECT set its expiry to 0").isFalse();
    a.subscribe(subscription(TOPIC, 1));
    a.disconnect();
    a.connect(o -> o.setCleanStart(false));
    assertThat(a.connack.getSessionPresent()).as("no session expiry: the session ended with the connection").isFalse();
  }

  @Test
  void expiredMessagesAreNotDeliveredAndTheOthersCarryTheIntervalLeft() throws Exception {
    start();
    V5 offline = new V5("offline", o -> o.setSessionExpiryInterval(600L));
    offline.subscribe(subscription(TOPIC, 2));
    offline.disconnect();
    V5 publisher = new V5("pub", o -> { });
    MqttProperties shortLived = new MqttProperties();
    shortLived.setMessageExpiryInterval(1L);
    MqttProperties longLived = new MqttProperties();
    longLived.setMessageExpiryInterval(60L);
    publisher.publish(TOPIC, "expires", 1, false, shortLived);
    publisher.publish(TOPIC, "stays", 2, false, longLived);
    Thread.sleep(2100);
    offline.connect(o -> {
      o.setCleanStart(false);
      o.setSessionExpiryInterval(600L);
    });
    List<Received> received = offline.within(Duration.ofSeconds(2));
    assertThat(received).extracting(Received::text).containsExactly("stays");
    assertThat(received.get(0).message().getProperties().getMessageExpiryInterval()).isBetween(1L, 58L);
  }

  @Test
  void noLocalRetainAsPublishedAndRetainHandling() throws Exception {
    start();
    V5 a = new V5("a", o -> { });
    V5 b = new V5("b", o -> { });
    MqttSubscription noLocal = subscription(TOPIC, 1);
    noLocal.setNoLocal(true);
    a.subscribe(noLocal);
    b.subscribe(subscription(TOPIC, 1));
    a.publish(TOPIC, "from a", 1);
    assertThat(b.next().text()).isEqualTo("from a");
    assertThat(a.within(Duration.ofMillis(500))).as("no local").isEmpty();

    MqttSubscription asPublished = subscription("iot/paho/rap", 1);
    asPublished.setRetainAsPublished(true);
    a.subscribe(asPublished);
    b.subscribe(subscription("iot/paho/rap", 1));
    b.publish("iot/paho/rap", "retained", 1, true, new MqttProperties());
    assertThat(a.next().message().isRetained()).as("retain as published").isTrue();
    assertThat(b.next().message().isRetained()).as("a plain subscription: not retained").isFalse();

    MqttSubscription ifNew = subscription("iot/paho/rap", 1);
    ifNew.setRetainHandling(1);
    V5 c = new V5("c", o -> { });
    c.subscribe(ifNew);
    assertThat(c.next().message().isRetained()).as("retain handling 1, a new subscription").isTrue();
    c.subscribe(ifNew);
    assertThat(c.within(Duration.ofMillis(500))).as("retain handling 1, the subscription existed").isEmpty();
    MqttSubscription never = subscription("iot/paho/+", 1);
    never.setRetainHandling(2);
    c.subscribe(never);
    assertThat(c.within(Duration.ofMillis(500))).as("retain handling 2").isEmpty();
    MqttSubscription always = subscription("iot/paho/rap", 1);
    c.subscribe(always);
    assertThat(c.next().message().isRetained()).as("retain handling 0, again").isTrue();
  }

  @Test
  void everyMatchingSubscriptionIdentifierComesWithTheMessage() throws Exception {
    start();
    V5 b = new V5("b", o -> { });
    b.subscribe(2, subscription(TOPIC, 2));
    b.subscribe(3, subscription(TOPIC + "/#", 2));
    b.subscribe(subscription("iot/paho/+", 1)); // none: adds no identifier
    b.publish(TOPIC, "sub identifier test", 1);
    Received received = b.next();
    assertThat(received.message().getProperties().getSubscriptionIdentifiers()).containsExactlyInAnyOrder(2, 3);
    assertThat(b.within(Duration.ofMillis(300))).as("one message for the three subscriptions").isEmpty();
  }

  @Test
  void topicAliasesFromTheClientAreResolvedAndBounded() throws Exception {
    start(new JsonObject().put("topic_alias_maximum", 2));
    V5 subscriber = new V5("sub", o -> { });
    subscriber.subscribe(subscription(TOPIC, 1));
    RawMqtt5Client client = raw("aliaser", Buffer.buffer());
    assertThat(client.connack().connackProperties()).containsEntry(RawMqtt5Client.TOPIC_ALIAS_MAXIMUM, 2L);
    Buffer alias1 = RawMqtt5Client.property(RawMqtt5Client.TOPIC_ALIAS, 2, 1);
    client.publish(TOPIC, 1, 1, alias1, "with topic".getBytes(StandardCharsets.UTF_8));
    client.publish("", 1, 2, alias1, "alias only".getBytes(StandardCharsets.UTF_8));
    assertThat(client.await(RawMqtt5Client.PUBACK, Duration.ofSeconds(5)).packetId()).isEqualTo(1);
    assertThat(client.await(RawMqtt5Client.PUBACK, Duration.ofSeconds(5)).packetId()).isEqualTo(2);
    assertThat(List.of(subscriber.next(), subscriber.next())).extracting(Received::topic).containsOnly(TOPIC);

    client.publish(TOPIC, 1, 3, RawMqtt5Client.property(RawMqtt5Client.TOPIC_ALIAS, 2, 3), new byte[1]);
    assertThat(client.await(RawMqtt5Client.DISCONNECT, Duration.ofSeconds(5)).reasonCode()).as("above the maximum")
        .isEqualTo(0x94);
    RawMqtt5Client zero = raw("zero", Buffer.buffer());
    zero.publish(TOPIC, 0, 0, RawMqtt5Client.property(RawMqtt5Client.TOPIC_ALIAS, 2, 0), new byte[1]);
    assertThat(zero.await(RawMqtt5Client.DISCONNECT, Duration.ofSeconds(5)).reasonCode()).as("alias 0").isEqualTo(0x94);
    RawMqtt5Client unknown = raw("unknown", Buffer.buffer());
    unknown.publish("", 0, 0, alias1, new byte[1]);
    assertThat(unknown.await(RawMqtt5Client.DISCONNECT, Duration.ofSeconds(5)).reasonCode()).as("never set: protocol error")
        .isEqualTo(0x82);
  }

  @Test
  void topicAliasesToTheClientWithinItsMaximum() throws Exception {
    start();
    RawMqtt5Client client = raw("receiver", RawMqtt5Client.property(RawMqtt5Client.TOPIC_ALIAS_MAXIMUM, 2, 1));
    client.subscribeAndAwait(1, "iot/paho/#", 0);
    V5 publisher = new V5("pub", o -> { });
    publisher.publish(TOPIC, "1", 0);
    publisher.publish(TOPIC, "2", 0);
    publisher.publish("iot/paho/other", "3", 0);
    RawMqtt5Client.Packet first = client.await(RawMqtt5Client.PUBLISH, Duration.ofSeconds(5));
    RawMqtt5Client.Packet second = client.await(RawMqtt5Client.PUBLISH, Duration.ofSeconds(5));
    RawMqtt5Client.Packet third = client.await(RawMqtt5Client.PUBLISH, Duration.ofSeconds(5));
    assertThat(first.topic()).isEqualTo(TOPIC);
    assertThat(first.integerProperties()).containsEntry(RawMqtt5Client.TOPIC_ALIAS, 1L);
    assertThat(second.topic()).as("the alias stands for the topic").isEmpty();
    assertThat(second.integerProperties()).containsEntry(RawMqtt5Client.TOPIC_ALIAS, 1L);
    assertThat(third.topic()).as("its one alias is taken").isEqualTo("iot/paho/other");
    assertThat(third.integerProperties()).doesNotContainKey(RawMqtt5Client.TOPIC_ALIAS);
  }

  @Test
  void maximumPacketSizeBothWays() throws Exception {
    start(new JsonObject().put("max_message_bytes", 4096));
    RawMqtt5Client small = raw("small", RawMqtt5Client.property(RawMqtt5Client.MAXIMUM_PACKET_SIZE, 4, 100));
    assertThat(small.connack().connackProperties()).containsEntry(RawMqtt5Client.MAXIMUM_PACKET_SIZE, 4096L);
    small.subscribeAndAwait(1, TOPIC, 1);
    V5 publisher = new V5("pub", o -> { });
    publisher.publish(TOPIC, ".".repeat(200), 1);
    publisher.publish(TOPIC, ".".repeat(20), 1);
    RawMqtt5Client.Packet delivered = small.await(RawMqtt5Client.PUBLISH, Duration.ofSeconds(5));
    assertThat(delivered.body().length()).as("only the one that fits").isLessThan(100);
    small.puback(delivered.publishPacketId());
    assertThat(small.count(RawMqtt5Client.PUBLISH, Duration.ofMillis(500))).isZero();

    RawMqtt5Client big = raw("big", Buffer.buffer());
    big.publish(TOPIC, 0, 0, Buffer.buffer(), new byte[5000]);
    assertThat(big.await(RawMqtt5Client.DISCONNECT, Duration.ofSeconds(5)).reasonCode()).as("packet too large")
        .isEqualTo(0x95);
  }

  @Test
  void aClientAskingForALongerKeepAliveIsToldTheServers() throws Exception {
    start(new JsonObject().put("server_keep_alive_s", 1));
    V5 asking = new V5("asking", o -> o.setKeepAliveInterval(120));
    assertThat(asking.connack.getResponseProperties().getServerKeepAlive()).isEqualTo(1);
    RawMqtt5Client silent = RawMqtt5Client.connect(vertx, port, "silent", 0, Buffer.buffer());
    open.add(silent);
    assertThat(silent.connack().connackProperties()).containsEntry(0x13, 1L);
    // Told 1 s, it sends nothing: closed after 1.5 s, with the reason.
    assertThat(silent.await(RawMqtt5Client.DISCONNECT, Duration.ofSeconds(5)).reasonCode()).isEqualTo(0x8D);
    RawMqtt5Client modest = RawMqtt5Client.connect(vertx, port, "modest", 1, Buffer.buffer());
    open.add(modest);
    assertThat(modest.connack().connackProperties()).as("asked for less: its own").doesNotContainKey(0x13);
  }

  @Test
  void receiveMaximumBothWays() throws Exception {
    start(new JsonObject().put("receive_maximum", 5));
    RawMqtt5Client slow = raw("slow", RawMqtt5Client.property(RawMqtt5Client.RECEIVE_MAXIMUM, 2, 2));
    assertThat(slow.connack().connackProperties()).containsEntry(RawMqtt5Client.RECEIVE_MAXIMUM, 5L);
    slow.subscribeAndAwait(1, TOPIC, 1);
    V5 publisher = new V5("pub", o -> { });
    for (int i = 1; i <= 3; i++) {
      publisher.publish(TOPIC, "message " + i, 1);
    }
    RawMqtt5Client.Packet first = slow.await(RawMqtt5Client.PUBLISH, Duration.ofSeconds(5));
    slow.await(RawMqtt5Client.PUBLISH, Duration.ofSeconds(5));
    assertThat(slow.count(RawMqtt5Client.PUBLISH, Duration.ofMillis(500))).as("its receive maximum, 2").isZero();
    slow.puback(first.publishPacketId());
    slow.await(RawMqtt5Client.PUBLISH, Duration.ofSeconds(5));

    RawMqtt5Client greedy = raw("greedy", Buffer.buffer());
    for (int id = 1; id <= 6; id++) {
      greedy.publish(TOPIC, 2, id, Buffer.buffer(), new byte[1]); // no PUBREL: all six stay unacknowledged
    }
    assertThat(greedy.await(RawMqtt5Client.DISCONNECT, Duration.ofSeconds(5)).reasonCode()).as("receive maximum exceeded")
        .isEqualTo(0x93);
  }

  @Test
  void aWillWaitsForItsDelayAndNotForAClientThatCameBack() throws Exception {
    start();
    V5 watcher = new V5("watcher", o -> { });
    watcher.subscribe(subscription("iot/paho/will", 1));
    MqttProperties delay = new MqttProperties();
    delay.setWillDelayInterval(2L);
    Consumer<MqttConnectionOptions> withWill = o -> {
      o.setSessionExpiryInterval(60L);
      o.setWill("iot/paho/will", new MqttMessage("gone".getBytes(StandardCharsets.UTF_8), 1, false, new MqttProperties()));
      o.setWillMessageProperties(delay);
    };
    V5 leaving = new V5("leaving", withWill);
    long vanished = System.nanoTime();
    leaving.vanish();
    assertThat(watcher.next().text()).isEqualTo("gone");
    assertThat(Duration.ofNanos(System.nanoTime() - vanished)).as("after its delay").isBetween(
        Duration.ofMillis(1800), Duration.ofMillis(4500));

    V5 returning = new V5("returning", withWill);
    returning.vanish();
    Thread.sleep(500);
    returning.connect(o -> o.setCleanStart(false));
    assertThat(watcher.within(Duration.ofSeconds(3))).as("back before the delay: no will").isEmpty();

    V5 asking = new V5("asking", o -> o.setWill("iot/paho/will",
        new MqttMessage("asked for".getBytes(StandardCharsets.UTF_8), 1, false, new MqttProperties())));
    asking.client.disconnect(1000, null, null, 0x04, new MqttProperties()).waitForCompletion(5000);
    assertThat(watcher.next().text()).as("DISCONNECT 0x04: with will message").isEqualTo("asked for");

    MqttProperties longDelay = new MqttProperties();
    longDelay.setWillDelayInterval(30L);
    V5 shortSession = new V5("short", o -> {
      o.setSessionExpiryInterval(1L);
      o.setWill("iot/paho/will", new MqttMessage("ended".getBytes(StandardCharsets.UTF_8), 1, false, new MqttProperties()));
      o.setWillMessageProperties(longDelay);
    });
    shortSession.vanish();
    assertThat(watcher.next().text()).as("the session's end comes first").isEqualTo("ended");
  }

  @Test
  void aClientWithoutAnIdIsAssignedOne() throws Exception {
    start();
    V5 anonymous = new V5("", o -> { });
    String assigned = anonymous.connack.getResponseProperties().getAssignedClientIdentifier();
    assertThat(assigned).startsWith("auto-");
    assertThat(anonymous.subscribe(subscription(TOPIC, 1))).containsExactly(1);
  }

  @Test
  void aSharedSubscriptionGivesEachMessageToOneMember() throws Exception {
    start();
    V5 a = new V5("a", o -> { });
    V5 b = new V5("b", o -> { });
    String shared = "$share/group/iot/paho/x";
    assertThat(a.subscribe(subscription(shared, 1))).containsExactly(1);
    assertThat(b.subscribe(subscription(shared, 1))).containsExactly(1);
    V5 publisher = new V5("pub", o -> { });
    for (int i = 0; i < 10; i++) {
      publisher.publish("iot/paho/x", "m" + i, 1);
    }
    List<Received> toA = a.within(Duration.ofSeconds(1));
    List<Received> toB = b.within(Duration.ofMillis(10));
    assertThat(toA).isNotEmpty();
    assertThat(toB).isNotEmpty();
    List<String> all = new ArrayList<>();
    toA.forEach(r -> all.add(r.text()));
    toB.forEach(r -> all.add(r.text()));
    assertThat(all).hasSize(10).doesNotHaveDuplicates();
    assertThat(toA).extracting(Received::topic).containsOnly("iot/paho/x");

    a.client.unsubscribe(shared).waitForCompletion(5000);
    publisher.publish("iot/paho/x", "to b", 1);
    assertThat(b.next().text()).isEqualTo("to b");
    assertThat(a.within(Duration.ofMillis(300))).isEmpty();
  }

  @Test
  void everyAcknowledgementCarriesItsReasonCode() throws Exception {
    start(new JsonObject().put("max_subscriptions", 3));
    RawMqtt5Client client = raw("codes", Buffer.buffer());
    client.publish("elsewhere/x", 1, 1, Buffer.buffer(), new byte[1]);
    assertThat(client.await(RawMqtt5Client.PUBACK, Duration.ofSeconds(5)).reasonCode()).as("topic name invalid").isEqualTo(0x90);
    client.publish("elsewhere/y", 2, 10, Buffer.buffer(), new byte[1]);
    assertThat(client.await(RawMqtt5Client.PUBREC, Duration.ofSeconds(5)).reasonCode()).as("QoS 2: topic name invalid")
        .isEqualTo(0x90);
    client.publish("iot/paho/nobody", 1, 2, Buffer.buffer(), new byte[1]);
    assertThat(client.await(RawMqtt5Client.PUBACK, Duration.ofSeconds(5)).reasonCode()).as("no matching subscribers")
        .isEqualTo(0x10);
    assertThat(client.subscribeAndAwait(3, "iot/a#", 1)).as("topic filter invalid")
        .isEqualTo(0x8F);
    assertThat(client.subscribeAndAwait(4, "test/nosubscribe", 1)).as("outside iot/")
        .isEqualTo(0x80);
    for (int i = 0; i < 3; i++) {
      assertThat(client.subscribeAndAwait(5 + i, "iot/paho/" + i, 1)).isEqualTo(1);
    }
    assertThat(client.subscribeAndAwait(8, "iot/paho/3", 1)).as("quota exceeded")
        .isEqualTo(0x97);
    client.unsubscribe(9, "iot/paho/never");
    assertThat(client.await(RawMqtt5Client.UNSUBACK, Duration.ofSeconds(5)).firstReasonCode()).as("no subscription existed")
        .isEqualTo(0x11);
    client.pubrel(77);
    assertThat(client.await(RawMqtt5Client.PUBCOMP, Duration.ofSeconds(5)).reasonCode()).as("packet identifier not found")
        .isEqualTo(0x92);

    RawMqtt5Client again = raw("codes", Buffer.buffer());
    assertThat(client.await(RawMqtt5Client.DISCONNECT, Duration.ofSeconds(5)).reasonCode()).as("session taken over")
        .isEqualTo(0x8E);
    assertThat(again.isClosed()).isFalse();
  }

  @Test
  void aFullNodeRefusesWithTheMqtt5ServerUnavailableCode() {
    start(new JsonObject().put("max_sessions", 1));
    assertThat(raw("first", Buffer.buffer()).connectReasonCode()).isZero();
    RawMqtt5Client second = raw("second", Buffer.buffer());
    assertThat(second.connectReasonCode()).as("0x88, not 3.1.1's 3").isEqualTo(0x88);
  }

  @Test
  void aStoppingEndpointTellsItsMqtt5ClientsWhy() {
    start();
    RawMqtt5Client client = raw("stays", Buffer.buffer());
    vertx.undeploy(endpointDeployment).await();
    assertThat(client.await(RawMqtt5Client.DISCONNECT, Duration.ofSeconds(5)).reasonCode()).as("server shutting down")
        .isEqualTo(0x8B);
  }

  @Test
  void aQueueCountsPropertiesInItsByteBound() throws Exception {
    start(new JsonObject().put("max_queued_bytes", 2000));
    V5 offline = new V5("offline", o -> o.setSessionExpiryInterval(600L));
    offline.subscribe(subscription(TOPIC, 1));
    offline.disconnect();
    V5 publisher = new V5("pub", o -> { });
    MqttProperties heavy = new MqttProperties();
    heavy.setUserProperties(List.of(new UserProperty("k", "v".repeat(900))));
    for (int i = 0; i < 5; i++) {
      publisher.publish(TOPIC, "tiny " + i, 1, false, heavy); // 6 payload bytes, about 900 of properties
    }
    offline.connect(o -> {
      o.setCleanStart(false);
      o.setSessionExpiryInterval(600L);
    });
    assertThat(offline.within(Duration.ofSeconds(1))).as("two fit in 2000 bytes, the newest").extracting(Received::text)
        .containsExactly("tiny 3", "tiny 4");
  }
}
