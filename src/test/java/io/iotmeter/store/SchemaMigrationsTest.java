package io.iotmeter.store;

import io.iotmeter.support.TestPostgres;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Versioned migrations against a real PostgreSQL. */
@Timeout(60)
class SchemaMigrationsTest {

  private Vertx vertx;
  private JsonObject postgres;
  private Pool pool;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    postgres = TestPostgres.freshDatabase();
    pool = Database.pool(vertx, postgres, "test");
  }

  @AfterEach
  void tearDown() {
    pool.close().await();
    vertx.close().await();
  }

  @Test
  void appliesEveryScriptOnceAndASecondRunIsANoOp() {
    List<Integer> all = SchemaMigrations.load(vertx).await().stream().map(SchemaMigrations.Script::version).toList();
    assertThat(all).startsWith(1, 2, 3, 4, 5, 6);
    assertThat(SchemaMigrations.migrate(vertx, pool).await()).isEqualTo(all);
    assertThat(SchemaMigrations.migrate(vertx, pool).await()).isEmpty();
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM schema_migrations")).isEqualTo(all.size());
    for (String table : List.of("devices", "device_configs", "device_alerts", "device_commands", "device_seq_tracking",
        "journal", "journal_cursor", "message_quarantine", "intake_seen")) {
      assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM information_schema.tables WHERE table_name = '" + table + "'"))
          .as(table).isEqualTo(1);
    }
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM devices WHERE device_id IN ('dc-meter-001','dc-meter-002','ac-meter-001')"))
        .isEqualTo(3);
  }

  @Test
  void nodesMigratingAtTheSameTimeApplyEachScriptOnce() {
    Pool second = Database.pool(vertx, postgres, "test-2");
    try {
      var a = SchemaMigrations.migrate(vertx, pool);
      var b = SchemaMigrations.migrate(vertx, second);
      List<Integer> applied = Stream.concat(a.await().stream(), b.await().stream()).toList();
      assertThat(applied).containsExactlyInAnyOrderElementsOf(
          SchemaMigrations.load(vertx).await().stream().map(SchemaMigrations.Script::version).toList());
      assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM devices")).isEqualTo(3);
    } finally {
      second.close().await();
    }
  }

  @Test
  void aDeletedReferenceDeviceStaysDeleted() {
    SchemaMigrations.migrate(vertx, pool).await();
    TestPostgres.execute(postgres, "DELETE FROM devices WHERE device_id = 'dc-meter-002'");
    SchemaMigrations.migrate(vertx, pool).await();
    assertThat(TestPostgres.count(postgres, "SELECT count(*) FROM devices WHERE device_id = 'dc-meter-002'")).isZero();
  }

  @Test
  void aScriptChangedAfterItWasAppliedStopsTheStartup() {
    SchemaMigrations.migrate(vertx, pool).await();
    TestPostgres.execute(postgres, "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1");
    assertThatThrownBy(() -> SchemaMigrations.migrate(vertx, pool).await()).hasMessageContaining("V1").hasMessageContaining("changed");
  }

  @Test
  void theIndexListsEveryScriptInTheFolder() throws Exception {
    Path folder = Path.of("src/main/resources/db/migration");
    List<String> files;
    try (Stream<Path> list = Files.list(folder)) {
      files = list.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".sql")).sorted().toList();
    }
    List<String> indexed = SchemaMigrations.load(vertx).await().stream()
        .map(s -> "V" + s.version() + "__" + s.description().replace(' ', '_') + ".sql").sorted().toList();
    assertThat(indexed).isEqualTo(files);
  }
}
