package io.iotmeter.sim;

/** What a simulated meter authenticates with (MQTT user name and password); null where none is needed. */
record MeterCredentials(String username, String password) {

  @Override
  public String toString() {
    return "MeterCredentials[" + username + "]"; // never the password
  }
}
