package io.iotmeter.bus;

/**
 * The address catalogue: every event-bus address of the platform, how it is used and what
 * travels on it. This enum is the table of contents of the running system — a verticle that
 * sends or consumes anything on the bus names one of these constants, never a string literal.
 *
 * <p>Messages are JSON objects ({@code io.vertx.core.json.JsonObject}); the {@code shape}
 * column lists their fields. {@code CLUSTER} addresses may cross nodes in the cluster
 * profile; {@code LOCAL} addresses stay on the node that produced the message.
 */
public enum BusAddress {

  INBOUND("iot.inbound", Delivery.REQUEST, Scope.LOCAL,
      "an intake.InboundMessage object (LocalCodec); as JSON {topic, payload (bytes; URL-safe base64 without padding), "
          + "qos, source ('endpoint' | 'broker:<host:port>'), client_id, received_at (epoch ms)}",
      "mqtt-server (device endpoint), mqtt-bridge (broker client)",
      "intake",
      "Reply {outcome: accepted | duplicate | rejected, error_type?} once the message is committed to "
          + "the intake journal (or known as a copy, or refused as malformed). The MQTT side acknowledges "
          + "(PUBACK / PUBREC) only after this reply; a failed request (journal down, queue full) is not "
          + "acknowledged, so the sender delivers again. Node-local: an ingest node runs its MQTT "
          + "verticles and its intake together, and no message crosses the network twice."),

  ACCEPTED("iot.accepted.<category>", Delivery.PUBLISH, Scope.LOCAL,
      "a journal.AcceptedMessage object (LocalCodec) with the parsed message; as JSON {journal_id, device_id, category, "
          + "epoch, seq, device_ts, received_at (epoch ms), topic, source, payload (text as received)}",
      "intake, after the journal commit; sinks' journal recovery for what they missed",
      "archive, time-series and registry sinks; lifecycle (redelivery of waiting commands)",
      "One address per category (telemetry, hello, status, command_ack, ota_status). Node-local: "
          + "each node's sinks take the messages its own intake accepted; the journal is the source of "
          + "truth, so a sink that misses a message finds it there."),

  COMMAND_SEND("iot.command.send", Delivery.REQUEST, Scope.CLUSTER,
      "{v, cmd_id, ts, cmd, params, device_id}",
      "api (POST /api/devices/{id}/commands), lifecycle (redelivery)",
      "mqtt-server (device endpoint) or mqtt-bridge (every broker)",
      "Reply {delivered: true|false, queued: true|false} once the command is handed to the device's "
          + "connection or queued in its persistent session. No consumer (NO_HANDLERS) or a failure "
          + "means no MQTT path can take it: the API answers 202 with mqtt_error and the command stays "
          + "pending."),

  COMMAND_DELIVERED("iot.command.delivered", Delivery.SEND, Scope.CLUSTER,
      "{cmd_id, device_id}",
      "mqtt-server, when the device acknowledged the command's delivery (PUBCOMP; PUBACK at QoS 1); "
          + "mqtt-bridge, when a broker took it",
      "lifecycle (records delivered_at)",
      "Until delivered, a pending command is sent again whenever its device is heard from: a command "
          + "queued in memory for an offline device survives a platform restart that way."),

  MQTT_SESSION("iot.mqtt.session.<client_id>", Delivery.REQUEST, Scope.CLUSTER,
      "{v, cmd_id, ts, cmd, params, device_id} (a command envelope)",
      "mqtt-server, when iot.command.send reached a node that does not hold the device's connection",
      "the mqtt-server node where that client is connected",
      "Registered cluster-wide while the client is connected, so a command finds the node of its "
          + "device; the reply is that of iot.command.send. No consumer: the device is connected "
          + "nowhere (a persistent session elsewhere gets it when the device is back)."),

  MQTT_CLIENT("iot.mqtt.client.<client_id>", Delivery.SEND, Scope.LOCAL,
      "{topic, payload (bytes), qos, retain, properties?, subscription_ids?} (MQTT 5 message properties and matched subscription identifiers, when any)",
      "mqtt-server instances routing a publication",
      "the mqtt-server instance that holds that client's connection",
      "Registered while the client is connected, so a publication reaches the connection on its own "
          + "event loop whichever server instance routed it."),

  QUARANTINE_REPLAY("iot.quarantine.replay", Delivery.REQUEST, Scope.CLUSTER,
      "request {id}; reply {id, sink, journal_id}",
      "api (POST /api/quarantine/{id}/replay)",
      "intake (it owns the journal)",
      "Puts a quarantined message back into the intake journal for the sink that could not store it; "
          + "that sink reads it after its cursor and stores it (or quarantines it anew). Failures: 404 no such row, "
          + "409 already replayed or a message refused at the intake, 503 journal unavailable."),

  IDENTITY_KEY_VERIFY("iot.identity.key.verify", Delivery.REQUEST, Scope.CLUSTER,
      "request {key, address (the caller's host), may_hash (false on public routes)}; reply {id, name, role, created_at}",
      "api (a Bearer key it has not verified lately), bridges (a connection's api_key)",
      "identity",
      "Checks a presented API key: a key of another shape than an issued one (or the configured admin key) "
          + "is refused unseen; an issued key against its SHA-256; a bcrypt hash (configured or older) only when "
          + "may_hash, behind a gate bounded in all and per address. Failure 401: unknown key; 503: the identity "
          + "store is unavailable, or the slow check was shed. Callers cache a positive answer (security.cache_s) "
          + "until iot.identity.revoked names the key."),

  IDENTITY_DEVICE_VERIFY("iot.identity.device.verify", Delivery.REQUEST, Scope.CLUSTER,
      "request {device_id, password, address (the client's host)} or {device_id, certificate: true}; reply {device_id}",
      "mqtt-server (a CONNECT with user name and password, or with a verified client certificate whose CN is device_id)",
      "identity",
      "Checks a device's MQTT password (one of another shape than an issued one is refused unseen). Failure 401: "
          + "no credentials or a wrong password (CONNACK 'bad user name or password'); 503: the identity store is "
          + "unavailable, or a slow (bcrypt) check was shed ('server unavailable')."),

  IDENTITY_MANAGE("iot.identity.manage", Delivery.REQUEST, Scope.CLUSTER,
      "request {action: create_key {name, role} | list_keys | delete_key {id} | issue_device {device_id} "
          + "| revoke_device {device_id} | forget_device {device_id} | register_device {device_id, device_name, device_type, "
          + "metadata}}; reply create_key {id, name, role, key, created_at}, "
          + "list_keys {keys: [{id, name, role, created_at}]}, delete_key {id, deleted}, issue_device {device_id, username, "
          + "password}, revoke_device {device_id, revoked}, forget_device {device_id, revoked, brokers?}, "
          + "register_device {device_id, registered}",
      "api (/api/keys, /api/devices/{id}/credentials, DELETE /api/devices/{id}: forget_device), simulator (its meters' own "
          + "credentials; its traction meters' registration)",
      "identity",
      "The only place secrets are created; replies carry a new secret once and it is never stored "
          + "or logged. Failures: 400 invalid field, 404 no such key or device, 503 store unavailable."),

  BRIDGE_PROVISION("iot.bridge.provision", Delivery.REQUEST, Scope.CLUSTER,
      "request {action: set | delete, device_id, password (set)}; reply {brokers: {<host:port>: ok | <error>}}",
      "identity (credentials issued or revoked)",
      "mqtt-bridge with mqtt_bridge.dynamic_security (one instance provisions every broker)",
      "Puts device credentials into each external broker's Mosquitto dynamic security (a role with "
          + "the device's own topics only, a client with its password), or removes them. No consumer: "
          + "no bridge provisions brokers, which is right for the device endpoint. Fails (503) only when "
          + "no broker took them."),

  IDENTITY_REVOKED("iot.identity.revoked", Delivery.PUBLISH, Scope.CLUSTER,
      "{key_id} or {device_id}",
      "identity (a key deleted; device credentials issued again or revoked; a device deleted), api (a device deleted where no identity verticle runs)",
      "api (forgets the key, ends the bus tap streams it opened), bridges (close its connections), mqtt-server (disconnects the device's connections, forgets its password)",
      "Published to every node, so a revocation takes effect at once everywhere."),

  LIVE_TELEMETRY("iot.live.telemetry.<device_id>", Delivery.PUBLISH, Scope.CLUSTER,
      "{device_id, seq, ts (ISO-8601), received_at (ISO-8601), measurements: [{type, value, unit, ts}]}",
      "live_feed, on every node that runs an intake, for each telemetry message its intake accepted",
      "the bridges (viewer and up), for browsers and non-JVM clients; any verticle",
      "Public and stable (docs/bus-bridge.md): what a live chart needs, not the internal record. "
          + "One address per device, so a client receives only the meters it registered for. "
          + "Published after the journal commit; a copy the intake dropped is never published. Sent as a "
          + "live.LiveTelemetry through bus.JsonViewCodec: its JSON is built only for a consumer."),

  LIVE_STATUS("iot.live.status", Delivery.PUBLISH, Scope.CLUSTER,
      "{device_id, status: online | offline, at (ISO-8601)}",
      "live_events (one active per cluster), from the registry's connection status",
      "the bridges (viewer and up)",
      "Public and stable. Every change of a device's online/offline state as the registry "
          + "commits it (status messages, last wills, liveness): a trigger on devices NOTIFYs iot_live."),

  LIVE_ALERTS("iot.live.alerts", Delivery.PUBLISH, Scope.CLUSTER,
      "{id, device_id, alert_type, severity, message, created_at (ISO-8601)}",
      "live_events, for each new row of the alerts table",
      "the bridges (viewer and up)",
      "Public and stable. Every new alert, whoever raised it (a trigger on device_alerts NOTIFYs iot_live)."),

  LIVE_COMMANDS("iot.live.commands", Delivery.PUBLISH, Scope.CLUSTER,
      "{cmd_id, device_id, cmd, status, updated_at (ISO-8601)}",
      "live_events, for each command whose status changed (created, acknowledged, timed out)",
      "the bridges (viewer and up)",
      "Public and stable: an operator who sent a command sees it acknowledged without polling."),

  LIVE_INGEST("iot.live.ingest", Delivery.PUBLISH, Scope.CLUSTER,
      "{node, at (ISO-8601), interval_s, accepted, accepted_per_s, devices}",
      "live_feed on every intake node, every live.ingest_interval_ms",
      "the bridges (viewer and up)",
      "Public and stable: what this node's intake accepted in the last interval, and from how many devices."),

  LIVE_COMMAND_REQUEST("iot.live.command.request", Delivery.REQUEST, Scope.CLUSTER,
      "request {device_id, cmd, params?}; reply {cmd_id, device_id, cmd, status, message, mqtt_error?} and "
          + "header status (201 sent, 202 stored but not published)",
      "the bridges (operator and up), on behalf of a client",
      "api: the same validation, storage, hand-off and audit as POST /api/devices/{id}/commands",
      "Public and stable. The bridge puts the caller's key id, name and role in the headers iot-key-id, "
          + "iot-key-name and iot-role (a client's own values are dropped). Failures carry the REST status: "
          + "400 invalid command, 403 role, 404 unknown device, 503 store unavailable."),

  LIVE_ALERT_ACK("iot.live.alert.ack", Delivery.REQUEST, Scope.CLUSTER,
      "request {alert_id}; reply the acknowledged alert {id, device_id, alert_type, severity, message, "
          + "acknowledged, created_at}",
      "the bridges (operator and up)",
      "api: the same as POST /api/alerts/{alert_id}/acknowledge, audited",
      "Public and stable; headers as for iot.live.command.request. Failures: 400, 403, 404, 503."),

  DEBUG_TAP_OPEN("iot.debug.tap.open", Delivery.PUBLISH, Scope.CLUSTER,
      "{stream_id, node, address: [patterns], rate, sample, reply_to}",
      "api (GET /debug/bus), again every 5 s while its stream is open",
      "the bus tap of every other node with debug.bus_tap (api, ops)",
      "Each node opens a stream of its own bus with the same patterns, rate and sampling and sends what "
          + "it sees to reply_to; a stream not renewed for 15 s closes (a requester that died leaves "
          + "nothing running). A node at debug.max_streams answers {refused}."),

  DEBUG_TAP_CLOSE("iot.debug.tap.close", Delivery.PUBLISH, Scope.CLUSTER,
      "{stream_id}",
      "api, when the GET /debug/bus client went away",
      "the bus tap of every node",
      "Closes that stream on every node at once."),

  DEBUG_TAP_STREAM("iot.debug.tap.stream.<stream_id>", Delivery.SEND, Scope.CLUSTER,
      "{node, event: {time, address, kind, body, truncated?, body_length?}} | {node, skipped} | {node, refused}",
      "each node's bus tap, for a stream another node opened",
      "the api node that serves that GET /debug/bus",
      "Registered while the stream is open. The tap never shows iot.debug.* traffic, so a stream "
          + "does not show itself."),

  HEALTH("iot.health.<component>", Delivery.REQUEST, Scope.CLUSTER,
      "request {}; reply {ready: boolean, detail}",
      "api (/readyz)",
      "intake, sinks, mqtt-server, mqtt-bridge (each answers for itself)",
      "No consumer means the component runs nowhere: /readyz reports it as down when the profile "
          + "lists it under readiness.components.");

  /** How a message is delivered. */
  public enum Delivery {
    /** Point-to-point with a reply ({@code request}). */
    REQUEST,
    /** Point-to-point, no reply ({@code send}). */
    SEND,
    /** To every consumer ({@code publish}). */
    PUBLISH
  }

  /** Whether the address spans the cluster or stays on one node. */
  public enum Scope { CLUSTER, LOCAL }

  private final String address;
  private final Delivery delivery;
  private final Scope scope;
  private final String shape;
  private final String producers;
  private final String consumers;
  private final String notes;

  BusAddress(String address, Delivery delivery, Scope scope, String shape,
             String producers, String consumers, String notes) {
    this.address = address;
    this.delivery = delivery;
    this.scope = scope;
    this.shape = shape;
    this.producers = producers;
    this.consumers = consumers;
    this.notes = notes;
  }

  public String address() { return address; }
  public Delivery delivery() { return delivery; }
  public Scope scope() { return scope; }
  public String shape() { return shape; }
  public String producers() { return producers; }
  public String consumers() { return consumers; }
  public String notes() { return notes; }

  /** The concrete address of a family such as {@code iot.accepted.<category>}. */
  public String address(String part) {
    int open = address.indexOf('<');
    if (open < 0) {
      throw new IllegalStateException(address + " is a single address");
    }
    return address.substring(0, open) + part;
  }

  @Override
  public String toString() {
    return address;
  }
}
