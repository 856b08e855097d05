package io.iotmeter.sink;

import io.iotmeter.support.MigratedDatabase;
import io.iotmeter.archive.ObjectStore;
import io.iotmeter.archive.ObjectStores;
import io.iotmeter.archive.StoredObject;
import io.iotmeter.embedded.EmbeddedS3Server;
import io.iotmeter.journal.AcceptedMessage;
import io.iotmeter.protocol.Category;
import io.iotmeter.support.Datagrams;
import io.iotmeter.support.TestPostgres;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The archive's promise, against real S3 (S3Proxy) and a real journal: an object, once written,
 * always holds every record it ever held — after its rows are pruned, when a retry brings new
 * messages along, and with two writers at once.
 */
@Timeout(60)
class ArchiveWriterTest {

  @TempDir
  Path s3Data;

  private Vertx vertx;
  private Pool pool;
  private JsonObject postgres;
  private EmbeddedS3Server s3;
  private ObjectStore store;
  private WorkerExecutor workers;
  private final Timer timer = Timer.builder("t").register(new SimpleMeterRegistry());

  @RegisterExtension
  final MigratedDatabase db = new MigratedDatabase("archive-test");

  @BeforeEach
  void setUp() {
    vertx = db.vertx();
    postgres = db.postgres();
    pool = db.pool();
    s3 = EmbeddedS3Server.start(s3Data, 0, "minioadmin", "minioadmin123");
    store = ObjectStores.open(new JsonObject().put("endpoint", s3.endpoint()).put("access_key", "minioadmin")
        .put("secret_key", "minioadmin123").put("bucket", "iot-data"));
    workers = vertx.createSharedWorkerExecutor("archive-test", 4);
  }

  @AfterEach
  void tearDown() {
    store.close();
    s3.close();
    workers.close().await();
  }

  private ArchiveWriter writer() {
    return new ArchiveWriter(store, pool, workers, timer);
  }

  private AcceptedMessage journal(long seq) {
    String payload = Datagrams.telemetry("dc-meter-001", seq).encode();
    Instant received = Instant.now();
    Row row = pool.preparedQuery("INSERT INTO intake_journal (device_id, category, epoch, seq, device_ts, topic, payload, qos, "
            + "source, received_at, pending) VALUES ('dc-meter-001', 'telemetry', 0, $1, $2, 'iot/dc-meter-001/telemetry', $3, "
            + "2, 'endpoint', $2, 1) RETURNING id")
        .execute(Tuple.of(seq, received.atOffset(ZoneOffset.UTC), payload)).await().iterator().next();
    return new AcceptedMessage(row.getLong(0), "dc-meter-001", Category.TELEMETRY, 0, seq, received, received,
        "iot/dc-meter-001/telemetry", "endpoint", payload);
  }

  /** Every archived record's seq, by object key. */
  private Map<String, List<Long>> archive() {
    Map<String, List<Long>> objects = new HashMap<>();
    for (StoredObject o : store.list("dc-meter-001/", 1000)) {
      List<Long> seqs = new ArrayList<>();
      new String(store.get(o.key()), StandardCharsets.UTF_8).lines()
          .forEach(line -> seqs.add(new JsonObject(line).getJsonObject("data").getLong("seq")));
      objects.put(o.key(), seqs);
    }
    return objects;
  }

  private List<Long> allRecords() {
    return archive().values().stream().flatMap(List::stream).sorted().toList();
  }

  @Test
  void aWrittenObjectIsNotRewrittenFromRowsThatWerePartlyPruned() {
    AcceptedMessage m1 = journal(1);
    AcceptedMessage m2 = journal(2);
    writer().write(List.of(m1, m2)).await();
    assertThat(archive()).hasSize(1).allSatisfy((key, seqs) -> assertThat(seqs).containsExactly(1L, 2L));

    // Message 2 was stored everywhere and pruned; a stale copy of message 1 is written again
    // (another node's buffer, a recovery scan that read it before its bit was cleared).
    TestPostgres.execute(postgres, "DELETE FROM intake_journal WHERE id = " + m2.journalId());
    writer().write(List.of(m1)).await();
    assertThat(archive()).hasSize(1).allSatisfy((key, seqs) -> assertThat(seqs).containsExactly(1L, 2L));
  }

  @Test
  void aRetryThatBringsNewMessagesNeverAddsThemToAWrittenObject() {
    AcceptedMessage m1 = journal(1);
    writer().write(List.of(m1)).await();
    AcceptedMessage m2 = journal(2);
    // Message 1 comes again in a batch with a new one of the same device and category.
    writer().write(List.of(m1, m2)).await();
    Map<String, List<Long>> objects = archive();
    assertThat(objects).hasSize(2);
    assertThat(objects.values()).containsExactlyInAnyOrder(List.of(1L), List.of(2L));
    assertThat(objects.keySet()).anySatisfy(k -> assertThat(k).endsWith("_" + m2.journalId() + ".json"));
  }

  @Test
  void twoWritersOnTheSameMessagesArchiveEachRecordOnce() {
    List<AcceptedMessage> batch = new ArrayList<>();
    for (long seq = 0; seq < 40; seq++) {
      batch.add(journal(seq));
    }
    List<AcceptedMessage> reversed = new ArrayList<>(batch);
    java.util.Collections.reverse(reversed);
    Future.all(writer().write(batch), writer().write(reversed.subList(0, 25)), writer().write(batch.subList(10, 30))).await();
    List<Long> expected = batch.stream().map(AcceptedMessage::seq).sorted().toList();
    assertThat(allRecords()).isEqualTo(expected);
  }
}
