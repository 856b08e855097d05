package io.iotmeter.mqtt;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.protocol.Category;
import io.iotmeter.protocol.DeviceTopic;
import io.iotmeter.security.SecuritySettings;
import io.iotmeter.security.VerifiedCache;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import io.vertx.mqtt.MqttAuth;
import io.vertx.mqtt.MqttEndpoint;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Who a client of the device endpoint is, and what it may touch. With security on a client
 * connects as a device: user name = device id, password = the credential the API issued; it may
 * publish only on its own device topics, subscribe only to its own command topic and leave a
 * will only on its own status topic. Revoked or rotated credentials end its connections at once.
 * With security off every client is anonymous and may do anything, as with the reference's
 * Mosquitto.
 */
final class DeviceAuthenticator {

  /** A refused CONNECT, with the CONNACK code to answer it with. */
  static final class Refused extends RuntimeException {
    final boolean badCredentials;

    Refused(boolean badCredentials, String message) {
      super(message, null, false, false);
      this.badCredentials = badCredentials;
    }

    /** 3.1.1 codes 4 / 5, or their MQTT 5 equivalents. */
    MqttConnectReturnCode code(int protocolVersion) {
      if (protocolVersion >= 5) {
        return badCredentials ? MqttConnectReturnCode.CONNECTION_REFUSED_BAD_USERNAME_OR_PASSWORD
            : MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED_5;
      }
      return badCredentials ? MqttConnectReturnCode.CONNECTION_REFUSED_BAD_USER_NAME_OR_PASSWORD
          : MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED;
    }
  }

  private final Vertx vertx;
  private final boolean enabled;
  private final IngestMetrics metrics;
  private final VerifiedCache verified;
  /** Connections of this instance by device id, to end them when their credentials go. */
  private final Map<String, Set<MqttEndpoint>> connected = new HashMap<>();
  private final MessageConsumer<JsonObject> revocations;
  private final io.iotmeter.security.FailedLogins failedLogins = new io.iotmeter.security.FailedLogins();

  DeviceAuthenticator(Vertx vertx, SecuritySettings settings, IngestMetrics metrics) {
    this.vertx = vertx;
    this.enabled = settings.enabled();
    this.metrics = metrics;
    this.verified = new VerifiedCache(Duration.ofSeconds(settings.cacheSeconds()));
    this.revocations = vertx.eventBus().<JsonObject>consumer(BusAddress.IDENTITY_REVOKED.address(), m -> {
      String deviceId = m.body().getString("device_id");
      if (deviceId != null) {
        revoke(deviceId);
      }
    });
  }

  /** The device the client authenticated as (null with security off), or a {@link Refused}. */
  Future<String> authenticate(MqttEndpoint endpoint) {
    if (!enabled) {
      return Future.succeededFuture(null);
    }
    MqttAuth auth = endpoint.auth();
    String username = auth == null || auth.getUsername() == null || auth.getUsername().isEmpty() ? null : auth.getUsername();
    String certified = certificateName(endpoint);
    if (certified != null && username != null && !username.equals(certified)) {
      return refuse(false, "user name " + username + " is not the certificate's " + certified);
    }
    String deviceId = certified != null ? certified : username;
    if (deviceId == null || (certified == null && auth.getPassword() == null)) {
      return refuse(false, "no user name and password (nor a client certificate)");
    }
    var will = endpoint.will();
    if (will != null && will.isWillFlag() && !will.getWillTopic().equals(Category.STATUS.topicFor(deviceId))) {
      return refuse(false, "a will outside " + Category.STATUS.topicFor(deviceId));
    }
    if (certified != null) {
      // The TLS handshake checked the certificate against mqtt.tls.client_ca_path; its CN must be a registered device.
      return vertx.eventBus().<JsonObject>request(BusAddress.IDENTITY_DEVICE_VERIFY.address(),
              new JsonObject().put("device_id", deviceId).put("certificate", true))
          .map(reply -> deviceId)
          .recover(e -> e instanceof ReplyException reply && reply.failureCode() == 401
              ? refuse(false, "certificate of an unregistered device " + deviceId) : Future.failedFuture(e));
    }
    String password = auth.getPassword();
    JsonObject known = verified.get(password);
    if (known != null && deviceId.equals(known.getString("device_id"))) {
      return Future.succeededFuture(deviceId);
    }
    String remote = endpoint.remoteAddress() == null ? "?" : endpoint.remoteAddress().hostAddress();
    return vertx.eventBus().<JsonObject>request(BusAddress.IDENTITY_DEVICE_VERIFY.address(),
            new JsonObject().put("device_id", deviceId).put("password", password).put("address", remote))
        .map(reply -> {
          verified.put(password, deviceId, reply.body());
          failedLogins.succeeded(remote);
          return deviceId;
        })
        .recover(e -> {
          if (!(e instanceof ReplyException reply) || reply.failureCode() != 401) {
            return Future.failedFuture(e);
          }
          // A guesser gets its refusals later and later ({@link FailedLogins}).
          Duration delay = failedLogins.failed(remote);
          Future<String> refused = refuse(true, "bad user name or password for " + deviceId);
          return delay.isZero() ? refused : Future.<Void>future(p -> vertx.setTimer(delay.toMillis(), id -> p.complete()))
              .compose(v -> refused);
        });
  }

  /** The CN of the client certificate the TLS handshake verified, or null (no TLS, no certificate). */
  static String certificateName(MqttEndpoint endpoint) {
    if (!endpoint.isSsl() || endpoint.sslSession() == null) {
      return null;
    }
    try {
      java.security.cert.Certificate[] chain = endpoint.sslSession().getPeerCertificates();
      if (chain.length == 0 || !(chain[0] instanceof java.security.cert.X509Certificate x509)) {
        return null;
      }
      for (javax.naming.ldap.Rdn rdn : new javax.naming.ldap.LdapName(x509.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          return String.valueOf(rdn.getValue());
        }
      }
      return null;
    } catch (javax.net.ssl.SSLPeerUnverifiedException noCertificate) {
      return null;
    } catch (javax.naming.InvalidNameException e) {
      return null;
    }
  }

  private Future<String> refuse(boolean badCredentials, String why) {
    metrics.error("mqtt_auth_refused");
    return Future.failedFuture(new Refused(badCredentials, why));
  }

  /**
   * Whether a client authenticated as {@code identity} may connect with {@code clientId}: its
   * device id, or its device id, a hyphen and a suffix (a meter with two connections). Anyone may
   * use any client id with security off ({@code identity} null).
   */
  static boolean mayUseClientId(String identity, String clientId) {
    return identity == null || clientId.equals(identity)
        || (clientId.length() > identity.length() + 1 && clientId.startsWith(identity) && clientId.charAt(identity.length()) == '-');
  }

  /** Whether {@code identity} may publish on {@code topic}: its own device topics only. */
  boolean mayPublish(String identity, String topic) {
    return identity == null || DeviceTopic.parse(topic).map(t -> t.deviceId().equals(identity)).orElse(false);
  }

  /** Whether {@code identity} may subscribe to {@code filter}: its own command topic only. */
  boolean maySubscribe(String identity, String filter) {
    return identity == null || filter.equals("iot/" + identity + "/command");
  }

  void connected(String identity, MqttEndpoint endpoint) {
    if (identity != null) {
      connected.computeIfAbsent(identity, d -> new HashSet<>()).add(endpoint);
    }
  }

  void disconnected(String identity, MqttEndpoint endpoint) {
    Set<MqttEndpoint> endpoints = identity == null ? null : connected.get(identity);
    if (endpoints != null) {
      endpoints.remove(endpoint);
      if (endpoints.isEmpty()) {
        connected.remove(identity);
      }
    }
  }

  private void revoke(String deviceId) {
    verified.revoke(deviceId);
    Set<MqttEndpoint> endpoints = connected.remove(deviceId);
    if (endpoints != null) {
      endpoints.forEach(MqttEndpoint::close);
    }
  }

  void close() {
    revocations.unregister();
  }
}
