package io.iotmeter.api;

import io.iotmeter.protocol.ConnectionStatus;
import io.iotmeter.protocol.WireEnum;
import io.iotmeter.registry.DeviceRepository;
import io.iotmeter.registry.DeviceRepository.DeviceColumn;
import io.iotmeter.registry.DeviceStatus;
import io.iotmeter.registry.NewDevice;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/** Devices: CRUD with filters, heartbeat, connection status. */
public final class DeviceRoutes {

  private static final String UPDATABLE = "device_name, device_type, location, status, metadata";
  /** The largest page of GET /api/devices?limit=; without limit the whole list comes, as before. */
  static final int MAX_PAGE = 10_000;

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(DeviceRoutes.class);

  private final DeviceRepository devices;
  private final io.vertx.core.eventbus.EventBus bus;

  public DeviceRoutes(DeviceRepository devices, io.vertx.core.eventbus.EventBus bus) {
    this.devices = devices;
    this.bus = bus;
  }

  public void mount(ApiRoutes routes) {
    routes.get("/api/devices", this::list)
        .post("/api/devices", this::create)
        .get("/api/devices/:id", this::get)
        .put("/api/devices/:id", this::update)
        .delete("/api/devices/:id", this::delete)
        .post("/api/devices/:id/heartbeat", this::heartbeat)
        .get("/api/devices/:id/status", this::getStatus)
        .put("/api/devices/:id/status", this::putStatus);
  }

  private Future<ApiResponse> list(RoutingContext ctx) {
    Optional<DeviceStatus> status = Inputs.queryEnum(ctx, "status", DeviceStatus.class);
    Optional<String> type = Inputs.query(ctx, "type", 100);
    Optional<Integer> limit = Inputs.queryInt(ctx, "limit", 1, MAX_PAGE);
    int offset = Inputs.queryInt(ctx, "offset", 0, Integer.MAX_VALUE).orElse(0);
    return devices.list(status, type, limit, offset).map(ApiResponse::ok);
  }

  private Future<ApiResponse> get(RoutingContext ctx) {
    String id = Inputs.deviceIdParam(ctx);
    return devices.find(id).map(found -> ApiResponse.ok(found.orElseThrow(() -> Inputs.deviceNotFound(id))));
  }

  private Future<ApiResponse> create(RoutingContext ctx) {
    JsonInput body = JsonInput.of(ctx, false);
    String deviceId = body.requiredString("device_id", 100);
    if (!Inputs.isDeviceId(deviceId)) {
      throw ApiException.badRequest("Field 'device_id' may contain only letters, digits, '.', '_' and '-' "
          + "(starting with a letter or digit, at most 100 characters)");
    }
    String name = body.requiredString("device_name", 255);
    String type = body.optionalString("device_type", 100);
    String location = body.optionalString("location", 255);
    String statusText = body.optionalString("status", 20);
    DeviceStatus status = statusText == null ? DeviceStatus.ACTIVE
        : Inputs.parseEnum("status", statusText, DeviceStatus.class, "Field");
    JsonObject metadata = Optional.ofNullable(body.optionalObject("metadata")).orElseGet(JsonObject::new);
    checkBillingKeys(metadata);
    return devices.create(new NewDevice(deviceId, name, type, location, status, metadata)).map(ApiResponse::created);
  }

  /** The energy billing keys of a device's metadata (consumption_point_id, train_id, car, traction_system). */
  private static void checkBillingKeys(JsonObject metadata) {
    io.iotmeter.energy.DeviceMetadata.problem(metadata).ifPresent(problem -> {
      throw ApiException.badRequest("Field " + problem);
    });
  }

  private Future<ApiResponse> update(RoutingContext ctx) {
    String id = Inputs.deviceIdParam(ctx);
    JsonInput body = JsonInput.of(ctx, true);
    Map<DeviceColumn, Object> changes = new EnumMap<>(DeviceColumn.class);
    if (body.has("device_name")) {
      changes.put(DeviceColumn.DEVICE_NAME, body.requiredString("device_name", 255));
    }
    if (body.has("device_type")) {
      changes.put(DeviceColumn.DEVICE_TYPE, body.optionalString("device_type", 100));
    }
    if (body.has("location")) {
      changes.put(DeviceColumn.LOCATION, body.optionalString("location", 255));
    }
    if (body.has("status")) {
      DeviceStatus status = Inputs.parseEnum("status", body.requiredString("status", 20), DeviceStatus.class, "Field");
      changes.put(DeviceColumn.STATUS, WireEnum.wire(status));
    }
    if (body.has("metadata")) {
      JsonObject metadata = body.optionalObject("metadata");
      if (metadata == null) {
        throw ApiException.badRequest("Field 'metadata' must be a JSON object");
      }
      checkBillingKeys(metadata);
      changes.put(DeviceColumn.METADATA, metadata);
    }
    if (changes.isEmpty()) {
      throw ApiException.badRequest("No updatable field given (" + UPDATABLE + ")");
    }
    return devices.update(id, changes).map(updated -> ApiResponse.ok(updated.orElseThrow(() -> Inputs.deviceNotFound(id))));
  }

  /**
   * Deletes the device (its credentials go with its row) and has the identity verticle revoke it:
   * its sessions end on every node, a secret a node cached stops working, and an external
   * broker's client and role for it are removed. The answer names what the revocation did.
   */
  private Future<ApiResponse> delete(RoutingContext ctx) {
    String id = Inputs.deviceIdParam(ctx);
    return devices.delete(id).compose(deleted -> {
      if (!deleted) {
        throw Inputs.deviceNotFound(id);
      }
      JsonObject answer = new JsonObject().put("message", "Device deleted successfully");
      return bus.<JsonObject>request(io.iotmeter.bus.BusAddress.IDENTITY_MANAGE.address(),
              new JsonObject().put("action", "forget_device").put("device_id", id))
          .map(reply -> {
            JsonObject brokers = reply.body().getJsonObject("brokers");
            answer.put("revoked", true);
            return ApiResponse.ok(brokers == null ? answer : answer.put("brokers", brokers));
          })
          .recover(e -> {
            if (e instanceof io.vertx.core.eventbus.ReplyException reply
                && reply.failureType() == io.vertx.core.eventbus.ReplyFailure.NO_HANDLERS) {
              // No identity verticle runs (the API alone): the sessions of the device still end everywhere.
              bus.publish(io.iotmeter.bus.BusAddress.IDENTITY_REVOKED.address(), new JsonObject().put("device_id", id));
              return Future.succeededFuture(ApiResponse.ok(answer));
            }
            // Deleted all the same: its credentials went with the row, so no new session can start.
            LOG.warn("Device {} deleted, but its revocation was not confirmed: {}", id, e.getMessage());
            return Future.succeededFuture(ApiResponse.ok(answer.put("revoked", false).put("revocation_error", e.getMessage())));
          });
    });
  }

  private Future<ApiResponse> heartbeat(RoutingContext ctx) {
    String id = Inputs.deviceIdParam(ctx);
    return devices.touchLastSeen(id).map(found -> {
      if (!found) {
        throw Inputs.deviceNotFound(id);
      }
      return ApiResponse.ok(new JsonObject().put("message", "Heartbeat received"));
    });
  }

  private Future<ApiResponse> getStatus(RoutingContext ctx) {
    String id = Inputs.deviceIdParam(ctx);
    return devices.find(id).map(found -> {
      JsonObject device = found.orElseThrow(() -> Inputs.deviceNotFound(id));
      return ApiResponse.ok(new JsonObject()
          .put("device_id", device.getString("device_id"))
          .put("connection_status", device.getString("connection_status"))
          .put("last_seen", device.getString("last_seen"))
          .put("fw_version", device.getString("fw_version")));
    });
  }

  private Future<ApiResponse> putStatus(RoutingContext ctx) {
    String id = Inputs.deviceIdParam(ctx);
    JsonInput body = JsonInput.of(ctx, false);
    ConnectionStatus status = Inputs.parseEnum("connection_status",
        body.requiredString("connection_status", 20), ConnectionStatus.class, "Field");
    Map<DeviceColumn, Object> changes = new EnumMap<>(DeviceColumn.class);
    changes.put(DeviceColumn.CONNECTION_STATUS, WireEnum.wire(status));
    String fwVersion = body.optionalString("fw_version", 50);
    if (fwVersion != null) {
      changes.put(DeviceColumn.FW_VERSION, fwVersion);
    }
    return devices.update(id, changes).map(updated -> ApiResponse.ok(updated.orElseThrow(() -> Inputs.deviceNotFound(id))));
  }
}
