package io.iotmeter.mqtt;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Acknowledgements leave in the order the PUBLISH packets arrived, whatever order their hand-offs finish in. */
class OrderedAcksTest {

  @Test
  void anAckReadyOutOfOrderWaitsForTheEarlierOnes() {
    OrderedAcks acks = new OrderedAcks();
    List<Integer> sent = new ArrayList<>();
    OrderedAcks.Slot first = acks.reserve(() -> sent.add(1));
    OrderedAcks.Slot second = acks.reserve(() -> sent.add(2));
    OrderedAcks.Slot third = acks.reserve(() -> sent.add(3));
    acks.ready(third);
    acks.ready(second);
    assertThat(sent).isEmpty();
    acks.ready(first);
    assertThat(sent).containsExactly(1, 2, 3);
    OrderedAcks.Slot fourth = acks.reserve(() -> sent.add(4));
    acks.ready(fourth);
    assertThat(sent).containsExactly(1, 2, 3, 4);
  }

  @Test
  void anAckThatNeverBecomesReadyHoldsBackTheRestButNothingIsSentTwice() {
    OrderedAcks acks = new OrderedAcks();
    List<Integer> sent = new ArrayList<>();
    acks.reserve(() -> sent.add(1)); // a hand-off that failed: never acknowledged
    OrderedAcks.Slot second = acks.reserve(() -> sent.add(2));
    acks.ready(second);
    acks.ready(second);
    assertThat(sent).as("MQTT 4.6: no acknowledgement may overtake an earlier one").isEmpty();
  }
}
