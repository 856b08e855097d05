package io.iotmeter.boot;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CommandLineTest {

  @Test
  void defaultsToRunWithTheEmbeddedProfile() {
    CommandLine cli = CommandLine.parse(new String[0], Map.of());
    assertThat(cli).isEqualTo(new CommandLine("run", "embedded", Optional.empty(), Optional.empty(), java.util.List.of("all")));
  }

  @Test
  void readsOptionsInBothForms() {
    CommandLine cli = CommandLine.parse(new String[] {"run", "--profile", "compose", "--data-dir=/tmp/d", "--conf", "my.yaml"}, Map.of());
    assertThat(cli.profile()).isEqualTo("compose");
    assertThat(cli.dataDir()).contains("/tmp/d");
    assertThat(cli.confFile()).contains("my.yaml");
  }

  @Test
  void environmentGivesDefaultsThatOptionsOverride() {
    assertThat(CommandLine.parse(new String[] {"run"}, Map.of("IOT_PROFILE", "cluster")).profile()).isEqualTo("cluster");
    assertThat(CommandLine.parse(new String[] {"run", "--profile", "embedded"}, Map.of("IOT_PROFILE", "cluster")).profile())
        .isEqualTo("embedded");
  }

  @Test
  void refusesWhatItDoesNotKnow() {
    assertThatThrownBy(() -> CommandLine.parse(new String[] {"run", "--profile", "prod"}, Map.of()))
        .hasMessageContaining("Unknown profile 'prod'");
    assertThatThrownBy(() -> CommandLine.parse(new String[] {"run", "--port", "1"}, Map.of()))
        .hasMessageContaining("Unknown option '--port'");
    assertThatThrownBy(() -> CommandLine.parse(new String[] {"start"}, Map.of()))
        .hasMessageContaining("Unknown command 'start'");
    assertThatThrownBy(() -> CommandLine.parse(new String[] {"run", "--data-dir"}, Map.of()))
        .hasMessageContaining("--data-dir needs a value");
  }

  @Test
  void rolesAreAListOfKnownRoles() {
    assertThat(CommandLine.parse(new String[] {"run", "--profile", "cluster", "--role", "ingest,api"}, Map.of()).roles())
        .containsExactly("ingest", "api");
    assertThat(CommandLine.parse(new String[] {"run"}, Map.of("IOT_ROLE", "sim")).roles()).containsExactly("sim");
    assertThatThrownBy(() -> CommandLine.parse(new String[] {"run", "--role", "ingest,worker"}, Map.of()))
        .hasMessageContaining("Unknown role 'worker'");
  }

  @Test
  void helpIsACommandAndAnOption() {
    assertThat(CommandLine.parse(new String[] {"help"}, Map.of()).command()).isEqualTo("help");
    assertThat(CommandLine.parse(new String[] {"run", "--help"}, Map.of()).command()).isEqualTo("help");
  }
}
