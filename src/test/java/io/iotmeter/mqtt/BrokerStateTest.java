package io.iotmeter.mqtt;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class BrokerStateTest {

  private final List<String> refusals = new java.util.ArrayList<>();
  private final BrokerState broker = new BrokerState(MqttLimits.forTests(3), refusals::add);

  private BrokerState brokerWith(io.vertx.core.json.JsonObject mqtt) {
    return new BrokerState(MqttLimits.fromConfig(mqtt), refusals::add);
  }

  private static Publication sized(String topic, int bytes, boolean retain) {
    return new Publication(topic, new byte[bytes], 1, retain);
  }

  private static Publication publication(String topic, int qos, boolean retain) {
    return new Publication(topic, "x".getBytes(StandardCharsets.UTF_8), qos, retain);
  }

  @Test
  void routesAtTheLowerQosToExactAndWildcardSubscribers() {
    broker.connect("a", true, "conn-a");
    broker.connect("b", true, "conn-b");
    assertThat(broker.subscribe("a", Map.of("iot/d1/command", 1))).containsExactly(1);
    assertThat(broker.subscribe("b", Map.of("iot/+/command", 2))).containsExactly(2);
    BrokerState.Route route = broker.route(publication("iot/d1/command", 2, false));
    assertThat(route.deliveries()).extracting(d -> d.connection() + ":" + d.publication().qos())
        .containsExactlyInAnyOrder("conn-a:1", "conn-b:2");
    assertThat(broker.route(publication("iot/d2/command", 2, false)).deliveries()).hasSize(1);
  }

  @Test
  void refusesFiltersOutsideTheNamespaceOrWithMisplacedWildcards() {
    broker.connect("a", true, "conn-a");
    assertThat(broker.subscribe("a", new java.util.LinkedHashMap<>(Map.of("other/#", 1))))
        .containsExactly(0x80);
    // Malformed: "topic filter invalid" (a 3.1.1 client is told 0x80, DeviceConnection)
    assertThat(broker.subscribe("a", Map.of("iot/#/x", 1))).containsExactly(0x8F);
    assertThat(broker.subscribe("a", Map.of("iot/a+/x", 1))).containsExactly(0x8F);
    assertThat(broker.subscribe("a", Map.of("iot/#", 1))).containsExactly(1);
  }

  @Test
  void anOfflinePersistentSessionQueuesBoundedAndACleanOneEnds() {
    broker.connect("p", false, "conn-1");
    broker.subscribe("p", Map.of("iot/p/command", 2));
    broker.disconnect("p", "conn-1", Instant.now());
    for (int i = 0; i < 5; i++) {
      assertThat(broker.route(publication("iot/p/command", 2, false)).queued()).isEqualTo(1);
    }
    assertThat(broker.route(publication("iot/p/command", 0, false)).reachedAnyone()).as("QoS 0 is not queued").isFalse();
    assertThat(broker.connect("p", false, "conn-2").sessionPresent()).isTrue();
    assertThat(broker.takeQueued("p", "conn-2", 20)).as("bounded to the 3 newest").hasSize(3);

    broker.connect("c", true, "conn-c");
    broker.subscribe("c", Map.of("iot/c/command", 1));
    broker.disconnect("c", "conn-c", Instant.now());
    assertThat(broker.hasSession("c")).isFalse();
  }

  @Test
  void persistentSessionsExpire() {
    Instant left = Instant.parse("2026-02-12T10:00:00Z");
    broker.connect("p", false, "conn-1");
    broker.subscribe("p", Map.of("iot/p/command", 2));
    broker.disconnect("p", "conn-1", left);
    assertThat(broker.expire(left.plusSeconds(3599))).isZero();
    assertThat(broker.expire(left.plusSeconds(3601))).isEqualTo(1);
    assertThat(broker.connect("p", false, "conn-2").sessionPresent()).isFalse();
  }

  @Test
  void unacknowledgedMessagesAreSentAgainAfterAReconnect() {
    broker.connect("p", false, "conn-1");
    int id = broker.startSending("p", "conn-1", publication("iot/p/command", 2, false), 20).packetId();
    assertThat(id).isPositive();
    broker.disconnect("p", "conn-1", Instant.now());
    broker.connect("p", false, "conn-2");
    assertThat(broker.takeQueued("p", "conn-2", 20).values()).extracting(Publication::topic).containsExactly("iot/p/command");
  }

  @Test
  void aMessageReachingATakenOverConnectionGoesToTheNewerOne() {
    broker.connect("p", false, "conn-1");
    broker.subscribe("p", Map.of("iot/p/command", 2));
    broker.connect("p", false, "conn-2"); // the client is back before conn-1 has closed
    BrokerState.Sending late = broker.startSending("p", "conn-1", publication("iot/p/command", 2, false), 20);
    assertThat(late.sendNow()).as("not sent on the old connection").isFalse();
    assertThat(late.newerConnection()).isEqualTo("conn-2");
    assertThat(broker.startSending("p", "conn-2", publication("iot/p/command", 2, false), 20).sendNow()).isTrue();
  }

  @Test
  void anAcknowledgementOnATakenOverConnectionDoesNotTakeTheNewerConnectionsMessages() {
    broker.connect("p", false, "conn-1");
    broker.subscribe("p", Map.of("iot/p/command", 2));
    broker.disconnect("p", "conn-1", Instant.now());
    broker.route(publication("iot/p/command", 2, false));
    broker.connect("p", false, "conn-2");
    assertThat(broker.takeQueued("p", "conn-1", 20)).isEmpty();
    assertThat(broker.takeQueued("p", "conn-2", 20)).hasSize(1);
  }

  @Test
  void aMessageReachingAClosedConnectionWaitsInItsPersistentSession() {
    broker.connect("p", false, "conn-1");
    broker.subscribe("p", Map.of("iot/p/command", 2));
    broker.disconnect("p", "conn-1", Instant.now());
    BrokerState.Sending late = broker.startSending("p", "conn-1", publication("iot/p/command", 2, false), 20);
    assertThat(late.sendNow()).isFalse();
    assertThat(late.newerConnection()).isNull();
    broker.connect("p", false, "conn-2");
    assertThat(broker.takeQueued("p", "conn-2", 20).values()).extracting(Publication::topic).containsExactly("iot/p/command");
  }

  @Test
  void retainedMessagesReachNewSubscribersAndAnEmptyPayloadClearsThem() {
    broker.retain("d1", publication("iot/d1/status", 1, true));
    broker.retain("d2", publication("iot/d2/status", 1, true));
    List<Publication> retained = broker.retainedFor("iot/+/status", 1);
    assertThat(retained).extracting(Publication::topic).containsExactlyInAnyOrder("iot/d1/status", "iot/d2/status");
    assertThat(retained).allMatch(Publication::retain);
    broker.retain("d1", new Publication("iot/d1/status", new byte[0], 1, true));
    assertThat(broker.retainedFor("iot/+/status", 1)).extracting(Publication::topic).containsExactly("iot/d2/status");
  }

  @Test
  void retainedMessagesAreBoundedPerClientInCountAndPerNodeInBytes() {
    BrokerState bounded = brokerWith(new io.vertx.core.json.JsonObject().put("max_retained_per_client", 2)
        .put("max_retained", 3).put("max_retained_bytes", 1000));
    assertThat(bounded.retain("a", sized("iot/a/1", 10, true))).isTrue();
    assertThat(bounded.retain("a", sized("iot/a/2", 10, true))).isTrue();
    assertThat(bounded.retain("a", sized("iot/a/3", 10, true))).as("a third for one client").isFalse();
    assertThat(bounded.retain("a", sized("iot/a/2", 20, true))).as("replacing its own counts once").isTrue();
    assertThat(bounded.retain("b", sized("iot/b/1", 990, true))).as("over the node's bytes").isFalse();
    assertThat(bounded.retain("b", sized("iot/b/1", 900, true))).isTrue();
    assertThat(bounded.retain("c", sized("iot/c/1", 1, true))).as("over the node's count").isFalse();
    assertThat(bounded.retainedCount()).isEqualTo(3);
    assertThat(bounded.retainedBytes()).isEqualTo(930);
    bounded.retain("a", new Publication("iot/a/1", new byte[0], 1, true));
    assertThat(bounded.retain("c", sized("iot/c/1", 1, true))).as("clearing frees room").isTrue();
    assertThat(refusals).containsOnly("mqtt_retained_refused").hasSize(3);
  }

  @Test
  void aSessionQueueIsBoundedInBytesAlsoWhileItsClientIsOnlineAndNeverAcknowledges() {
    BrokerState bounded = brokerWith(new io.vertx.core.json.JsonObject().put("max_queued", 1000).put("max_queued_bytes", 1000));
    bounded.connect("greedy", false, "conn-g");
    bounded.subscribe("greedy", Map.of("iot/#", 1));
    int window = 2;
    for (int i = 0; i < 50; i++) {
      bounded.startSending("greedy", "conn-g", sized("iot/x/" + i, 100, false), window);
    }
    assertThat(bounded.totalQueuedBytes()).isEqualTo(1000);
    assertThat(refusals).containsOnly("mqtt_queue_overflow").hasSize(50 - window - 10);
    // The newest are kept: on reconnect the two in flight go back to the front and, over the
    // bound, are the oldest to go.
    bounded.disconnect("greedy", "conn-g", Instant.now());
    bounded.connect("greedy", false, "conn-g2");
    List<String> topics = bounded.takeQueued("greedy", "conn-g2", 100).values().stream().map(Publication::topic).toList();
    assertThat(topics).hasSize(10).startsWith("iot/x/40").endsWith("iot/x/49").doesNotContain("iot/x/0");
    assertThat(bounded.totalQueuedBytes()).isZero();
  }

  @Test
  void theNodeBoundsAllQueuesTogether() {
    BrokerState bounded = brokerWith(new io.vertx.core.json.JsonObject().put("max_queued_bytes", 1000)
        .put("max_total_queued_bytes", 1500));
    for (String id : List.of("a", "b")) {
      bounded.connect(id, false, "conn-" + id);
      bounded.subscribe(id, Map.of("iot/" + id + "/command", 1));
      bounded.disconnect(id, "conn-" + id, Instant.now());
    }
    for (int i = 0; i < 10; i++) {
      bounded.route(sized("iot/a/command", 100, false));
    }
    assertThat(bounded.route(sized("iot/b/command", 600, false)).queued()).as("over the node's bytes").isZero();
    assertThat(bounded.route(sized("iot/b/command", 500, false)).queued()).isEqualTo(1);
    assertThat(bounded.totalQueuedBytes()).isEqualTo(1500);
    assertThat(refusals).contains("mqtt_queue_full");
  }

  @Test
  void subscriptionsAndSessionsAreBounded() {
    BrokerState bounded = brokerWith(new io.vertx.core.json.JsonObject().put("max_subscriptions", 2).put("max_sessions", 2));
    bounded.connect("a", false, "conn-a");
    assertThat(bounded.subscribe("a", new java.util.LinkedHashMap<>(Map.of("iot/1", 1)))).containsExactly(1);
    assertThat(bounded.subscribe("a", new java.util.LinkedHashMap<>(Map.of("iot/2", 1)))).containsExactly(1);
    assertThat(bounded.subscribe("a", new java.util.LinkedHashMap<>(Map.of("iot/3", 1)))).as("quota exceeded").containsExactly(0x97);
    assertThat(bounded.subscribe("a", new java.util.LinkedHashMap<>(Map.of("iot/2", 2)))).as("a filter it has").containsExactly(2);
    bounded.connect("b", true, "conn-b");
    assertThat(bounded.connect("c", true, "conn-c").refused()).isTrue();
    assertThat(bounded.connect("a", false, "conn-a2").refused()).as("an existing session is not refused").isFalse();
    assertThat(refusals).contains("mqtt_subscription_limit", "mqtt_sessions_full");
  }

  @Test
  void oneDeviceCannotHoldMoreThanItsShareOfSessions() {
    BrokerState bounded = brokerWith(new io.vertx.core.json.JsonObject().put("max_sessions_per_device", 2));
    assertThat(bounded.connect("m1", false, "c1", "m1").refused()).isFalse();
    assertThat(bounded.connect("m1-b", false, "c2", "m1").refused()).isFalse();
    BrokerState.Connected third = bounded.connect("m1-c", false, "c3", "m1");
    assertThat(third.refusal()).isEqualTo(BrokerState.Refusal.DEVICE_SESSIONS_FULL);
    assertThat(bounded.connect("m1", false, "c1-again", "m1").refused()).as("its own session again").isFalse();
    assertThat(bounded.connect("m2", false, "c4", "m2").refused()).as("another device").isFalse();
    assertThat(bounded.connect("anonymous-1", true, "c5", null).refused()).as("security off: no owner, no share").isFalse();
    assertThat(bounded.sessionCount("m1")).isEqualTo(2);
    // A clean session that ends gives its place back.
    bounded.connect("m1-b", true, "c6", "m1");
    bounded.disconnect("m1-b", "c6", Instant.now());
    assertThat(bounded.sessionCount("m1")).isEqualTo(1);
    assertThat(bounded.connect("m1-c", false, "c7", "m1").refused()).isFalse();
    assertThat(refusals).contains("mqtt_device_sessions_full");
  }

  @Test
  void aDeviceTakesItsOwnClientIdBackFromAnotherAndOnlyItsOwn() {
    // Device "m" may use m-1 as a suffixed id; device "m-1" comes for its own id.
    broker.connect("m-1", false, "squatter", "m");
    BrokerState.Connected owner = broker.connect("m-1", false, "rightful", "m-1");
    assertThat(owner.refused()).isFalse();
    assertThat(owner.sessionPresent()).as("the squatter's session is not handed over").isFalse();
    assertThat(owner.previousConnection()).as("the squatter's connection is told to go").isEqualTo("squatter");
    assertThat(broker.sessionCount("m")).isZero();
    assertThat(broker.sessionCount("m-1")).isEqualTo(1);
    BrokerState.Connected squatter = broker.connect("m-1", false, "squatter-again", "m");
    assertThat(squatter.refusal()).isEqualTo(BrokerState.Refusal.CLIENT_ID_TAKEN);
  }

  @Test
  void aPersistentSessionWithNothingToKeepEndsWithItsConnection() {
    broker.connect("never-subscribed", false, "conn-1");
    broker.disconnect("never-subscribed", "conn-1", Instant.now());
    assertThat(broker.hasSession("never-subscribed")).isFalse();
    assertThat(broker.sessionCount()).isZero();
  }

  @Test
  void topicFiltersMatchAsTheSpecSays() {
    assertThat(TopicFilter.matches("iot/+/command", "iot/dc-1/command")).isTrue();
    assertThat(TopicFilter.matches("iot/+/command", "iot/dc-1/command/ack")).isFalse();
    assertThat(TopicFilter.matches("iot/dc-1/#", "iot/dc-1")).isTrue();
    assertThat(TopicFilter.matches("iot/#", "iot/a/b/c")).isTrue();
    assertThat(TopicFilter.matches("iot/+", "iot/a/b")).isFalse();
    assertThat(TopicFilter.isValidTopic("iot/a/b")).isTrue();
    assertThat(TopicFilter.isValidTopic("iot/a/+")).isFalse();
    assertThat(TopicFilter.isValidTopic("elsewhere/a")).isFalse();
  }
}
