package io.iotmeter.mqtt;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class BrokerStateTest {

  private final BrokerState broker = new BrokerState(3);

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
    assertThat(broker.subscribe("a", Map.of("iot/#/x", 1))).containsExactly(0x80);
    assertThat(broker.subscribe("a", Map.of("iot/a+/x", 1))).containsExactly(0x80);
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
    assertThat(broker.takeQueued("p", 20)).as("bounded to the 3 newest").hasSize(3);

    broker.connect("c", true, "conn-c");
    broker.subscribe("c", Map.of("iot/c/command", 1));
    broker.disconnect("c", "conn-c", Instant.now());
    assertThat(broker.hasSession("c")).isFalse();
  }

  @Test
  void persistentSessionsExpire() {
    Instant left = Instant.parse("2026-02-12T10:00:00Z");
    broker.connect("p", false, "conn-1");
    broker.disconnect("p", "conn-1", left);
    assertThat(broker.expire(left.plusSeconds(3599), Duration.ofSeconds(3600))).isZero();
    assertThat(broker.expire(left.plusSeconds(3601), Duration.ofSeconds(3600))).isEqualTo(1);
    assertThat(broker.connect("p", false, "conn-2").sessionPresent()).isFalse();
  }

  @Test
  void unacknowledgedMessagesAreSentAgainAfterAReconnect() {
    broker.connect("p", false, "conn-1");
    int id = broker.startSending("p", publication("iot/p/command", 2, false), 20);
    assertThat(id).isPositive();
    broker.disconnect("p", "conn-1", Instant.now());
    broker.connect("p", false, "conn-2");
    assertThat(broker.takeQueued("p", 20).values()).extracting(Publication::topic).containsExactly("iot/p/command");
  }

  @Test
  void retainedMessagesReachNewSubscribersAndAnEmptyPayloadClearsThem() {
    broker.route(publication("iot/d1/status", 1, true));
    broker.route(publication("iot/d2/status", 1, true));
    List<Publication> retained = broker.retainedFor("iot/+/status", 1);
    assertThat(retained).extracting(Publication::topic).containsExactlyInAnyOrder("iot/d1/status", "iot/d2/status");
    assertThat(retained).allMatch(Publication::retain);
    broker.route(new Publication("iot/d1/status", new byte[0], 1, true));
    assertThat(broker.retainedFor("iot/+/status", 1)).extracting(Publication::topic).containsExactly("iot/d2/status");
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
