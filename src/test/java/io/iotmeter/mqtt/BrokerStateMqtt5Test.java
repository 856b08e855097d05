package io.iotmeter.mqtt;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The broker state's MQTT 5 rules, without sockets: milliseconds a test, for mutation testing. */
class BrokerStateMqtt5Test {

  private static final Instant T0 = Instant.parse("2026-12-05T10:00:00Z");
  private final List<String> refusals = new ArrayList<>();
  private final BrokerState broker = new BrokerState(MqttLimits.forTests(100), refusals::add);

  private static Publication message(String topic, int qos, boolean retain) {
    return new Publication(topic, "x".getBytes(StandardCharsets.UTF_8), qos, retain);
  }

  private void connect(String clientId, long expiry) {
    broker.connect(clientId, true, expiry, "conn-" + clientId, null, T0);
  }

  private List<BrokerState.Granted> subscribe(String clientId, String filter, Session.Subscription subscription) {
    Map<String, Session.Subscription> filters = new LinkedHashMap<>();
    filters.put(filter, subscription);
    return broker.subscribeWithOptions(clientId, filters);
  }

  @Test
  void aSessionLivesAsLongAsItsClientAskedAndAnExpiredOneIsGoneAtOnce() {
    connect("a", 5);
    subscribe("a", "iot/a/command", Session.Subscription.of(1));
    broker.disconnect("a", "conn-a", T0);
    assertThat(broker.connect("a", false, 5, "conn-2", null, T0.plusSeconds(4)).sessionPresent()).isTrue();
    broker.disconnect("a", "conn-2", T0.plusSeconds(4));
    assertThat(broker.connect("a", false, 5, "conn-3", null, T0.plusSeconds(9)).sessionPresent())
        .as("expired, though not swept yet").isFalse();
    broker.disconnect("a", "conn-3", T0.plusSeconds(9));
    assertThat(broker.hasSession("a")).as("expiry 0: ended with its connection").isFalse();
  }

  @Test
  void aDisconnectMayShortenOrLengthenTheExpiryButNotReviveASessionThatHadNone() {
    connect("a", 60);
    subscribe("a", "iot/a/command", Session.Subscription.of(1));
    assertThat(broker.changeExpiry("a", "conn-a", 0)).isTrue();
    broker.disconnect("a", "conn-a", T0);
    assertThat(broker.hasSession("a")).isFalse();
    connect("b", 0);
    assertThat(broker.changeExpiry("b", "conn-b", 60)).isFalse();
  }

  @Test
  void noLocalRetainAsPublishedAndSubscriptionIdentifiers() {
    connect("a", 0);
    subscribe("a", "iot/x", new Session.Subscription(2, true, false, 0, 0));
    subscribe("a", "iot/+", new Session.Subscription(1, false, true, 0, 7));
    subscribe("a", "iot/#", new Session.Subscription(0, false, false, 0, 9));
    Publication copy = broker.route(message("iot/x", 2, true), "b").deliveries().get(0).publication();
    assertThat(copy.qos()).as("the highest of the matching subscriptions").isEqualTo(2);
    assertThat(copy.retain()).as("one of them retains as published").isTrue();
    assertThat(copy.subscriptionIds()).containsExactlyInAnyOrder(7, 9);
    Publication own = broker.route(message("iot/x", 2, true), "a").deliveries().get(0).publication();
    assertThat(own.qos()).as("its own message: not on the no-local subscription").isEqualTo(1);
    assertThat(broker.route(message("iot/x", 2, false), "b").deliveries().get(0).publication().retain()).isFalse();
  }

  @Test
  void aSharedGroupGivesEachMessageToOneMemberInTurnConnectedFirst() {
    connect("a", 60);
    connect("b", 60);
    for (String id : List.of("a", "b")) {
      assertThat(subscribe(id, "$share/g/iot/+/x", Session.Subscription.of(1))).extracting(BrokerState.Granted::code)
          .containsExactly(1);
    }
    List<String> to = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      BrokerState.Route route = broker.route(message("iot/m/x", 1, false), "p");
      assertThat(route.deliveries()).hasSize(1);
      to.add(route.deliveries().get(0).connection());
    }
    assertThat(to).containsExactly("conn-a", "conn-b", "conn-a", "conn-b");
    broker.disconnect("a", "conn-a", T0);
    for (int i = 0; i < 2; i++) {
      assertThat(broker.route(message("iot/m/x", 1, false), "p").deliveries()).extracting(BrokerState.Delivery::connection)
          .containsExactly("conn-b");
    }
    broker.disconnect("b", "conn-b", T0);
    BrokerState.Route offline = broker.route(message("iot/m/x", 1, false), "p");
    assertThat(offline.deliveries()).isEmpty();
    assertThat(offline.queued()).as("kept by one offline member").isEqualTo(1);
    assertThat(broker.retainedFor("$share/g/iot/+/x", 1)).as("no retained messages on a shared subscription").isEmpty();
    connect("c", 0);
    assertThat(broker.unsubscribe("c", List.of("$share/g/iot/+/x"))).containsExactly(false);
  }

  @Test
  void aPlainSubscriptionAndASharedOneOfTheSameClientEachGetACopy() {
    connect("a", 0);
    subscribe("a", "iot/x", Session.Subscription.of(1));
    subscribe("a", "$share/g/iot/x", Session.Subscription.of(1));
    assertThat(broker.route(message("iot/x", 1, false), "p").deliveries()).hasSize(2);
    assertThat(broker.unsubscribe("a", List.of("$share/g/iot/x", "iot/x"))).containsExactly(true, true);
    assertThat(broker.route(message("iot/x", 1, false), "p").reachedAnyone()).isFalse();
  }

  @Test
  void subscriptionRefusalsHaveTheirReasons() {
    connect("a", 0);
    assertThat(subscribe("a", "elsewhere/#", Session.Subscription.of(1)).get(0).code()).isEqualTo(0x80);
    assertThat(subscribe("a", "iot/a#", Session.Subscription.of(1)).get(0).code()).isEqualTo(0x8F);
    assertThat(subscribe("a", "$share//iot/x", Session.Subscription.of(1)).get(0).code()).as("empty group").isEqualTo(0x8F);
    assertThat(subscribe("a", "$share/g+/iot/x", Session.Subscription.of(1)).get(0).code()).isEqualTo(0x8F);
    assertThat(subscribe("a", "$share/g/elsewhere", Session.Subscription.of(1)).get(0).code()).isEqualTo(0x80);
    BrokerState.Granted first = subscribe("a", "iot/x", Session.Subscription.of(2)).get(0);
    BrokerState.Granted again = subscribe("a", "iot/x", Session.Subscription.of(1)).get(0);
    assertThat(first.existed()).isFalse();
    assertThat(again.existed()).as("for retain handling 1").isTrue();
  }

  @Test
  void aWillHeldForItsDelayIsCancelledByTheClientsReturnAndPublishedWhenItsSessionEnds() {
    connect("w", 60);
    long token = broker.disconnect("w", "conn-w", T0, message("iot/w/status", 1, true));
    assertThat(token).isPositive();
    assertThat(broker.hasSession("w")).as("kept for the will, though it holds nothing else").isTrue();
    BrokerState.Connected back = broker.connect("w", false, 60, "conn-w2", null, T0.plusSeconds(1));
    assertThat(back.sessionPresent()).isTrue();
    assertThat(back.endedWill()).isNull();
    assertThat(broker.takeHeldWill("w", token)).as("cancelled").isNull();

    long second = broker.disconnect("w", "conn-w2", T0, message("iot/w/status", 1, true));
    BrokerState.Connected fresh = broker.connect("w", true, 60, "conn-w3", null, T0.plusSeconds(1));
    assertThat(fresh.endedWill()).as("a clean start ended the session: the will is due now").isNotNull();
    assertThat(broker.takeHeldWill("w", second)).isNull();

    long third = broker.disconnect("w", "conn-w3", T0, message("iot/w/status", 1, true));
    assertThat(broker.takeHeldWill("w", third)).as("its delay passed").isNotNull();
    assertThat(broker.disconnect("w", "conn-other", T0, message("iot/w/status", 1, true)))
        .as("not the session's connection: nothing held").isZero();
  }

  @Test
  void queuedMessagesTheClientCannotTakeAreDropped() {
    connect("a", 60);
    subscribe("a", "iot/x", Session.Subscription.of(1));
    broker.disconnect("a", "conn-a", T0);
    broker.route(message("iot/x", 1, false), "p");
    broker.route(new Publication("iot/x", new byte[500], 1, false), "p");
    broker.connect("a", false, 60, "conn-2", null, T0);
    Map<Integer, Publication> sent = broker.takeQueued("a", "conn-2", 10, p -> p.payload().length < 100);
    assertThat(sent.values()).extracting(p -> p.payload().length).containsExactly(1);
    assertThat(broker.takeQueued("a", "conn-2", 10)).as("the other is gone, not left queued").isEmpty();
    assertThat(broker.totalQueuedBytes()).isZero();
  }

  @Test
  void aQos0SubscriptionIsAMatchAndAnIdentifierOf0IsNone() {
    connect("a", 0);
    subscribe("a", "iot/x", Session.Subscription.of(0));
    subscribe("a", "iot/+", new Session.Subscription(0, false, false, 0, 5));
    Publication copy = broker.route(message("iot/x", 1, false), "p").deliveries().get(0).publication();
    assertThat(copy.qos()).isZero();
    assertThat(copy.subscriptionIds()).containsExactly(5);
  }

  @Test
  void aSharedSubscriptionKeepsItsOptionsAndQos0IsNotKeptForAnOfflineGroup() {
    connect("a", 60);
    connect("b", 60);
    subscribe("a", "$share/g/iot/x", new Session.Subscription(0, true, true, 0, 4));
    subscribe("b", "$share/g/iot/x", new Session.Subscription(2, false, false, 0, 0));
    List<Publication> toA = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      BrokerState.Route route = broker.route(message("iot/x", 2, true), "a");
      assertThat(route.deliveries()).as("a's own message goes to b, never to a (no local)").hasSize(1)
          .allSatisfy(d -> assertThat(d.connection()).isEqualTo("conn-b"));
    }
    for (int i = 0; i < 2; i++) {
      broker.route(message("iot/x", 2, true), "p").deliveries().stream()
          .filter(d -> d.connection().equals("conn-a")).forEach(d -> toA.add(d.publication()));
    }
    assertThat(toA).hasSize(1);
    assertThat(toA.get(0).qos()).as("its subscription's QoS").isZero();
    assertThat(toA.get(0).retain()).as("retain as published").isTrue();
    assertThat(toA.get(0).subscriptionIds()).containsExactly(4);
    broker.disconnect("a", "conn-a", T0);
    broker.disconnect("b", "conn-b", T0);
    assertThat(broker.route(message("iot/x", 0, false), "p").reachedAnyone()).as("QoS 0 is not kept").isFalse();
    assertThat(broker.route(message("iot/x", 1, false), "p").queued()).isEqualTo(1);
  }

  @Test
  void aDisconnectMayKeepAnExpiryOf0() {
    connect("b", 0);
    assertThat(broker.changeExpiry("b", "conn-b", 0)).isTrue();
    assertThat(broker.changeExpiry("b", "another-connection", 60)).as("not its connection: nothing to refuse").isTrue();
  }
}
