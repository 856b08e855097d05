package io.iotmeter.registry;

/** Whether a device is in service (administrative state, set through the API). */
public enum DeviceStatus { ACTIVE, INACTIVE }
