package io.iotmeter.audit;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.stream.Collectors;

/** The {@link StoreAudit}'s answer: one {@link StoreFinding} per store, and what the load's ledger says. */
public record AuditReport(long acknowledged, long published, long unmatchedAcks, List<StoreFinding> stores) {

  /** Nothing acknowledged is missing from any store, nothing is held twice, every acknowledgement matched a publish. */
  public boolean clean() {
    return unmatchedAcks == 0 && stores.stream().allMatch(StoreFinding::clean);
  }

  public StoreFinding store(String name) {
    return stores.stream().filter(s -> s.store().equals(name)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("not audited: " + name));
  }

  /** Acknowledged keys missing from at least one store. */
  public SortedSet<MessageKey> missing() {
    SortedSet<MessageKey> missing = new TreeSet<>();
    stores.forEach(s -> missing.addAll(s.missing()));
    return missing;
  }

  /** Of the keys one path acknowledged, those missing from at least one store. */
  public SortedSet<MessageKey> missingOf(Map<MessageKey, AckLedger.Ack> acknowledgedOnPath) {
    SortedSet<MessageKey> missing = missing();
    missing.retainAll(acknowledgedOnPath.keySet());
    return missing;
  }

  public long lost() {
    return missing().size();
  }

  public long doubled() {
    Set<MessageKey> doubled = new TreeSet<>();
    stores.forEach(s -> doubled.addAll(s.doubled()));
    return doubled.size();
  }

  /** Per store "lost / doubled", as one table cell. */
  public String cell() {
    return stores.stream().map(StoreFinding::cell).collect(Collectors.joining(", "))
        + (unmatchedAcks == 0 ? "" : String.format(", %,d acknowledgements matched no publish", unmatchedAcks));
  }

  public String detail() {
    return String.format("acknowledged %,d of %,d published, %,d unmatched acknowledgements%n", acknowledged, published,
        unmatchedAcks) + stores.stream().map(StoreFinding::detail).collect(Collectors.joining("\n"));
  }

  @Override
  public String toString() {
    return detail();
  }
}
