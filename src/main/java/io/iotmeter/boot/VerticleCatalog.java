package io.iotmeter.boot;

import io.iotmeter.api.ApiVerticle;
import io.vertx.core.Deployable;

import java.util.function.Supplier;

/**
 * Every verticle a node can deploy, under the name the {@code deploy} configuration uses, in
 * start order: producers of a store before its consumers, the API last so it only answers once
 * everything behind it runs. Undeployment runs in the reverse order.
 */
public enum VerticleCatalog {

  API("api", ApiVerticle::new);

  private final String configName;
  private final Supplier<Deployable> factory;

  VerticleCatalog(String configName, Supplier<Deployable> factory) {
    this.configName = configName;
    this.factory = factory;
  }

  public String configName() {
    return configName;
  }

  public Supplier<Deployable> factory() {
    return factory;
  }
}
