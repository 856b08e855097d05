package io.iotmeter.mqtt;

import io.iotmeter.protocol.Category;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Set;

/**
 * The device credentials the API issues, as Mosquitto dynamic-security commands: one role per
 * device that allows only its own topics (publish its five device topics — its will included —,
 * subscribe to and receive its command topic), and a client with the device id as user name.
 * Issuing again replaces the client (which disconnects the old session); revoking deletes both.
 */
final class DynamicSecurity {

  /** Errors that only say the state is already as wanted. */
  private static final Set<String> HARMLESS = Set.of("Role already exists", "Client not found", "Role not found");

  private DynamicSecurity() {
  }

  static String role(String deviceId) {
    return "iot-device-" + deviceId;
  }

  static JsonArray provision(String deviceId, String password) {
    JsonArray acls = new JsonArray();
    for (Category category : Category.values()) {
      acls.add(acl("publishClientSend", category.topicFor(deviceId)));
    }
    String commands = "iot/" + deviceId + "/command";
    acls.add(acl("subscribeLiteral", commands)).add(acl("publishClientReceive", commands));
    return new JsonArray()
        .add(new JsonObject().put("command", "createRole").put("rolename", role(deviceId)).put("acls", acls))
        .add(new JsonObject().put("command", "deleteClient").put("username", deviceId))
        // clientid pins the client id to the device id, as the endpoint does: no device takes another's session.
        .add(new JsonObject().put("command", "createClient").put("username", deviceId).put("password", password)
            .put("clientid", deviceId).put("roles", new JsonArray().add(new JsonObject().put("rolename", role(deviceId)))));
  }

  static JsonArray revoke(String deviceId) {
    return new JsonArray()
        .add(new JsonObject().put("command", "deleteClient").put("username", deviceId))
        .add(new JsonObject().put("command", "deleteRole").put("rolename", role(deviceId)));
  }

  /** The first error among the responses that matters, or null when every command did its part. */
  static String firstError(JsonArray responses) {
    for (int i = 0; i < responses.size(); i++) {
      String error = responses.getJsonObject(i).getString("error");
      if (error != null && !HARMLESS.contains(error)) {
        return responses.getJsonObject(i).getString("command") + ": " + error;
      }
    }
    return null;
  }

  private static JsonObject acl(String type, String topic) {
    return new JsonObject().put("acltype", type).put("topic", topic).put("allow", true);
  }
}
