package io.iotmeter.support;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.protocol.AcceptedMessage;
import io.iotmeter.protocol.Category;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Listens to what the intake accepts ({@code iot.accepted.*}), as a sink would. */
public final class AcceptedTap implements AutoCloseable {

  private final List<AcceptedMessage> accepted = new CopyOnWriteArrayList<>();
  private final List<MessageConsumer<Object>> consumers = new ArrayList<>();

  public AcceptedTap(Vertx vertx) {
    for (Category category : Category.values()) {
      MessageConsumer<Object> consumer = vertx.eventBus().localConsumer(BusAddress.ACCEPTED.address(category.categoryName()),
          message -> accepted.add(AcceptedMessage.of(message.body())));
      consumer.completion().await();
      consumers.add(consumer);
    }
  }

  public List<AcceptedMessage> of(String deviceId) {
    return accepted.stream().filter(m -> m.deviceId().equals(deviceId)).toList();
  }

  public List<Long> seqs(String deviceId, Category category) {
    return of(deviceId).stream().filter(m -> m.category() == category).map(AcceptedMessage::seq).toList();
  }

  @Override
  public void close() {
    consumers.forEach(c -> c.unregister().await());
  }
}
