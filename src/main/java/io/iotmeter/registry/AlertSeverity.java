package io.iotmeter.registry;

/** How urgent an alert is. */
public enum AlertSeverity { INFO, WARNING, ERROR, CRITICAL }
