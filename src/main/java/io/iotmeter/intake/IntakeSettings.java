package io.iotmeter.intake;

import io.iotmeter.config.Settings;
import io.iotmeter.config.StartupException;
import io.iotmeter.journal.SinkKind;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.List;

/**
 * The {@code intake} section, typed (meaning and defaults in {@code conf/default.yaml}).
 *
 * @param registerUnknown  a message of an unregistered device registers it (else it is refused as evidence);
 *                         {@code unknown_devices: auto} registers only with security off
 * @param sinks            the sinks that must store every message
 * @param maxQueueWait     once the oldest request has waited this long, new ones are refused
 * @param linger           a batch smaller than maxBatch waits until its oldest request is this old
 */
record IntakeSettings(boolean registerUnknown, List<SinkKind> sinks, int maxBatch, Duration linger, int maxQueue,
                      long maxQueueBytes,
                      Duration maxQueueWait, Duration gapAlertDelay, Duration gapScanInterval, Duration pruneInterval,
                      Duration dedupWindow, int rejectedEvidencePerMinute, Duration rejectedRetention,
                      Duration replayedRetention) {

  static IntakeSettings of(JsonObject config, boolean secured) {
    Settings intake = Settings.of(config, "intake");
    boolean registerUnknown = switch (intake.text("unknown_devices")) {
      case "register" -> true;
      case "reject" -> false;
      // A secured platform knows its devices (they were given credentials); the reference registered any.
      case "auto" -> !secured;
      default -> throw new StartupException("Setting intake.unknown_devices must be register, reject or auto, not '"
          + intake.text("unknown_devices") + "'");
    };
    List<SinkKind> sinks = intake.texts("sinks").stream().map(SinkKind::fromConfigName).toList();
    return new IntakeSettings(registerUnknown, sinks, intake.integer("max_batch"), intake.millis("linger_ms"),
        intake.integer("max_queue"),
        intake.whole("max_queue_bytes"), intake.millis("max_queue_wait_ms"), intake.millis("gap_alert_delay_ms"),
        intake.millis("gap_scan_interval_ms"), intake.millis("prune_interval_ms"), intake.seconds("dedup_window_s"),
        intake.integer("rejected_evidence_per_minute"), Duration.ofHours(intake.whole("rejected_retention_h")),
        Duration.ofHours(intake.whole("replayed_retention_h")));
  }
}
