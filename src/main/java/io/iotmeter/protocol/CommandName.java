package io.iotmeter.protocol;

/** The commands a meter understands (protocol "Commands"). */
public enum CommandName { UPDATE_CONFIG, START_OTA, REBOOT, FACTORY_RESET, REQUEST_STATUS }
