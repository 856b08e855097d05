package io.iotmeter.audit;

import java.util.List;
import java.util.SortedSet;
import java.util.stream.Collectors;

/**
 * What one store holds of the audited messages, per key and without clamping.
 *
 * @param store        archive, time series or registry
 * @param expected     acknowledged messages this store must hold
 * @param stored       distinct messages it holds (acknowledged or not)
 * @param missing      acknowledged but not (wholly) there: lost
 * @param doubled      held more than once (a second record, a second point, a second row)
 * @param extraCopies  how many copies beyond the first, over all doubled keys (points for the time series)
 * @param unacked      held, but never acknowledged to the meter (accepted whose acknowledgement was lost; not a defect)
 * @param rewrites     (time series) points the sink sent again after the store had taken them — harmless under its
 *                     upsert key, shown apart from a store that kept two; -1 where not recorded
 * @param notes        anything else seen (records or points no message of the load explains)
 */
public record StoreFinding(String store, long expected, long stored, SortedSet<MessageKey> missing,
                           SortedSet<MessageKey> doubled, long extraCopies, SortedSet<MessageKey> unacked, long rewrites,
                           List<String> notes) {

  public boolean clean() {
    return missing.isEmpty() && doubled.isEmpty() && notes.stream().noneMatch(n -> n.startsWith("!"));
  }

  /** "lost / doubled" as one table cell part, with the unacknowledged and rewrites beside it when there are any. */
  public String cell() {
    StringBuilder cell = new StringBuilder(String.format("%s %,d / %,d", store, missing.size(), doubled.size()));
    if (!unacked.isEmpty()) {
      cell.append(String.format(" (%,d stored unacknowledged)", unacked.size()));
    }
    if (rewrites > 0) {
      cell.append(String.format(" (%,d points rewritten)", rewrites));
    }
    return cell.toString();
  }

  /** Every figure, with the first keys of each kind: what a failing test prints. */
  public String detail() {
    return String.format("%s: expected %,d, stored %,d, missing %,d%s, doubled %,d (%,d extra copies)%s, stored unacknowledged "
            + "%,d%s%s%s", store, expected, stored, missing.size(), first(missing), doubled.size(), extraCopies, first(doubled),
        unacked.size(), first(unacked), rewrites >= 0 ? String.format(", rewrites %,d", rewrites)
            : store.equals(StoreAudit.TIME_SERIES) ? ", rewrites not recorded" : "",
        notes.isEmpty() ? "" : "; " + String.join("; ", notes));
  }

  private static String first(SortedSet<MessageKey> keys) {
    return keys.isEmpty() ? "" : keys.stream().limit(10).map(MessageKey::toString)
        .collect(Collectors.joining(", ", " [", keys.size() > 10 ? ", …]" : "]"));
  }
}
