package io.iotmeter.deploy;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.support.Monitoring;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The documentation stays true to the code: every address, every alert, no file outside the repository. */
class DocsTest {

  private static final List<Path> DOCS = List.of(Path.of("README.md"), Path.of("docs/protocol.md"),
      Path.of("docs/architecture.md"), Path.of("docs/operations.md"));

  @Test
  void theReadmeLinksTheDeeperDocs() throws Exception {
    String readme = Files.readString(Path.of("README.md"));
    for (Path doc : DOCS.subList(1, DOCS.size())) {
      assertThat(readme).contains("(" + doc + ")");
    }
  }

  @Test
  void theArchitectureAndTheReadmeListEveryBusAddress() throws Exception {
    String architecture = Files.readString(Path.of("docs/architecture.md"));
    String readme = Files.readString(Path.of("README.md"));
    for (BusAddress address : BusAddress.values()) {
      assertThat(architecture).as(address.name()).contains("| `" + address.address() + "` |");
      assertThat(readme).as(address.name()).contains("`" + address.address());
    }
  }

  /** The README's result tables are the long runs' generated files, never a hand-made copy. */
  @Test
  void theReadmeShowsTheGeneratedResultsAsTheyAre() throws Exception {
    String readme = Files.readString(Path.of("README.md"));
    assertThat(io.iotmeter.support.ResultsInReadme.shown(readme)).as("results blocks in the README")
        .contains(Path.of("docs/results/fault-injection.md"), Path.of("docs/results/benchmark-ingest.md"));
    assertThat(readme).as("the README's results blocks against docs/results (regenerate them: mvn -B -q test-compile "
        + "exec:java -Dexec.mainClass=io.iotmeter.support.ResultsInReadme)")
        .isEqualTo(io.iotmeter.support.ResultsInReadme.render(readme));
  }

  @Test
  void everyAlertHasARunbookEntry() throws Exception {
    String operations = Files.readString(Path.of("docs/operations.md"));
    for (String alert : Monitoring.alertExpressions().keySet()) {
      assertThat(operations).as(alert).contains("`" + alert + "`");
    }
  }

  @Test
  void noDocumentPointsOutsideTheRepository() throws Exception {
    for (Path doc : DOCS) {
      // The design notes and first specs the project started from live outside it; users have only the repository.
      for (String outside : List.of(".." + "/shared", "spec" + "/", "platform" + "-notes")) {
        assertThat(Files.readString(doc)).as(doc.toString()).doesNotContain(outside);
      }
    }
  }
}
