package io.iotmeter.support;

import io.iotmeter.store.Database;
import io.iotmeter.store.SchemaMigrations;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A fresh database on the test PostgreSQL for every test, with every migration applied, a
 * Vert.x instance and a pool on it; closed after the test (after its own {@code @AfterEach}).
 * {@code @RegisterExtension final MigratedDatabase db = new MigratedDatabase("my-test");}
 */
public final class MigratedDatabase implements BeforeEachCallback, AfterEachCallback {

  private final String poolName;
  private Vertx vertx;
  private JsonObject postgres;
  private Pool pool;

  public MigratedDatabase(String poolName) {
    this.poolName = poolName;
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    vertx = Vertx.vertx();
    postgres = TestPostgres.freshDatabase();
    pool = Database.pool(vertx, postgres, poolName);
    SchemaMigrations.migrate(vertx, pool).await();
  }

  @Override
  public void afterEach(ExtensionContext context) {
    pool.close().await();
    vertx.close().await();
  }

  public Vertx vertx() {
    return vertx;
  }

  /** The {@code postgres} configuration section of the fresh database. */
  public JsonObject postgres() {
    return postgres;
  }

  public Pool pool() {
    return pool;
  }
}
