package io.iotmeter.intake;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The evidence budget on a clock the test sets: so many refused messages per sender and minute
 * kept, the next minute a fresh budget, senders apart, the least recently used one forgotten
 * beyond {@link EvidenceBudget#MAX_SENDERS}, and a budget of 0 keeping nothing. (Mutation testing
 * found every bound of it unguarded: the end-to-end tests only saw that evidence was kept.)
 */
class EvidenceBudgetTest {

  private static final long T = 1_000_000;

  @Test
  void aSenderGetsItsBudgetPerMinuteAndAFreshOneAMinuteAfterItsWindowBegan() {
    EvidenceBudget budget = new EvidenceBudget(2);
    assertThat(budget.take("a", T)).isTrue();
    assertThat(budget.take("a", T + 10)).isTrue();
    assertThat(budget.take("a", T + 20)).as("the third in the minute").isFalse();
    assertThat(budget.take("a", T + 59_999)).as("still the same minute").isFalse();
    assertThat(budget.take("a", T + 60_000)).as("a minute after the window began").isTrue();
    assertThat(budget.take("a", T + 60_001)).isTrue();
    assertThat(budget.take("a", T + 60_002)).isFalse();
  }

  @Test
  void sendersHaveBudgetsOfTheirOwn() {
    EvidenceBudget budget = new EvidenceBudget(1);
    assertThat(budget.take("a", T)).isTrue();
    assertThat(budget.take("a", T)).isFalse();
    assertThat(budget.take("b", T)).as("another sender").isTrue();
    assertThat(budget.take("b", T)).isFalse();
  }

  @Test
  void theLeastRecentlyUsedSenderIsForgottenOnlyBeyondTheBound() {
    EvidenceBudget budget = new EvidenceBudget(1);
    assertThat(budget.take("a", T)).isTrue();
    for (int i = 1; i < EvidenceBudget.MAX_SENDERS; i++) {
      budget.take("other-" + i, T);
    }
    assertThat(budget.take("a", T)).as("MAX_SENDERS senders remembered: a's budget is spent").isFalse();
    for (int i = 0; i < EvidenceBudget.MAX_SENDERS; i++) {
      budget.take("newer-" + i, T);
    }
    assertThat(budget.take("a", T)).as("forgotten once more senders came: a fresh budget").isTrue();
  }

  @Test
  void aBudgetOfZeroKeepsNothing() {
    EvidenceBudget budget = new EvidenceBudget(0);
    assertThat(budget.take("a", T)).isFalse();
    assertThat(budget.take("a", T + 60_000)).isFalse();
  }
}
