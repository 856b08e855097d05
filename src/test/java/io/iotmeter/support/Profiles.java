package io.iotmeter.support;

import io.iotmeter.boot.CommandLine;
import io.iotmeter.boot.ConfigLoader;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.util.Map;

/** A profile's configuration exactly as the launcher reads it (defaults, profile, no environment). */
public final class Profiles {

  private Profiles() {
  }

  public static JsonObject load(String profile) {
    Vertx vertx = Vertx.vertx();
    try {
      return ConfigLoader.load(vertx, CommandLine.parse(new String[] {"run", "--profile", profile}, Map.of()), Map.of()).await();
    } finally {
      vertx.close().await();
    }
  }
}
