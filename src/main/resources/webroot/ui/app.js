// IoT Meter live dashboard: the REST API for what is, the SockJS event-bus bridge
// (/eventbus/websocket, the bridge's JSON frames as they are) for what happens. No build step,
// no framework; the chart library (uPlot) comes from its webjar.
'use strict';

const KEY = 'iot.api_key';
const state = {
  key: sessionStorage.getItem(KEY) || '',
  who: null,            // {name, role, security}
  devices: new Map(),   // device_id -> device (REST shape, kept live)
  openAlerts: new Map(),
  sort: { field: 'device_id', asc: true },
  page: null,
  device: null,         // the device page's id
  charts: {},
  ingest: new Map(),
};

// ------------------------------------------------------------------ REST

async function api(path, options = {}) {
  const headers = Object.assign({ 'Accept': 'application/json' }, options.headers || {});
  if (state.key) headers['Authorization'] = 'Bearer ' + state.key;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method: options.method || 'GET', headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error((body && (body.error || body.message)) || response.status + ' ' + response.statusText);
  return body;
}

function can(role) {
  const order = ['viewer', 'operator', 'admin'];
  return state.who && order.indexOf(state.who.role) >= order.indexOf(role);
}

// ------------------------------------------------------------------ the bridge

const bus = {
  socket: null, handlers: new Map(), replies: new Map(), backoff: 500, pinger: null, open: false,
  received: {},  // frames by type (shown by the browser tests when something does not arrive)

  connect() {
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/eventbus/websocket';
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      this.open = true;
      this.backoff = 500;
      setLive(true);
      for (const address of this.handlers.keys()) this.frame({ type: 'register', address });
      this.pinger = setInterval(() => this.frame({ type: 'ping' }), 5000);
    };
    // The raw WebSocket transport sends its frames as binary messages (UTF-8 JSON).
    socket.binaryType = 'arraybuffer';
    socket.onmessage = (event) => this.onFrame(JSON.parse(typeof event.data === 'string' ? event.data
      : new TextDecoder().decode(event.data)));
    socket.onclose = () => {
      this.open = false;
      setLive(false);
      clearInterval(this.pinger);
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 15000);
    };
  },

  frame(frame) {
    if (!this.open) return false;
    if (state.key) frame.headers = Object.assign({ api_key: state.key }, frame.headers || {});
    this.socket.send(JSON.stringify(frame));
    return true;
  },

  register(address, handler) {
    if (!this.handlers.has(address)) {
      this.handlers.set(address, new Set());
      this.frame({ type: 'register', address });
    }
    this.handlers.get(address).add(handler);
  },

  unregister(address) {
    if (this.handlers.delete(address)) this.frame({ type: 'unregister', address });
  },

  request(address, body) {
    return new Promise((resolve, reject) => {
      // The SockJS bridge takes reply addresses of at most 36 characters: a bare UUID.
      const replyAddress = crypto.randomUUID();
      this.replies.set(replyAddress, { resolve, reject });
      if (!this.frame({ type: 'send', address, body, replyAddress })) {
        this.replies.delete(replyAddress);
        reject(new Error('not connected to the bridge'));
      }
      setTimeout(() => {
        if (this.replies.delete(replyAddress)) reject(new Error('no answer within 15 s'));
      }, 15000);
    });
  },

  onFrame(frame) {
    this.received[frame.type] = (this.received[frame.type] || 0) + 1;
    // The SockJS bridge delivers messages and replies as 'rec' (the TCP bridge says 'message').
    const message = frame.type === 'rec' || frame.type === 'message';
    if (message && this.replies.has(frame.address)) {
      this.replies.get(frame.address).resolve(frame);
      this.replies.delete(frame.address);
    } else if (frame.type === 'err' && frame.address && this.replies.has(frame.address)) {
      this.replies.get(frame.address).reject(new Error(frame.message || frame.body));
      this.replies.delete(frame.address);
    } else if (message) {
      (this.handlers.get(frame.address) || []).forEach(h => h(frame.body));
    } else if (frame.type === 'err' && frame.body !== 'rejected') {
      // A refusal the page did not expect: shown where the user looks, not in the console.
      document.getElementById('command-result').textContent = String(frame.body);
    }
  },
};

function setLive(on) {
  const badge = document.getElementById('live');
  badge.textContent = on ? 'live' : 'live: off';
  badge.className = 'badge ' + (on ? 'on' : 'off');
}

// ------------------------------------------------------------------ helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v; else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c == null ? '' : String(c)));
  return node;
}

function when(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
}

function trainOf(device) {
  const m = device.metadata || {};
  const train = m.train_id || m.train || '';
  const car = m.car_id || m.car || '';
  return train || car ? [train, car].filter(Boolean).join(' / ') : (device.location || '–');
}

// V × I (× power factor on AC meters), as the platform derives power_active.
function samplesOf(body) {
  const byTs = new Map();
  for (const m of body.measurements || []) {
    if (!byTs.has(m.ts)) byTs.set(m.ts, {});
    byTs.get(m.ts)[m.type] = m.value;
  }
  return [...byTs.entries()].sort((a, b) => a[0] < b[0] ? -1 : 1).map(([ts, v]) => {
    const volts = v.voltage_dc ?? v.voltage_ac, amps = v.current_dc ?? v.current_ac;
    const power = volts != null && amps != null ? volts * amps * (v.pf ?? 1) / 1000 : null;
    return { t: Date.parse(ts) / 1000, volts, amps, power };
  });
}

// ------------------------------------------------------------------ fleet

async function loadFleet() {
  const [devices, alerts] = await Promise.all([api('/api/devices'), api('/api/alerts?acknowledged=false&limit=1000')]);
  state.devices = new Map(devices.map(d => [d.device_id, d]));
  state.openAlerts = new Map();
  for (const a of alerts) state.openAlerts.set(a.device_id, (state.openAlerts.get(a.device_id) || 0) + 1);
  renderFleet();
}

function renderFleet() {
  const filter = document.getElementById('fleet-filter').value.trim().toLowerCase();
  const rows = [...state.devices.values()].map(d => Object.assign({}, d, { train: trainOf(d),
    open_alerts: state.openAlerts.get(d.device_id) || 0 }))
    .filter(d => !filter || [d.device_id, d.device_type, d.train, d.connection_status].join(' ').toLowerCase().includes(filter));
  const { field, asc } = state.sort;
  rows.sort((a, b) => (a[field] ?? '') < (b[field] ?? '') ? (asc ? -1 : 1) : (a[field] ?? '') > (b[field] ?? '') ? (asc ? 1 : -1) : 0);
  const body = document.querySelector('#fleet tbody');
  body.replaceChildren(...rows.map(d => el('tr', { 'data-device': d.device_id },
    el('td', {}, el('a', { href: '#/device/' + encodeURIComponent(d.device_id) }, d.device_id)),
    el('td', {}, d.device_type || '–'), el('td', {}, d.train),
    el('td', {}, el('span', { class: 'status ' + (d.connection_status || 'unknown') }, d.connection_status || 'unknown')),
    el('td', { class: 'last-seen' }, when(d.last_seen)), el('td', {}, d.fw_version || '–'), el('td', {}, d.open_alerts))));
  document.querySelectorAll('#fleet th').forEach(th => {
    th.classList.toggle('sorted', th.dataset.sort === field);
    th.classList.toggle('asc', th.dataset.sort === field && asc);
  });
}

function onStatus(event) {
  const device = state.devices.get(event.device_id);
  if (device) {
    device.connection_status = event.status;
    if (state.page === 'fleet') renderFleet();
  }
  if (state.page === 'device' && state.device === event.device_id) renderFacts();
}

function onAlert(alert) {
  state.openAlerts.set(alert.device_id, (state.openAlerts.get(alert.device_id) || 0) + 1);
  if (state.page === 'fleet') renderFleet();
  if (state.page === 'alerts') loadAlerts();
}

// ------------------------------------------------------------------ device

function chart(id, label, color) {
  const host = document.getElementById(id);
  host.querySelectorAll('.uplot').forEach(n => n.remove());
  const plot = new uPlot({ width: Math.max(380, host.clientWidth - 12), height: 220,
    series: [{}, { label, stroke: color, width: 1.5, spanGaps: false }], axes: [{}, { size: 70 }] }, [[], []], host);
  return { host, plot, xs: [], ys: [] };
}

function append(c, points) {
  for (const [t, y] of points) {
    if (y == null || (c.xs.length && t <= c.xs[c.xs.length - 1])) continue;
    c.xs.push(t); c.ys.push(y);
  }
  const keep = 3600;
  if (c.xs.length > keep) { c.xs.splice(0, c.xs.length - keep); c.ys.splice(0, c.ys.length - keep); }
  c.plot.setData([c.xs, c.ys]);
  c.host.dataset.points = String(c.xs.length);
}

async function loadDevice(id) {
  state.device = id;
  document.getElementById('device-title').textContent = id;
  document.getElementById('command-form').hidden = !can('operator');
  document.getElementById('command-result').textContent = '';
  const device = await api('/api/devices/' + encodeURIComponent(id));
  state.devices.set(id, device);
  renderFacts();
  const ac = (device.device_type || '').includes('ac');
  state.charts = { voltage: chart('chart-voltage', 'V', '#2455c3'), current: chart('chart-current', 'A', '#c36b24'),
    power: chart('chart-power', 'kW', '#1f8a4c') };
  const stop = new Date(), start = new Date(stop.getTime() - 15 * 60 * 1000);
  const range = '&start=' + start.toISOString() + '&stop=' + stop.toISOString();
  const path = (metric) => '/api/devices/' + encodeURIComponent(id) + '/metrics?metric=' + metric + range;
  const series = (points) => points.map(p => [Date.parse(p.time) / 1000, p.value]);
  const [volts, amps, power] = await Promise.all([path(ac ? 'voltage_ac' : 'voltage_dc'), path(ac ? 'current_ac' : 'current_dc'),
    path('power_active')].map(p => api(p)));
  append(state.charts.voltage, series(volts));
  append(state.charts.current, series(amps));
  append(state.charts.power, series(power).map(([t, w]) => [t, w / 1000]));
  bus.register('iot.live.telemetry.' + id, onTelemetry);
  loadCommands(id);
  loadEnergy(id);
  loadDevicePeriods(id);
  loadRaw(id);
}

function renderFacts() {
  const d = state.devices.get(state.device);
  if (!d) return;
  document.getElementById('device-facts').replaceChildren(
    el('span', {}, 'status ', el('span', { class: 'status ' + (d.connection_status || 'unknown'), id: 'device-status' }, d.connection_status || 'unknown')),
    el('span', {}, 'type ', el('b', {}, d.device_type || '–')), el('span', {}, 'train / car ', el('b', {}, trainOf(d))),
    el('span', {}, 'firmware ', el('b', {}, d.fw_version || '–')), el('span', {}, 'last seen ', el('b', { id: 'device-last-seen' }, when(d.last_seen))));
}

function onTelemetry(body) {
  if (state.page !== 'device' || body.device_id !== state.device) return;
  const samples = samplesOf(body);
  append(state.charts.voltage, samples.map(s => [s.t, s.volts]));
  append(state.charts.current, samples.map(s => [s.t, s.amps]));
  append(state.charts.power, samples.map(s => [s.t, s.power]));
  const d = state.devices.get(body.device_id);
  if (d) { d.last_seen = body.received_at; document.getElementById('device-last-seen').textContent = when(body.received_at); }
}

async function loadCommands(id) {
  const commands = await api('/api/devices/' + encodeURIComponent(id) + '/commands');
  document.querySelector('#commands tbody').replaceChildren(...commands.slice(0, 20).map(commandRow));
}

function commandRow(c) {
  const progress = c.progress && c.progress.length ? c.progress[c.progress.length - 1] : null;
  return el('tr', { 'data-cmd': c.cmd_id }, el('td', {}, when(c.created_at)), el('td', {}, c.cmd),
    el('td', { class: 'cmd-status' }, c.status), el('td', {}, c.issued_by || '–'),
    el('td', {}, progress ? (progress.ota_state + ' ' + (progress.progress_pct ?? '') + '%') : ''));
}

function onCommand(event) {
  if (state.page !== 'device' || event.device_id !== state.device) return;
  const row = document.querySelector('#commands tr[data-cmd="' + event.cmd_id + '"]');
  if (row) row.querySelector('.cmd-status').textContent = event.status;
  else loadCommands(state.device);
}

async function sendCommand(e) {
  e.preventDefault();
  const result = document.getElementById('command-result');
  let params = {};
  const text = document.getElementById('command-params').value.trim();
  try { if (text) params = JSON.parse(text); } catch (err) { result.textContent = 'params: ' + err.message; return; }
  result.textContent = 'sending…';
  try {
    const reply = await bus.request('iot.live.command.request', { device_id: state.device,
      cmd: document.getElementById('command-cmd').value, params });
    result.textContent = reply.body.message + ' (' + reply.body.status + ')';
    loadCommands(state.device);
  } catch (err) {
    result.textContent = 'refused: ' + err.message;
  }
}

async function loadEnergy(id) {
  const midnight = new Date(); midnight.setHours(0, 0, 0, 0);
  const points = await api('/api/devices/' + encodeURIComponent(id) + '/metrics?metric=energy_active_import&start='
    + midnight.toISOString() + '&stop=' + new Date().toISOString());
  const last = points.length ? points[points.length - 1].value : 0;
  document.getElementById('energy').textContent = (last / 1000).toFixed(1) + ' kWh drawn since midnight';
}

async function loadRaw(id) {
  try {
    const files = await api('/api/devices/' + encodeURIComponent(id) + '/raw-data?limit=10');
    document.getElementById('raw').replaceChildren(...files.map(f => el('li', {}, f.filename + ' (' + f.size + ' B)')));
  } catch (err) {
    document.getElementById('raw').replaceChildren(el('li', { class: 'error' }, 'archive: ' + err.message));
  }
}

async function loadDevicePeriods(id) {
  const periods = await api('/api/devices/' + encodeURIComponent(id) + '/energy-periods?start=-2h');
  document.querySelector('#device-periods tbody').replaceChildren(...periods.slice(-12).reverse().map(p =>
    el('tr', { 'data-period': p.period_start }, el('td', {}, when(p.period_start)), el('td', {}, p.active_import_kwh.toFixed(3)),
      el('td', {}, p.active_export_kwh.toFixed(3)), el('td', {}, el('span', { class: 'q ' + p.quality.energy }, p.quality.energy)),
      el('td', {}, p.quality.time), el('td', {}, p.version + (p.version > 1 ? ' (' + p.reason + ')' : '')))));
}

// ------------------------------------------------------------------ energy

function utcToday() {
  return new Date().toISOString().slice(0, 10);
}

async function loadEnergyPage() {
  const select = document.getElementById('energy-train');
  const dateInput = document.getElementById('energy-date');
  if (!dateInput.value) dateInput.value = utcToday();
  const devices = await api('/api/devices');
  const trains = [...new Set(devices.map(d => (d.metadata || {}).train_id).filter(Boolean))].sort();
  const chosen = select.value || trains[0] || '';
  select.replaceChildren(...trains.map(t => el('option', t === chosen ? { value: t, selected: 'selected' } : { value: t }, t)));
  await Promise.all([chosen ? showTrain(chosen, dateInput.value) : Promise.resolve(), showCompleteness(dateInput.value)]);
}

// Bars per period, drawn up and fed back down, coloured by quality: SVG, so every bar is an
// element a test (and a screen reader) can find.
async function showTrain(train, date) {
  const energy = await api('/api/trains/' + encodeURIComponent(train) + '/energy?date=' + date);
  const periods = energy.periods;
  const t = energy.totals;
  document.getElementById('energy-totals').replaceChildren(
    el('span', {}, 'meters ', el('b', {}, energy.meters.join(', ') || '–')),
    el('span', {}, 'periods ', el('b', { id: 'energy-periods' }, periods.length)),
    el('span', {}, 'drawn ', el('b', {}, t.active_import_kwh.toFixed(1) + ' kWh')),
    el('span', {}, 'fed back ', el('b', {}, t.active_export_kwh.toFixed(1) + ' kWh')));
  const NS = 'http://www.w3.org/2000/svg';
  const svg = (tag, attrs) => { const n = document.createElementNS(NS, tag); for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); return n; };
  const width = 1100, height = 320, left = 60, mid = height / 2;
  const max = Math.max(0.001, ...periods.map(p => Math.max(p.active_import_kwh, p.active_export_kwh)));
  const dayStart = Date.parse(date + 'T00:00:00Z');
  const first = periods.length ? Date.parse(periods[0].period_start) : dayStart;
  const last = periods.length ? Date.parse(periods[periods.length - 1].period_end) : dayStart + 3600e3;
  const span = Math.max(1, last - first);
  const x = (iso) => left + (width - left - 10) * (Date.parse(iso) - first) / span;
  const scale = (mid - 20) / max;
  const chart = svg('svg', { viewBox: '0 0 ' + width + ' ' + height, width: '100%', role: 'img',
    'aria-label': 'Energy of train ' + train + ' per period on ' + date });
  chart.append(svg('line', { x1: left, x2: width - 10, y1: mid, y2: mid, class: 'axis' }));
  for (const [value, label] of [[max, max.toFixed(2) + ' kWh'], [-max, '−' + max.toFixed(2) + ' kWh']]) {
    const text = svg('text', { x: 4, y: mid - value * scale + 4, class: 'tick' });
    text.textContent = label;
    chart.append(text);
  }
  for (const p of periods) {
    const x0 = x(p.period_start), w = Math.max(1, x(p.period_end) - x0 - 1);
    const title = p.period_start + ': drawn ' + p.active_import_kwh.toFixed(3) + ' kWh, fed back ' + p.active_export_kwh.toFixed(3)
      + ' kWh, ' + p.quality.energy + ', ' + p.meters + ' meters';
    for (const [kwh, up] of [[p.active_import_kwh, true], [p.active_export_kwh, false]]) {
      if (kwh <= 0) continue;
      const h = kwh * scale;
      const bar = svg('rect', { x: x0, y: up ? mid - h : mid, width: w, height: h, class: 'bar q ' + p.quality.energy,
        'data-period': p.period_start, 'data-direction': up ? 'drawn' : 'fed-back' });
      const tip = svg('title', {});
      tip.textContent = title;
      bar.append(tip);
      chart.append(bar);
    }
  }
  const from = svg('text', { x: left, y: height - 4, class: 'tick' });
  from.textContent = new Date(first).toISOString().slice(11, 16) + ' UTC';
  const to = svg('text', { x: width - 80, y: height - 4, class: 'tick' });
  to.textContent = new Date(last).toISOString().slice(11, 16) + ' UTC';
  chart.append(from, to);
  document.getElementById('energy-chart').replaceChildren(chart);
}

async function showCompleteness(date) {
  const report = await api('/api/energy/completeness?date=' + date);
  const t = report.totals;
  document.getElementById('completeness-totals').replaceChildren(
    el('span', {}, 'meters ', el('b', {}, t.meters)), el('span', {}, 'expected ', el('b', {}, t.expected)),
    el('span', {}, 'compiled ', el('b', {}, t.compiled)), el('span', {}, 'missing ', el('b', {}, t.missing)),
    el('span', {}, 'complete ', el('b', {}, t.completeness_pct + ' %')));
  document.querySelector('#completeness tbody').replaceChildren(...report.meters.map(m => el('tr', { 'data-device': m.device_id },
    el('td', {}, el('a', { href: '#/device/' + encodeURIComponent(m.device_id) }, m.device_id)), el('td', {}, m.consumption_point_id),
    el('td', {}, m.expected), el('td', {}, m.compiled), el('td', { class: m.missing ? 'error' : '' }, m.missing),
    el('td', {}, m.completeness_pct + ' %'), el('td', {}, m.energy.measured), el('td', {}, m.energy.estimated),
    el('td', {}, m.energy.incomplete), el('td', {}, m.energy.invalid))));
}

// ------------------------------------------------------------------ alerts, health

async function loadAlerts() {
  const open = document.getElementById('alerts-open').checked;
  const alerts = await api('/api/alerts?limit=200' + (open ? '&acknowledged=false' : ''));
  document.querySelector('#alerts tbody').replaceChildren(...alerts.map(a => el('tr', { 'data-alert': a.id },
    el('td', {}, when(a.created_at)), el('td', {}, a.device_id), el('td', {}, a.alert_type), el('td', {}, a.severity),
    el('td', {}, a.message || ''),
    el('td', {}, a.acknowledged ? 'acknowledged' : can('operator') ? el('button', { onclick: () => acknowledge(a.id) }, 'Acknowledge') : ''))));
}

async function acknowledge(id) {
  await api('/api/alerts/' + id + '/acknowledge', { method: 'POST' });
  loadAlerts();
}

async function loadHealth() {
  const [stats, ready] = await Promise.all([api('/api/stats'), fetch('/readyz', { headers: state.key ? { Authorization: 'Bearer ' + state.key } : {} })
    .then(r => r.json())]);
  document.getElementById('health-facts').replaceChildren(
    el('span', {}, 'devices ', el('b', {}, stats.total_devices)),
    el('span', {}, 'open alerts ', el('b', {}, stats.unacknowledged_alerts)),
    el('span', {}, 'readiness ', el('b', { id: 'readiness-status' }, ready.status)));
  const checks = ready.checks || [];
  document.querySelector('#readiness tbody').replaceChildren(...checks.map(c => el('tr', {}, el('td', {}, c.id),
    el('td', {}, c.status), el('td', {}, c.data ? JSON.stringify(c.data) : ''))));
  renderIngest();
}

function onIngest(rate) {
  state.ingest.set(rate.node, rate);
  if (state.page === 'health') renderIngest();
}

function renderIngest() {
  document.querySelector('#ingest tbody').replaceChildren(...[...state.ingest.values()].map(r => el('tr', {},
    el('td', {}, r.node), el('td', {}, r.accepted_per_s), el('td', {}, r.devices), el('td', {}, when(r.at)))));
}

// ------------------------------------------------------------------ pages

async function route() {
  const hash = location.hash || '#/fleet';
  const [, page, arg] = hash.split('/');
  if (state.device && !(page === 'device' && decodeURIComponent(arg || '') === state.device)) {
    bus.unregister('iot.live.telemetry.' + state.device);
    state.device = null;
  }
  state.page = page;
  document.querySelectorAll('.page').forEach(p => p.hidden = p.id !== 'page-' + page);
  document.querySelectorAll('#nav a').forEach(a => a.classList.toggle('active', a.dataset.page === page));
  try {
    if (page === 'device') await loadDevice(decodeURIComponent(arg));
    else if (page === 'energy') await loadEnergyPage();
    else if (page === 'alerts') await loadAlerts();
    else if (page === 'health') await loadHealth();
    else await loadFleet();
  } catch (err) {
    document.querySelector('#page-' + page + ' h2').after(el('p', { class: 'error' }, err.message));
  }
}

async function signIn(key) {
  state.key = key;
  const who = await api('/api/whoami');
  if (!who.role) throw new Error(key ? 'unknown API key' : 'an API key is required');
  state.who = who;
  if (key) sessionStorage.setItem(KEY, key);
  document.getElementById('login').hidden = true;
  document.getElementById('nav').hidden = false;
  document.getElementById('who').replaceChildren(who.security ? who.name + ' (' + who.role + ')' : 'security off',
    who.security ? el('button', { onclick: signOut }, 'Sign out') : '');
  bus.register('iot.live.status', onStatus);
  bus.register('iot.live.alerts', onAlert);
  bus.register('iot.live.commands', onCommand);
  bus.register('iot.live.ingest', onIngest);
  if (!bus.socket) bus.connect();
  await route();
}

function signOut() {
  sessionStorage.removeItem(KEY);
  location.hash = '';
  location.reload();
}

function showLogin(message) {
  document.getElementById('login').hidden = false;
  document.getElementById('login-error').textContent = message || '';
  document.querySelectorAll('.page').forEach(p => p.hidden = true);
}

document.getElementById('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  signIn(document.getElementById('login-key').value.trim()).catch(err => showLogin(err.message));
});
document.getElementById('fleet-filter').addEventListener('input', renderFleet);
document.querySelectorAll('#fleet th[data-sort]').forEach(th => th.addEventListener('click', () => {
  state.sort = { field: th.dataset.sort, asc: state.sort.field === th.dataset.sort ? !state.sort.asc : true };
  renderFleet();
}));
document.getElementById('command-form').addEventListener('submit', sendCommand);
document.getElementById('alerts-open').addEventListener('change', loadAlerts);
document.getElementById('energy-form').addEventListener('submit', (e) => { e.preventDefault(); loadEnergyPage(); });
window.addEventListener('hashchange', () => { if (state.who) route(); });

// With security off the page needs no key; otherwise the tab's key, or the sign-in form.
api('/api/whoami').then(who => {
  if (!who.security) return signIn('');
  if (state.key) return signIn(state.key).catch(() => { state.key = ''; showLogin('the saved key is no longer valid'); });
  showLogin();
}).catch(err => showLogin(err.message));
