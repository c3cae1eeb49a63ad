// The operations dashboard: reads /dashboard/data every second (the instruments /metrics exports, as running
// totals, last values and histogram buckets), turns totals into rates, and draws the last 15 minutes with uPlot
// (vendored in ./vendor by eng/vendor/update.sh).

import uPlot from './vendor/uPlot.esm.js';

const PERIOD_MS = 1000;
const KEEP_SECONDS = 15 * 60;

/** Running totals whose key is `name` or `name{tag=value,...}`, summed. */
function total(series, name) {
  let sum = 0;
  let seen = false;
  for (const [key, value] of Object.entries(series)) {
    if (key === name || key.startsWith(name + '{')) {
      sum += typeof value === 'number' ? value : 0;
      seen = true;
    }
  }
  return seen ? sum : undefined;
}

/** One instrument's values by the value of one tag: { '1000': 3, client: 1 }. */
function byTag(series, name, tag) {
  const out = {};
  const prefix = name + '{';
  for (const [key, value] of Object.entries(series)) {
    if (!key.startsWith(prefix)) continue;
    const m = new RegExp(`(?:^|,)${tag}=([^,}]*)`).exec(key.slice(prefix.length));
    const label = m ? m[1] : '?';
    out[label] = (out[label] ?? 0) + value;
  }
  return out;
}

/** A quantile of the buckets observed between two snapshots of a histogram, in ms (linear inside a bucket). */
function quantile(prev, cur, bounds, q) {
  if (!prev || !cur) return null;
  const counts = cur.buckets.map((c, i) => c - (prev.buckets[i] ?? 0));
  const n = counts.reduce((a, b) => a + b, 0);
  if (n <= 0) return null;
  let rank = q * n;
  for (let i = 0; i < counts.length; i++) {
    if (rank <= counts[i] && counts[i] > 0) {
      const lo = i === 0 ? 0 : bounds[i - 1];
      const hi = i < bounds.length ? bounds[i] : bounds[bounds.length - 1] * 2;
      return (lo + (hi - lo) * (rank / counts[i])) * 1000;
    }
    rank -= counts[i];
  }
  return bounds[bounds.length - 1] * 1000;
}

const rate = (name) => (prev, cur, dt) => {
  const a = total(prev.series, name);
  const b = total(cur.series, name);
  return a === undefined || b === undefined ? null : Math.max(0, (b - a) / dt);
};
const gauge = (name) => (_prev, cur) => total(cur.series, name) ?? null;
const ratesByTag = (name, tag, label) => (prev, cur, dt) => {
  const a = byTag(prev.series, name, tag);
  const b = byTag(cur.series, name, tag);
  const out = {};
  for (const [k, v] of Object.entries(b)) {
    if (v === 0) continue; // a reason or code that never happened gets no line
    out[label(k)] = Math.max(0, (v - (a[k] ?? 0)) / dt);
  }
  return out;
};

// Each chart: a title, an axis unit, and named series computed from two snapshots a second apart. A function that
// returns an object adds one series per key as keys appear (rejected by reason, disconnects by code, ...).
const CHARTS = [
  { id: 'ticks', title: 'Ticks / s', series: { consumed: rate('marketstream.ingest.ticks_consumed'), rejected: ratesByTag('marketstream.ingest.ticks_rejected', 'reason', (r) => `rejected ${r}`) } },
  { id: 'ingest', title: 'Consumer lag and channel depth (ticks)', series: { lag: gauge('marketstream.ingest.consumer_lag'), 'channel depth': gauge('marketstream.ingest.channel_depth') } },
  { id: 'sent', title: 'Quotes and frames sent / s', series: { quotes: rate('marketstream.gateway.quotes_sent'), frames: rate('marketstream.gateway.frames_sent') } },
  { id: 'bytes', title: 'Bytes sent / s', series: { bytes: rate('marketstream.gateway.bytes_sent') } },
  { id: 'connections', title: 'Connections and subscriptions', series: { connections: gauge('marketstream.gateway.connections'), subscriptions: gauge('marketstream.gateway.subscriptions') } },
  {
    id: 'latency', title: 'Tick to send (ms)', series: {
      p50: (prev, cur) => quantile(prev.series['marketstream.gateway.tick_to_send_latency'], cur.series['marketstream.gateway.tick_to_send_latency'], cur.latencyBounds, 0.5),
      p99: (prev, cur) => quantile(prev.series['marketstream.gateway.tick_to_send_latency'], cur.series['marketstream.gateway.tick_to_send_latency'], cur.latencyBounds, 0.99),
    },
  },
  { id: 'policies', title: 'Conflated and dropped / s, by policy', series: { conflated: ratesByTag('marketstream.gateway.quotes_conflated', 'policy', (p) => `conflated ${p}`), dropped: ratesByTag('marketstream.gateway.quotes_dropped', 'policy', (p) => `dropped ${p}`) } },
  { id: 'disconnects', title: 'Disconnects / s, by close code', series: { codes: ratesByTag('marketstream.gateway.disconnects', 'code', (c) => c) } },
  { id: 'memory', title: 'Memory (MB)', series: { 'working set': (_p, cur) => cur.status.workingSetBytes / 1048576, 'managed heap': (_p, cur) => cur.status.managedHeapBytes / 1048576 } },
];

const COLORS = ['#4ea1ff', '#26c281', '#f0a040', '#f05050', '#b084f5', '#d6dbe4', '#3cc7c7', '#e07ab8'];

class Chart {
  constructor(def, container) {
    this.def = def;
    this.names = [];
    this.data = [[]];
    const el = document.createElement('section');
    el.className = 'chart';
    el.id = `chart-${def.id}`;
    const h = document.createElement('h2');
    h.textContent = def.title;
    el.append(h);
    container.append(el);
    this.el = el;
    this.plot = new uPlot({
      width: 400,
      height: 180,
      series: [{}],
      axes: [{ stroke: '#9aa4b2', grid: { stroke: '#1f2630' } }, { stroke: '#9aa4b2', grid: { stroke: '#1f2630' }, size: 60 }],
      scales: { x: { time: true } },
      legend: { live: false },
    }, this.data, el);
    new ResizeObserver(() => this.plot.setSize({ width: el.clientWidth - 16, height: 180 })).observe(el);
  }

  /** Adds one sample: { name: value } for every series (a new name becomes a new series, earlier points null). */
  push(t, values) {
    for (const name of Object.keys(values)) {
      if (this.names.includes(name)) continue;
      this.names.push(name);
      this.data.push(this.data[0].map(() => null));
      this.plot.addSeries({ label: name, stroke: COLORS[(this.names.length - 1) % COLORS.length], width: 1.5, spanGaps: false });
    }
    this.data[0].push(t);
    this.names.forEach((name, i) => this.data[i + 1].push(values[name] ?? null));
    if (this.data[0].length > KEEP_SECONDS) for (const column of this.data) column.shift();
    this.plot.setData(this.data);
    this.el.dataset.latest = JSON.stringify(values);
    this.el.dataset.samples = String(this.data[0].length);
  }
}

const charts = CHARTS.map((def) => new Chart(def, document.getElementById('charts')));
let previous = null;

function setStatus(id, text, state) {
  const el = document.getElementById(id);
  if (el.textContent !== text) el.textContent = text;
  if (state) el.dataset.state = state;
  else delete el.dataset.state;
}

function formatUptime(s) {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
}

function showStatus(st) {
  const ready = st.warm && !st.fatal;
  setStatus('s-ready', st.fatal ? `no: ${st.fatal}` : st.warm ? 'yes' : 'warming up', ready ? 'ok' : 'bad');
  setStatus('s-broker', st.brokerReachable ? 'reachable' : 'unreachable', st.brokerReachable ? 'ok' : 'bad');
  setStatus('s-feed', st.feedStale ? 'stale' : 'live', st.feedStale ? 'bad' : 'ok');
  setStatus('s-cluster', st.cluster === 'embedded' ? `embedded (${st.bootstrapServers})` : `${st.bootstrapServers} · ${st.topic}`);
  setStatus('s-auth', st.auth ? 'on' : 'off');
  setStatus('s-uptime', formatUptime(st.uptimeSeconds));
  setStatus('s-version', st.version.split('+')[0]);
}

async function poll() {
  try {
    const response = await fetch('data', { cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const current = await response.json();
    showStatus(current.status);
    setStatus('s-data', 'live', 'ok');
    if (previous) {
      const dt = Math.max(0.001, (current.at - previous.at) / 1000);
      for (const chart of charts) {
        const values = {};
        for (const [name, f] of Object.entries(chart.def.series)) {
          const v = f(previous, current, dt);
          if (v !== null && typeof v === 'object') Object.assign(values, v);
          else values[name] = v;
        }
        chart.push(current.at / 1000, values);
      }
    }
    previous = current;
  } catch (e) {
    // The gateway restarting, or the network: say so and keep polling; the charts resume with the next answer.
    setStatus('s-data', `unreachable (${e.message})`, 'bad');
    previous = null;
  }
}

poll();
setInterval(poll, PERIOD_MS);
