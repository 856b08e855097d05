package io.iotmeter.embedded;

import io.iotmeter.config.StartupException;
import io.iotmeter.support.FreePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Starting and stopping the in-process QuestDB. */
@Timeout(120)
class EmbeddedQuestDbTest {

  @Test
  void listensOnTheGivenPortsAndLogsToAFileUnderItsDirectory(@TempDir Path dir) {
    int http = FreePorts.next();
    int pg = FreePorts.next();
    try (EmbeddedQuestDb questDb = EmbeddedQuestDb.start(dir, http, pg)) {
      assertThat(questDb.httpPort()).isEqualTo(http);
      assertThat(questDb.pgPort()).isEqualTo(pg);
      assertThat(questDb.user()).isEqualTo("admin");
      assertThat(dir.resolve("conf/log.conf")).content().contains("writers=file").doesNotContain("stdout");
      assertThat(dir.resolve("db")).isDirectory();
    }
  }

  @Test
  void aBusyPortIsAnOperatorMessage(@TempDir Path dir) throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      int busy = taken.getLocalPort();

      assertThatThrownBy(() -> EmbeddedQuestDb.start(dir, busy, 0))
          .isInstanceOf(StartupException.class)
          .hasMessage("Cannot start the embedded QuestDB in " + dir.toAbsolutePath() + ": HTTP port " + busy
              + " is already in use; choose another, or 0 for a free one");
      assertThatThrownBy(() -> EmbeddedQuestDb.start(dir, 0, busy))
          .isInstanceOf(StartupException.class)
          .hasMessage("Cannot start the embedded QuestDB in " + dir.toAbsolutePath() + ": PG-wire port " + busy
              + " is already in use; choose another, or 0 for a free one");
    }
    // Nothing is left holding the directory: the next start on it works.
    try (EmbeddedQuestDb questDb = EmbeddedQuestDb.start(dir, 0, 0)) {
      assertThat(questDb.httpPort()).isPositive();
      assertThat(Files.isDirectory(dir.resolve("db"))).isTrue();
    }
  }
}
