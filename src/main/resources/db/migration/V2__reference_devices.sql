-- The three meters every fresh installation of the reference system knows.
-- A migration (not startup code) so that a device an operator deletes stays deleted.

INSERT INTO devices (device_id, device_name, device_type, location, status, metadata) VALUES
('dc-meter-001', 'DC Traction Meter — Train 4521 Car 1', 'power_meter_dc',
 'Train 4521 / Car 1 / Main DC Bus', 'active',
 '{"voltage_system": "DC 750V", "accuracy_class": "0.5R", "train_id": "4521", "car": 1,
   "sampling_cadence_ms": 1000, "send_interval_s": 10, "hello_interval_s": 30}'),
('dc-meter-002', 'DC Traction Meter — Train 4521 Car 3', 'power_meter_dc',
 'Train 4521 / Car 3 / Main DC Bus', 'active',
 '{"voltage_system": "DC 750V", "accuracy_class": "0.5R", "train_id": "4521", "car": 3,
   "sampling_cadence_ms": 1000, "send_interval_s": 10, "hello_interval_s": 30}'),
('ac-meter-001', 'AC Traction Meter — Train 8010 Car 1', 'power_meter_ac',
 'Train 8010 / Car 1 / Main Transformer', 'active',
 '{"voltage_system": "AC 25kV 50Hz", "accuracy_class": "0.5R", "train_id": "8010", "car": 1,
   "sampling_cadence_ms": 1000, "send_interval_s": 10, "hello_interval_s": 30}')
ON CONFLICT (device_id) DO NOTHING;
