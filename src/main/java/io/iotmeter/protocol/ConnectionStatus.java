package io.iotmeter.protocol;

/** A device's link state (protocol "Liveness"): learned from traffic, status messages and timeouts. */
public enum ConnectionStatus { ONLINE, OFFLINE, UNKNOWN }
