#!/usr/bin/env node
// Live power per meter from IoT Meter's event bus, and a request_status command.
//
// Node.js standard library only (net, tls). Speaks the TCP event-bus bridge protocol
// (bridge.tcp.port, 7000 by default): each frame is a 4-byte big-endian length followed by that
// many bytes of JSON {type, address, headers, body, replyAddress}.
//
//   node live_power.js --key "$IOT_API_KEY" --devices dc-meter-001,ac-meter-001
//   node live_power.js --key "$OPERATOR_KEY" --devices dc-meter-001 --command dc-meter-001
//
// --count N stops after N power readings; --tls (with --insecure for a test certificate) when
// the bridge has bridge.tcp.tls on. Exit status 0 on success, 1 when the bridge refused
// something (the reason is printed), 2 on bad arguments or no connection.
'use strict';
const net = require('net');
const tls = require('tls');
const crypto = require('crypto');

function parseArgs(argv) {
  const args = { host: '127.0.0.1', port: 7000, key: '', devices: 'dc-meter-001,dc-meter-002,ac-meter-001', count: 0,
    command: null, tls: false, insecure: false, timeout: 30 };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, '');
    if (name === 'tls' || name === 'insecure') { args[name] = true; continue; }
    if (!(name in args) || i + 1 >= argv.length) { console.error(`unknown or incomplete option ${argv[i]}`); process.exit(2); }
    const value = argv[++i];
    args[name] = typeof args[name] === 'number' ? Number(value) : value;
  }
  return args;
}

function frame(object) {
  const json = Buffer.from(JSON.stringify(object), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([length, json]);
}

// Active power of the newest sample time: V x I (x power factor on AC meters).
function powerW(measurements) {
  const byTs = new Map();
  for (const m of measurements) {
    if (!byTs.has(m.ts)) byTs.set(m.ts, {});
    byTs.get(m.ts)[m.type] = m.value;
  }
  const ts = [...byTs.keys()].sort().pop();
  if (ts === undefined) return [null, null];
  const v = byTs.get(ts);
  for (const [volts, amps] of [['voltage_dc', 'current_dc'], ['voltage_ac', 'current_ac']]) {
    if (volts in v && amps in v) return [v[volts] * v[amps] * (v.pf ?? 1), ts];
  }
  return [null, ts];
}

const args = parseArgs(process.argv.slice(2));
const headers = args.key ? { api_key: args.key } : {};
const socket = args.tls
  ? tls.connect({ host: args.host, port: args.port, rejectUnauthorized: !args.insecure, servername: args.host })
  : net.connect({ host: args.host, port: args.port });
socket.setTimeout(args.timeout * 1000, () => { console.error('no frame from the bridge in time'); process.exit(1); });
socket.on('error', (e) => { console.error(`cannot talk to the bridge at ${args.host}:${args.port}: ${e.message}`); process.exit(2); });
socket.on('close', () => { console.error('the bridge closed the connection'); process.exit(1); });

let buffered = Buffer.alloc(0);
let readings = 0;
const replyAddress = 'node-' + crypto.randomUUID();

function registerAll() {
  for (const device of args.devices.split(',').filter(Boolean)) {
    socket.write(frame({ type: 'register', address: 'iot.live.telemetry.' + device, headers }));
  }
}

function onFrame(msg) {
  if (msg.type === 'err') {
    console.error(args.command && msg.address === replyAddress ? `command refused: ${msg.message}` : `refused: ${msg.message}`);
    process.exit(1);
  }
  if (msg.type !== 'message') return;
  if (msg.address === replyAddress) {
    const b = msg.body;
    console.log(`command ${b.cmd} to ${b.device_id}: ${b.status} (cmd_id ${b.cmd_id})`);
    registerAll();
    return;
  }
  const [watts, ts] = powerW(msg.body.measurements || []);
  if (watts === null) return;
  console.log(`${msg.body.device_id} ${(watts / 1000).toFixed(1)} kW at ${ts} (seq ${msg.body.seq})`);
  readings++;
  if (args.count > 0 && readings >= args.count) {
    socket.removeAllListeners('close');
    socket.end();
    process.exit(0);
  }
}

socket.on(args.tls ? 'secureConnect' : 'connect', () => {
  if (args.command) {
    socket.write(frame({ type: 'send', address: 'iot.live.command.request', replyAddress, headers,
      body: { device_id: args.command, cmd: 'request_status' } }));
  } else {
    registerAll();
  }
});

socket.on('data', (chunk) => {
  buffered = Buffer.concat([buffered, chunk]);
  while (buffered.length >= 4) {
    const length = buffered.readUInt32BE(0);
    if (buffered.length < 4 + length) break;
    const json = buffered.subarray(4, 4 + length).toString('utf8');
    buffered = buffered.subarray(4 + length);
    onFrame(JSON.parse(json));
  }
});
