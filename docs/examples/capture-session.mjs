// Captures the real WebSocket/HTTP exchanges quoted in docs/protocol.md.
//
// Usage:  node --experimental-websocket docs/examples/capture-session.mjs <scenario> [baseUrl]
//   scenario: session | errors | http | policies | limits | drain
//   baseUrl:  defaults to http://127.0.0.1:18080
//
// Each scenario expects a gateway started with particular settings (they make slow events
// happen in a second or two). The docs were captured with two embedded-mode gateways:
//
//   A (session, errors, http):
//     dotnet src/Feed.Gateway/bin/Debug/net10.0/Feed.Gateway.dll --urls http://127.0.0.1:18080 \
//       --Feed:Gateway:HeartbeatMs=1000
//   B (policies, limits, drain):
//     dotnet src/Feed.Gateway/bin/Debug/net10.0/Feed.Gateway.dll --urls http://127.0.0.1:18081 \
//       --Feed:Simulator:Symbols=AAPL,MSFT,EUR/USD --Feed:Simulator:TicksPerSecond=300 \
//       --Feed:Gateway:QueueCapacity=16 --Feed:Gateway:MaxRequestsPerSecond=2 \
//       --Feed:Gateway:MaxSymbolsPerConnection=3 --Feed:Gateway:MaxConnections=1
//   C (drain): as B but with --Feed:Gateway:DrainSeconds=3 and without MaxConnections=1.
//
// "drain" waits on two open connections; send SIGTERM to gateway C while it runs.
// Output: "->" client frame, "<-" server frame, "##" a note. Every line is prefixed with the
// milliseconds since the scenario started.

import http from 'node:http';

const [scenario = 'session', base = 'http://127.0.0.1:18080'] = process.argv.slice(2);
const wsBase = base.replace(/^http/, 'ws');
const t0 = Date.now();
const log = (dir, text) => console.log(`${String(Date.now() - t0).padStart(5)} ${dir} ${text}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Opens /ws with the protocol's subprotocol; resolves once open. Logs every frame received. */
function connect(query = '', { quiet = false } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${wsBase}/ws${query}`, ['marketstream.v1']);
    ws.received = []; // parsed messages
    ws.raw = []; // the frames as sent (JSON.parse would drop a price's trailing zeros)
    ws.closed = new Promise((r) => ws.addEventListener('close', (e) => {
      log('##', `closed: code ${e.code}, reason "${e.reason}"`);
      r(e);
    }));
    ws.onmessage = (e) => {
      ws.received.push(JSON.parse(e.data));
      ws.raw.push(e.data);
      if (!quiet) log('<-', e.data);
    };
    ws.onopen = () => { log('##', `open ${ws.url} (subprotocol "${ws.protocol}")`); resolve(ws); };
    ws.onerror = () => reject(new Error('connection failed'));
  });
}

/** Sends a request (object, or raw text/bytes as given) and logs it. */
function send(ws, req) {
  const frame = typeof req === 'object' && !(req instanceof Uint8Array) ? JSON.stringify(req) : req;
  log('->', typeof frame === 'string' ? (frame.length > 200 ? `<${frame.length}-byte text frame>` : frame) : `<binary frame, ${frame.length} bytes>`);
  ws.send(frame);
}

/** Waits until a received message satisfies pred (or timeout). */
async function until(ws, pred, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const hit = ws.received.find(pred);
    if (hit) return hit;
    await sleep(20);
  }
  log('##', 'timed out waiting');
}

/** An upgrade request made by hand, so a refusal's HTTP status and body can be seen. */
function rawUpgrade(path) {
  return new Promise((resolve) => {
    const req = http.get(`${base}${path}`, { headers: {
      Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol': 'marketstream.v1' } });
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve({ status: res.statusCode }); });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, retryAfter: res.headers['retry-after'], body }));
    });
    req.on('error', (e) => resolve({ status: 'error', body: e.message }));
  });
}

async function httpGet(path, init) {
  const res = await fetch(`${base}${path}`, init);
  const body = await res.text();
  log('##', `GET ${path} -> ${res.status} ${res.headers.get('content-type') ?? ''} ${body.length > 300 ? body.slice(0, 300) + '…' : body}`);
}

const scenarios = {
  // The happy path: hello, subscribe, snapshot, updates, unsubscribe, configure, ping, heartbeat.
  async session() {
    const ws = await connect('?throttleMs=500&policy=conflate');
    await until(ws, (m) => m.type === 'hello');
    send(ws, { op: 'subscribe', id: 1, symbols: ['AAPL', 'msft', 'EUR/USD'] });
    await sleep(1600); // a few throttled updates frames
    send(ws, { op: 'subscribe', id: 2, symbols: ['AAPL', 'ZZZZ9'] }); // already held + no state yet
    await until(ws, (m) => m.type === 'subscribed' && m.id === 2);
    send(ws, { op: 'subscribe', id: 3, symbols: ['NVDA', '??', 'bad symbol'] }); // partial success
    await until(ws, (m) => m.type === 'error' && m.id === 3);
    send(ws, { op: 'unsubscribe', id: 4, symbols: ['MSFT', 'NOTHELD'] });
    send(ws, { op: 'configure', id: 5, throttleMs: 1000, policy: 'drop-oldest' });
    send(ws, { op: 'ping', id: 'p-6' });
    await until(ws, (m) => m.type === 'pong');
    send(ws, { op: 'unsubscribe', id: 7, symbols: ['AAPL', 'EUR/USD', 'NVDA', 'ZZZZ9'] });
    await sleep(2300); // HeartbeatMs=1000 on gateway A: heartbeats in the silence
    ws.close(1000, 'bye');
    await ws.closed;
  },

  // Malformed requests: each gets one error, the connection stays open.
  async errors() {
    const ws = await connect();
    for (const frame of [
      'not json', '[1,2]', '{"op":"subscribe","id":1,"symbols":["AAPL"]} {}',
      { id: 2 }, { op: 'watch', id: 3 }, { op: 'subscribe', id: 4 },
      { op: 'subscribe', id: 5, symbols: 'AAPL' }, { op: 'configure', id: 6, throttleMs: 70000 },
      { op: 'configure', id: 7, policy: 'fast' }, { op: 'ping', id: 1.5 },
      { op: 'subscribe', id: 8, symbols: ['??'] }, new Uint8Array([1, 2, 3]),
    ]) {
      send(ws, frame);
      await sleep(600); // stay under the default request rate
    }
    await sleep(300);
    ws.close();
    await ws.closed;
  },

  // Connect-time refusals and the HTTP API.
  async http() {
    await httpGet('/ws');
    for (const q of ['?throttleMs=fast', '?throttleMs=60001', '?policy=fast']) {
      const r = await rawUpgrade(`/ws${q}`);
      log('##', `upgrade /ws${q} -> ${r.status} ${r.body}`);
    }
    await httpGet('/api/quotes/AAPL');
    await httpGet('/api/quotes/aapl');
    await httpGet('/api/quotes/NOPE');
    await httpGet('/api/quotes/%3F%3F');
    await httpGet('/api/quotes/EUR%2FUSD');
    await httpGet('/api/symbols');
    await httpGet('/healthz/live');
    await httpGet('/healthz/ready');
    await httpGet('/metrics');
    await httpGet('/sse?symbols=AAPL');
  },

  // What each policy looks like on a small queue (QueueCapacity=16 on gateway B).
  async policies() {
    for (const [query, waitMs] of [
      ['?throttleMs=1000&policy=conflate', 2200],
      ['?throttleMs=0&policy=conflate', 1200],
      ['?throttleMs=1000&policy=drop-oldest', 2200],
      ['?throttleMs=1000&policy=drop-newest', 2200],
      ['?throttleMs=1000&policy=disconnect', 3000],
    ]) {
      const ws = await connect(query, { quiet: true });
      send(ws, { op: 'subscribe', id: 1, symbols: ['AAPL', 'MSFT', 'EUR/USD'] });
      const done = await Promise.race([sleep(waitMs).then(() => false), ws.closed.then(() => true)]);
      for (const [i, m] of ws.received.entries()) {
        if (m.type !== 'updates') { log('<-', ws.raw[i]); continue; }
        // Summarise updates frames: how many quotes, and the seq/conflated/dropped of each.
        log('<-', `updates x${m.quotes.length}: ` + m.quotes.map((q) =>
          `${q.symbol}#${q.seq}${q.conflated ? ` c=${q.conflated}` : ''}${q.dropped ? ` d=${q.dropped}` : ''}`).join(' '));
      }
      const at = ws.received.findIndex((m) => m.type === 'updates' && m.quotes.some((q) => q.conflated || q.dropped));
      if (at >= 0) log('##', `sample frame: ${ws.raw[at]}`);
      if (!done) { ws.close(); await ws.closed; }
      await sleep(200);
    }
  },

  // Limits: too_many_symbols, frame size, request rate, connection limit (settings of gateway B).
  async limits() {
    let ws = await connect();
    send(ws, { op: 'subscribe', id: 1, symbols: ['AAPL', 'MSFT'] });
    send(ws, { op: 'subscribe', id: 2, symbols: ['EUR/USD', 'GBP/USD', 'MSFT', '??'] });
    await until(ws, (m) => m.type === 'error' && m.code === 'invalid_symbol');
    ws.close();
    await ws.closed;
    await sleep(200);

    ws = await connect('?throttleMs=60000', { quiet: false });
    send(ws, 'x'.repeat(16 * 1024 + 1));
    await ws.closed;
    await sleep(200);

    ws = await connect('?throttleMs=60000');
    for (let i = 1; i <= 6; i++) send(ws, { op: 'ping', id: i }); // a burst of 4 is allowed at 2/s
    await sleep(1500); // back off: the bucket refills at 2/s
    send(ws, { op: 'ping', id: 7 });
    await sleep(1500);
    for (let i = 8; i <= 20; i++) send(ws, { op: 'ping', id: i }); // keep going regardless
    await ws.closed;
    await sleep(200);

    ws = await connect();
    const second = await connect().catch((e) => log('##', e.message));
    if (second) await second.closed;
    ws.close();
    await ws.closed;
  },

  // Drain: keep a connection open; SIGTERM the gateway; watch 1001 and the 503 for new upgrades.
  async drain() {
    const first = await connect('?throttleMs=60000'); // two connections: the drain spreads their closes
    const ws = await connect('?throttleMs=60000');
    send(ws, { op: 'subscribe', id: 1, symbols: ['AAPL'] });
    log('##', 'waiting: send SIGTERM to the gateway now');
    let seen503 = false;
    const poll = setInterval(async () => {
      const r = await rawUpgrade('/ws');
      if (r.status === 503 && !seen503) {
        seen503 = true;
        log('##', `upgrade /ws -> 503 Retry-After: ${r.retryAfter} ${r.body}`);
        await httpGet('/healthz/ready');
      }
    }, 100);
    await Promise.all([first.closed, ws.closed]);
    clearInterval(poll);
  },
};

await scenarios[scenario]();
process.exit(0);
