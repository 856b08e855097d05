package io.iotmeter.api;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.protocol.CommandEnvelope;
import io.iotmeter.protocol.CommandName;
import io.iotmeter.protocol.CommandParams;
import io.iotmeter.protocol.CommandStatus;
import io.iotmeter.protocol.InvalidCommandException;
import io.iotmeter.protocol.WireEnum;
import io.iotmeter.registry.CommandRepository;
import io.iotmeter.registry.DeviceRepository;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/**
 * Commands: create (store, then hand to MQTT over the bus), list, acknowledge.
 *
 * <p>A command is stored before it is handed on, so it is never lost: when no MQTT verticle
 * takes it, the answer is 202 with {@code mqtt_error} and the command stays {@code pending},
 * exactly as the reference system answers when its broker is down.
 */
public final class CommandRoutes {

  private final DeviceRepository devices;
  private final CommandRepository commands;
  private final EventBus bus;
  private final long publishTimeoutMs;
  private final MeterRegistry metrics;

  private final CommandDestinations destinations;

  CommandRoutes(DeviceRepository devices, CommandRepository commands, EventBus bus,
                long publishTimeoutMs, MeterRegistry metrics, CommandDestinations destinations) {
    this.destinations = destinations;
    // Every command and outcome from the first scrape, at 0.
    for (CommandName name : CommandName.values()) {
      for (String outcome : new String[] {"published", "not_published"}) {
        commandCounter(metrics, WireEnum.wire(name), outcome);
      }
    }
    this.devices = devices;
    this.commands = commands;
    this.bus = bus;
    this.publishTimeoutMs = publishTimeoutMs;
    this.metrics = metrics;
  }

  public void mount(ApiRoutes routes) {
    routes.post("/api/devices/:id/commands", this::create)
        .get("/api/devices/:id/commands", this::list)
        .put("/api/commands/:cmd_id/ack", this::acknowledge)
        .get("/api/commands/:cmd_id", this::get);
  }

  private Future<ApiResponse> create(RoutingContext ctx) {
    return create(Inputs.deviceIdParam(ctx), JsonInput.of(ctx, false), issuer(ctx));
  }

  /**
   * A new command for {@code deviceId}: validated, stored, handed to MQTT. The REST route and
   * the bridges' {@code iot.live.command.request} both come here, so both validate alike.
   */
  Future<ApiResponse> create(String deviceId, JsonInput body, String issuer) {
    String cmdText = body.requiredString("cmd", 50);
    CommandName cmd = WireEnum.parse(CommandName.class, cmdText).orElseThrow(() -> ApiException.badRequest(
        "Invalid command: " + Inputs.printable(cmdText) + " (valid: " + String.join(", ", WireEnum.words(CommandName.class)) + ")"));
    JsonObject params = Optional.ofNullable(body.optionalObject("params")).orElseGet(JsonObject::new);
    try {
      CommandParams.validate(cmd, params);
    } catch (InvalidCommandException e) {
      throw ApiException.badRequest(e.getMessage());
    }
    destinations.check(cmd, params);
    CommandEnvelope envelope = new CommandEnvelope(UUID.randomUUID(), deviceId, Instant.now(), cmd, params);
    return KnownDevice.require(devices, deviceId)
        .compose(v -> commands.create(envelope.cmdId(), deviceId, cmd, params, issuer))
        .compose(stored -> handToMqtt(envelope));
  }

  private static String issuer(RoutingContext ctx) {
    ApiGate.Caller caller = ApiGate.caller(ctx);
    return caller == null ? null : caller.name();
  }

  private Future<ApiResponse> handToMqtt(CommandEnvelope envelope) {
    JsonObject answer = new JsonObject()
        .put("cmd_id", envelope.cmdId().toString())
        .put("device_id", envelope.deviceId())
        .put("cmd", WireEnum.wire(envelope.cmd()))
        .put("status", WireEnum.wire(CommandStatus.PENDING));
    return bus.request(BusAddress.COMMAND_SEND.address(), envelope.toBusMessage(),
            new DeliveryOptions().setSendTimeout(publishTimeoutMs))
        // MQTT has it: a failure to note that must not turn the answer into "not published".
        .compose(reply -> commands.markPublished(envelope.cmdId()).recover(e -> Future.succeededFuture()))
        .map(published -> {
          count(envelope, "published");
          return ApiResponse.created(answer.put("message", "Command sent to device"));
        })
        .recover(failure -> {
          count(envelope, "not_published");
          return Future.succeededFuture(new ApiResponse(202, answer
              .put("message", "Command stored but not published; it stays pending")
              .put("mqtt_error", describe(failure))));
        });
  }

  private String describe(Throwable failure) {
    if (failure instanceof ReplyException reply) {
      return switch (reply.failureType()) {
        case NO_HANDLERS -> "No MQTT endpoint or broker bridge is running";
        case TIMEOUT -> "MQTT did not take the command within " + publishTimeoutMs + " ms";
        default -> "MQTT refused the command: " + reply.getMessage();
      };
    }
    return String.valueOf(failure.getMessage());
  }

  private void count(CommandEnvelope envelope, String outcome) {
    commandCounter(metrics, WireEnum.wire(envelope.cmd()), outcome).increment();
  }

  private static Counter commandCounter(MeterRegistry metrics, String cmd, String outcome) {
    return Counter.builder("device_manager.mqtt.commands").description("Commands handed to MQTT, by command and outcome")
        .tags("cmd", cmd, "status", outcome).register(metrics);
  }

  private Future<ApiResponse> list(RoutingContext ctx) {
    String deviceId = Inputs.deviceIdParam(ctx);
    Optional<CommandStatus> status = Inputs.queryEnum(ctx, "status", CommandStatus.class);
    return KnownDevice.require(devices, deviceId).compose(v -> Paging.list(ctx, "commands", (limit, after) ->
        commands.list(deviceId, status, limit, after == null ? null : after.createdAt(), after == null ? null : after.id())));
  }

  private Future<ApiResponse> get(RoutingContext ctx) {
    UUID cmdId = Inputs.uuidParam(ctx, "cmd_id", "Command not found");
    return commands.findWithProgress(cmdId)
        .map(found -> ApiResponse.ok(found.orElseThrow(() -> ApiException.notFound("Command not found: " + cmdId))));
  }

  private Future<ApiResponse> acknowledge(RoutingContext ctx) {
    UUID cmdId = Inputs.uuidParam(ctx, "cmd_id", "Command not found");
    JsonInput body = JsonInput.of(ctx, false);
    // "status" is accepted as a synonym of "result", as the reference system does.
    String field = body.has("result") ? "result" : "status";
    String resultText = body.optionalString(field, 20);
    if (resultText == null) {
      throw ApiException.badRequest("Missing required field: result");
    }
    CommandStatus result = WireEnum.parse(CommandStatus.class, resultText)
        .filter(CommandStatus::isAckResult)
        .orElseThrow(() -> ApiException.badRequest("Field '" + field + "' must be one of "
            + "[accepted, rejected, error, unsupported], not '" + Inputs.printable(resultText) + "'"));
    String detail = body.optionalString("detail", 4000);
    return commands.acknowledge(cmdId, result, detail)
        .map(found -> ApiResponse.ok(found.orElseThrow(() -> ApiException.notFound("Command not found: " + cmdId))));
  }
}
