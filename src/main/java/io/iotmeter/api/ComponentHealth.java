package io.iotmeter.api;

import io.iotmeter.config.Settings;
import io.iotmeter.bus.BusAddress;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.healthchecks.Status;

/**
 * Readiness of the components listed in {@code readiness.components}: each answers for itself
 * on {@code iot.health.<name>}, on this node or another one; no answer means it runs nowhere.
 */
public final class ComponentHealth {

  private ComponentHealth() {
  }

  public static HealthChecks register(Vertx vertx, HealthChecks checks, JsonObject config) {
    Settings.of(config, "readiness").texts("components")
        .forEach(name -> checks.register(name, 2_000, check(vertx, name)));
    return checks;
  }

  private static Handler<Promise<Status>> check(Vertx vertx, String name) {
    return promise -> vertx.eventBus().<JsonObject>request(BusAddress.HEALTH.address(name), new JsonObject(),
            new DeliveryOptions().setSendTimeout(1_500))
        .onSuccess(reply -> {
          JsonObject data = new JsonObject().put("cause", reply.body().getString("detail"));
          promise.complete(reply.body().getBoolean("ready", false) ? Status.OK() : Status.KO(data));
        })
        .onFailure(e -> promise.complete(Status.KO(new JsonObject().put("cause",
            e instanceof ReplyException r && r.failureType() == ReplyFailure.NO_HANDLERS ? name + " is not running" : e.getMessage()))));
  }
}
