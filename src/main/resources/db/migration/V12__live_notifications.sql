-- The live event stream (iot.live.status, iot.live.alerts, iot.live.commands): each change the
-- dashboard and bridge clients follow is announced with NOTIFY on channel iot_live, from the
-- table itself — so every writer of these tables (sinks, lifecycle, intake, API) is covered
-- without knowing about it, and a notification goes out only when its transaction commits, in
-- commit order. The live_events verticle LISTENs and publishes each one on the bus. Payloads stay
-- far below NOTIFY's 8000-byte limit (alert messages are cut at 1000 characters).
CREATE FUNCTION iot_live_alert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('iot_live', json_build_object('kind', 'alert', 'id', NEW.id, 'device_id', NEW.device_id,
    'alert_type', NEW.alert_type, 'severity', NEW.severity, 'message', left(NEW.message, 1000),
    'created_at', NEW.created_at)::text);
  RETURN NULL;
END $$;
CREATE TRIGGER iot_live_alert AFTER INSERT ON device_alerts FOR EACH ROW EXECUTE FUNCTION iot_live_alert();

CREATE FUNCTION iot_live_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.connection_status IS DISTINCT FROM OLD.connection_status THEN
    PERFORM pg_notify('iot_live', json_build_object('kind', 'status', 'device_id', NEW.device_id,
      'status', NEW.connection_status, 'at', COALESCE(NEW.connection_status_at, now()))::text);
  END IF;
  RETURN NULL;
END $$;
-- WHEN: the registry sink sets connection_status on every batch; unchanged rows never call the function.
CREATE TRIGGER iot_live_status AFTER UPDATE OF connection_status ON devices FOR EACH ROW
  WHEN (OLD.connection_status IS DISTINCT FROM NEW.connection_status) EXECUTE FUNCTION iot_live_status();

CREATE FUNCTION iot_live_command() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
    PERFORM pg_notify('iot_live', json_build_object('kind', 'command', 'cmd_id', NEW.cmd_id, 'device_id', NEW.device_id,
      'cmd', NEW.cmd, 'status', NEW.status, 'updated_at', now())::text);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER iot_live_command_insert AFTER INSERT ON device_commands FOR EACH ROW EXECUTE FUNCTION iot_live_command();
CREATE TRIGGER iot_live_command_update AFTER UPDATE OF status ON device_commands FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION iot_live_command();
