// MarketStream's JavaScript client (protocol v1): one live stream to a gateway, in browsers and in Node.
//
// A MarketStreamClient keeps a WebSocket on /ws (or, in a browser where WebSockets cannot get through, an
// EventSource on /sse) and survives everything a terminal meets: gateway restarts and drains, lost connections,
// silent connections (heartbeats), other replicas. It reconnects by itself with capped exponential backoff and
// full jitter, subscribes again to what the caller wants, and drops quotes that are not newer than one already
// delivered for the symbol (seq), so a reconnect to another replica never moves a price backwards.
//
// Events (it is an EventTarget; each event's `detail`):
//   "quote"   { symbol, quote, snapshot, conflated, dropped }   one quote, in order, after the seq filter
//   "state"   { state, transport, attempt, retryInMs, reason }   connecting | connected | reconnecting | stale | closed
//   "feed"    { stale, since }                                   the gateway's word on its own feed
//   "session" { transport, sessionId }                           a new stream began (the subscriptions are being sent again)
//   "message" any server message, parsed, as it arrives (over SSE, a synthetic `configured` with
//             `synthetic: true` reports the settings the stream's URL carries, since SSE has no configure)
// or quotes as an async iterator: `for await (const q of client.quotes()) { ... }`.

export const PROTOCOL = 'marketstream.v1';

/** The server's error codes (PROTOCOL.md section 4), each with its own error class below. */
export const ErrorCodes = Object.freeze({
  badRequest: 'bad_request',
  invalidSymbol: 'invalid_symbol',
  tooManySymbols: 'too_many_symbols',
  forbidden: 'forbidden',
  rateLimited: 'rate_limited',
});

/** A request the gateway answered with an error. `code` is the protocol's code; `symbols` the ones it names. */
export class FeedRequestError extends Error {
  constructor(code, message, symbols = []) {
    super(message);
    this.name = 'FeedRequestError';
    this.code = code;
    this.symbols = symbols;
  }
}

export class InvalidSymbolError extends FeedRequestError {
  constructor(message, symbols) { super(ErrorCodes.invalidSymbol, message, symbols); this.name = 'InvalidSymbolError'; }
}

export class TooManySymbolsError extends FeedRequestError {
  constructor(message, symbols) { super(ErrorCodes.tooManySymbols, message, symbols); this.name = 'TooManySymbolsError'; }
}

export class ForbiddenError extends FeedRequestError {
  constructor(message, symbols) { super(ErrorCodes.forbidden, message, symbols); this.name = 'ForbiddenError'; }
}

export class RateLimitedError extends FeedRequestError {
  constructor(message, symbols) { super(ErrorCodes.rateLimited, message, symbols); this.name = 'RateLimitedError'; }
}

/** The client was closed, or the request could not be sent before it was. */
export class ClientClosedError extends Error {
  constructor(message = 'the client is closed') { super(message); this.name = 'ClientClosedError'; }
}

export const TRANSPORT_WS = 'WebSocket';
export const TRANSPORT_SSE = 'SSE';
const SYMBOL = /^[A-Z0-9][A-Z0-9._:\/-]{0,31}$/;

const defaults = Object.freeze({
  throttleMs: undefined,
  policy: undefined,
  delta: true,
  transport: 'auto',
  backoffBaseMs: 250,
  backoffMaxMs: 10_000,
  staleFactor: 2.5,
  connectTimeoutMs: 8_000,
  requestTimeoutMs: 10_000,
  wsFailuresBeforeFallback: 3,
});

export class MarketStreamClient extends EventTarget {
  /**
   * @param {object} options  see index.d.ts
   */
  constructor(options) {
    super();
    if (!options || !options.url) throw new TypeError('options.url is required: the gateway, e.g. "https://marketstream.example.com"');
    this.options = { ...defaults, ...options };
    this.base = new URL(String(options.url));
    if (this.base.protocol === 'ws:') this.base.protocol = 'http:';
    if (this.base.protocol === 'wss:') this.base.protocol = 'https:';
    if (!/^https?:$/.test(this.base.protocol)) throw new TypeError(`options.url must be http(s) or ws(s), not ${this.base.protocol}`);
    this.WebSocketImpl = options.WebSocket ?? globalThis.WebSocket;
    this.EventSourceImpl = options.EventSource ?? globalThis.EventSource;
    if (!this.WebSocketImpl && !this.EventSourceImpl) {
      throw new TypeError('no WebSocket in this runtime: pass options.WebSocket (in Node: the `ws` package\'s WebSocket)');
    }
    this.forced = this.options.transport;
    this.transport = this.forced === 'sse' || !this.WebSocketImpl ? TRANSPORT_SSE : TRANSPORT_WS;
    this.throttleMs = this.options.throttleMs;
    this.policy = this.options.policy;
    this.delta = this.options.delta !== false;
    this.wanted = new Set();
    this.lastSeq = new Map();
    // The last quote of each symbol this connection received, whole: what a delta (changed fields only) applies to.
    this.received = new Map();
    this.epoch = null;
    this.heartbeatMs = 5_000;
    this.state = 'idle';
    this.attempt = 0;
    this.wsFailures = 0;
    this.nextId = 1;
    this.pending = new Map();   // id -> { resolve, reject, timer, kind }
    this.waiters = [];          // connect() promises
    this.socket = null;
    this.eventSource = null;
    this.lastReceived = 0;
    this.closed = false;
    this.started = false;
    this.retryTimer = undefined;
    this.livenessTimer = undefined;
  }

  /** The symbols this client wants, kept across reconnects. */
  get subscriptions() { return [...this.wanted]; }

  /**
   * Starts the stream (once; subscribe, unsubscribe and configure start it too) and resolves when connected:
   * after hello over WebSocket, at the first event over SSE.
   */
  connect() {
    if (this.closed) return Promise.reject(new ClientClosedError());
    this.start();
    if (this.state === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Opens the stream the first time the client is used; true if this call did. */
  start() {
    if (this.started || this.closed) return false;
    this.started = true;
    this.livenessTimer = setInterval(() => this.checkLiveness(), 250);
    unrefTimer(this.livenessTimer);
    this.open();
    return true;
  }

  /**
   * Subscribes to `symbols` (kept across reconnects) and resolves with the server's `subscribed` reply, once the
   * snapshot of every one of them that has a quote has been delivered. Rejects with InvalidSymbolError,
   * TooManySymbolsError, ForbiddenError, RateLimitedError or FeedRequestError; the symbols then stay unwanted.
   */
  async subscribe(symbols) {
    const list = normalize(symbols);
    const invalid = list.filter((s) => !SYMBOL.test(s));
    if (invalid.length > 0) throw new InvalidSymbolError(`not valid symbols: ${invalid.join(', ')}`, invalid);
    list.forEach((s) => this.wanted.add(s));
    if (this.transport === TRANSPORT_SSE) {
      // Over SSE the subscription is the stream's URL: open it, or open it again with the new list.
      if (!this.start()) this.reopenSse();
      return { type: 'subscribed', symbols: list };
    }
    this.start();
    try {
      return await this.request({ op: 'subscribe', symbols: list }, 'subscribed');
    } catch (err) {
      if (err instanceof FeedRequestError) list.forEach((s) => this.wanted.delete(s));
      throw err;
    }
  }

  /** Stops the quotes of `symbols` and resolves with the server's `unsubscribed` reply. */
  async unsubscribe(symbols) {
    const list = normalize(symbols);
    list.forEach((s) => { this.wanted.delete(s); this.lastSeq.delete(s); });
    if (this.transport === TRANSPORT_SSE) {
      if (!this.start()) this.reopenSse();
      return { type: 'unsubscribed', symbols: list };
    }
    this.start();
    return this.request({ op: 'unsubscribe', symbols: list }, 'unsubscribed');
  }

  /** Changes throttle and/or policy for this and later connections; resolves with the server's `configured`. */
  async configure({ throttleMs, policy, delta } = {}) {
    if (throttleMs !== undefined) this.throttleMs = throttleMs;
    if (policy !== undefined) this.policy = policy;
    if (delta !== undefined) this.delta = Boolean(delta);
    if (this.transport === TRANSPORT_SSE) {
      if (!this.start()) this.reopenSse();
      return { type: 'configured', throttleMs: this.throttleMs, policy: 'conflate' };
    }
    this.start();
    const request = { op: 'configure' };
    if (throttleMs !== undefined) request.throttleMs = throttleMs;
    if (policy !== undefined) request.policy = policy;
    if (delta !== undefined) request.delta = Boolean(delta);
    return this.request(request, 'configured');
  }

  /** Quotes as an async iterator, from now on, until the client is closed or the loop breaks. */
  quotes() {
    const queue = [];
    let wake = null;
    const onQuote = (e) => {
      queue.push(e.detail);
      if (wake) { wake(); wake = null; }
    };
    const onState = (e) => {
      if (e.detail.state === 'closed' && wake) { wake(); wake = null; }
    };
    this.addEventListener('quote', onQuote);
    this.addEventListener('state', onState);
    const self = this;
    const stop = () => {
      self.removeEventListener('quote', onQuote);
      self.removeEventListener('state', onState);
    };
    return {
      [Symbol.asyncIterator]() { return this; },
      async next() {
        while (queue.length === 0) {
          if (self.closed) { stop(); return { done: true, value: undefined }; }
          await new Promise((resolve) => { wake = resolve; });
        }
        return { done: false, value: queue.shift() };
      },
      async return() { stop(); return { done: true, value: undefined }; },
    };
  }

  /** Closes the stream for good; pending requests reject with ClientClosedError. */
  close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.livenessTimer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.reopenTimer);
    this.closeCurrent();
    this.failPending(new ClientClosedError());
    this.waiters.splice(0).forEach((w) => w.reject(new ClientClosedError()));
    this.setState('closed', 'closed by the application');
  }

  // ---- requests ----------------------------------------------------------------------------------------

  request(body, replyType) {
    if (this.closed) return Promise.reject(new ClientClosedError());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const entry = { body: { ...body, id }, replyType, resolve, reject, timer: undefined, sent: false };
      entry.timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new FeedRequestError('timeout', `no ${replyType} within ${this.options.requestTimeoutMs} ms`));
      }, this.options.requestTimeoutMs);
      unrefTimer(entry.timer);
      this.pending.set(id, entry);
      if (this.state === 'connected') this.sendPending(entry);
      // Otherwise it goes out with the next hello (sendAllPending).
    });
  }

  sendPending(entry) {
    if (!this.socket || this.socket.readyState !== 1) return;
    entry.sent = true;
    this.socket.send(JSON.stringify(entry.body));
  }

  failPending(error) {
    for (const [id, entry] of this.pending) {
      clearTimeout(entry.timer);
      entry.reject(error);
      this.pending.delete(id);
    }
  }

  // ---- opening and closing -----------------------------------------------------------------------------

  open() {
    if (this.closed) return;
    this.closeCurrent();
    this.setState(this.attempt === 0 && this.state === 'idle' ? 'connecting' : 'reconnecting');
    if (this.transport === TRANSPORT_WS) this.openWebSocket();
    else this.openEventSource();
  }

  closeCurrent() {
    clearTimeout(this.connectTimer);
    if (this.socket) {
      const ws = this.socket;
      this.socket = null;
      ws.onopen = ws.onmessage = ws.onclose = null;
      // Closing a socket that is still connecting makes it report an error later (Node's ws raises it as an
      // uncaught exception when nobody listens): listen, and let it go.
      ws.onerror = () => {};
      try { ws.close(1000, 'client closing'); } catch { /* already closed */ }
    }
    if (this.eventSource) {
      this.eventSource.close();
      this.eventSource = null;
    }
  }

  streamUrl(path) {
    const url = new URL(path, this.base);
    if (this.throttleMs !== undefined) url.searchParams.set('throttleMs', String(this.throttleMs));
    if (this.delta) url.searchParams.set('delta', 'true');
    return url;
  }

  openWebSocket() {
    const url = this.streamUrl('/ws');
    url.protocol = this.base.protocol === 'https:' ? 'wss:' : 'ws:';
    if (this.policy !== undefined) url.searchParams.set('policy', this.policy);
    const protocols = [PROTOCOL];
    const token = this.accessToken();
    if (token) protocols.push(`bearer.${base64Url(token)}`);

    let ws;
    try {
      ws = new this.WebSocketImpl(url.toString(), protocols);
    } catch (err) {
      this.onWebSocketEnded(false, String(err));
      return;
    }
    this.socket = ws;
    let opened = false;
    this.connectTimer = setTimeout(() => {
      if (this.socket === ws && !this.helloSeen) {
        this.closeCurrent();
        this.onWebSocketEnded(opened, 'no hello within the connect timeout');
      }
    }, this.options.connectTimeoutMs);
    unrefTimer(this.connectTimer);
    this.helloSeen = false;

    ws.onopen = () => {
      opened = true;
      this.wsFailures = 0;
      this.lastReceived = now();
    };
    ws.onmessage = (e) => {
      if (this.socket !== ws) return;
      this.lastReceived = now();
      let msg;
      try { msg = JSON.parse(typeof e.data === 'string' ? e.data : String(e.data)); } catch { return; }
      this.onServerMessage(msg);
    };
    ws.onclose = (e) => {
      if (this.socket !== ws) return;
      this.socket = null;
      clearTimeout(this.connectTimer);
      this.onWebSocketEnded(opened, describeClose(e.code, e.reason));
    };
    ws.onerror = () => { /* always followed by onclose, which carries the code */ };
  }

  async onWebSocketEnded(opened, reason) {
    if (this.closed) return;
    // Requests in flight on the lost connection are sent again on the next one.
    for (const entry of this.pending.values()) entry.sent = false;
    if (!opened) this.wsFailures++;
    if (this.forced === 'auto' && !opened && this.EventSourceImpl && this.wsFailures >= this.options.wsFailuresBeforeFallback
        && await this.gatewayReady()) {
      // The gateway answers HTTP but not WebSocket: something on the way blocks upgrades.
      this.transport = TRANSPORT_SSE;
      this.wsFailures = 0;
      this.attempt = 0;
      this.failPending(new FeedRequestError('transport', 'the client fell back to SSE, where requests are part of the URL; the subscription stands'));
      this.open();
      return;
    }
    this.scheduleRetry(reason);
  }

  async gatewayReady() {
    if (typeof fetch !== 'function') return false;
    try {
      const ctl = new AbortController();
      const t = setTimeout(() => ctl.abort(), 2_000);
      const res = await fetch(new URL('/healthz/ready', this.base), { cache: 'no-store', signal: ctl.signal });
      clearTimeout(t);
      return res.ok;
    } catch {
      return false;
    }
  }

  openEventSource() {
    const symbols = [...this.wanted];
    if (symbols.length === 0) {
      // /sse needs at least one symbol: nothing to open until there is one.
      this.setState('idle', 'nothing subscribed');
      return;
    }
    const url = this.streamUrl('/sse');
    url.searchParams.set('symbols', symbols.join(','));
    const token = this.accessToken();
    // An EventSource can carry nothing but its URL; the gateway masks the token in its logs.
    if (token) url.searchParams.set('access_token', token);
    const es = new this.EventSourceImpl(url.toString());
    this.eventSource = es;
    let healthy = false;
    const onData = (type) => (e) => {
      if (this.eventSource !== es) return;
      this.lastReceived = now();
      if (!healthy) {
        healthy = true;
        this.markConnected(null);
        this.emit('message', { type: 'configured', throttleMs: this.throttleMs, policy: 'conflate', synthetic: true });
      }
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      if (msg.type === undefined) msg.type = type;
      this.onServerMessage(msg);
    };
    for (const type of ['hello', 'subscribed', 'snapshot', 'updates', 'heartbeat', 'status']) es.addEventListener(type, onData(type));
    es.onopen = () => { this.lastReceived = now(); };
    es.onerror = (e) => {
      if (this.eventSource !== es) return;
      if (typeof e.data === 'string') { onData('error')(e); return; }
      this.closeCurrent();
      if (this.forced === 'auto' && this.WebSocketImpl) {
        // On SSE only because WebSocket failed: give WebSocket another chance first.
        this.transport = TRANSPORT_WS;
        this.wsFailures = 0;
      }
      this.scheduleRetry(healthy ? 'event stream lost' : 'event stream refused');
    };
  }

  reopenSse() {
    if (!this.started) return;
    clearTimeout(this.reopenTimer);
    this.reopenTimer = setTimeout(() => {
      if (this.closed || this.transport !== TRANSPORT_SSE) return;
      this.attempt = 0;
      this.open();
    }, 150);
  }

  scheduleRetry(reason) {
    clearTimeout(this.retryTimer);
    const cap = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** this.attempt);
    const delay = Math.round(Math.random() * cap);
    this.attempt++;
    this.retryAt = now() + delay;
    this.setState('reconnecting', reason);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  // ---- incoming ----------------------------------------------------------------------------------------

  onServerMessage(msg) {
    switch (msg.type) {
      case 'hello':
        this.onHello(msg);
        break;
      case 'snapshot':
      case 'updates':
        for (const quote of msg.quotes ?? []) this.deliver(this.whole(quote, msg.type === 'snapshot'), msg.type === 'snapshot');
        break;
      case 'status':
        this.emit('feed', { stale: msg.feed === 'stale', since: msg.since ?? null });
        break;
      case 'configured':
        this.throttleMs = msg.throttleMs ?? this.throttleMs;
        this.policy = msg.policy ?? this.policy;
        if (typeof msg.delta === 'boolean') this.delta = msg.delta;
        break;
      case 'error':
        // A symbol the gateway will never serve is no longer wanted, or every reconnect would ask for it again.
        if ((msg.code === ErrorCodes.invalidSymbol || msg.code === ErrorCodes.forbidden) && Array.isArray(msg.symbols)) {
          msg.symbols.forEach((s) => { this.wanted.delete(s); this.lastSeq.delete(s); });
        }
        break;
      default:
        break;
    }
    this.settle(msg);
    this.emit('message', msg);
    if (this.state === 'stale') this.setState('connected');
  }

  onHello(msg) {
    this.helloSeen = true;
    // A new connection: the server writes deltas against what it sent on this one, starting with its snapshots.
    this.received.clear();
    clearTimeout(this.connectTimer);
    if (Number.isFinite(msg.heartbeatMs) && msg.heartbeatMs > 0) this.heartbeatMs = msg.heartbeatMs;
    if (msg.epoch !== undefined && msg.epoch !== this.epoch) {
      // Another stream: seq values of the old one say nothing about the new one.
      if (this.epoch !== null) this.lastSeq.clear();
      this.epoch = msg.epoch;
    }
    if (this.transport !== TRANSPORT_WS) return;
    this.throttleMs = msg.throttleMs ?? this.throttleMs;
    this.policy = msg.policy ?? this.policy;
    this.markConnected(msg.sessionId ?? null);
    // Resubscribe what is wanted now, then whatever requests wait for a connection.
    const resubscribe = [...this.wanted].filter((s) => ![...this.pending.values()].some((p) => p.body.op === 'subscribe' && p.body.symbols.includes(s)));
    if (resubscribe.length > 0) this.socket.send(JSON.stringify({ op: 'subscribe', id: this.nextId++, symbols: resubscribe }));
    for (const entry of this.pending.values()) if (!entry.sent) this.sendPending(entry);
  }

  /** Resolves or rejects the request a reply answers. A subscribe resolves once its snapshot has been delivered. */
  settle(msg) {
    if (msg.id === undefined) {
      // The snapshot after a subscribe carries no id: it follows the subscribed reply.
      if (msg.type === 'snapshot' && this.awaitingSnapshot) {
        const { entry, reply } = this.awaitingSnapshot;
        this.awaitingSnapshot = null;
        entry.resolve(reply);
      }
      return;
    }
    const entry = this.pending.get(msg.id);
    if (!entry) return;
    if (msg.type === 'error') {
      this.pending.delete(msg.id);
      clearTimeout(entry.timer);
      entry.reject(toError(msg));
      return;
    }
    if (msg.type !== entry.replyType) return;
    this.pending.delete(msg.id);
    clearTimeout(entry.timer);
    if (msg.type === 'subscribed' && (msg.symbols ?? []).length > 0) {
      // The snapshot follows at once, unless none of the symbols has a quote yet; never wait long for it.
      this.awaitingSnapshot = { entry, reply: msg };
      const t = setTimeout(() => {
        if (this.awaitingSnapshot?.entry === entry) { this.awaitingSnapshot = null; entry.resolve(msg); }
      }, 250);
      unrefTimer(t);
    } else {
      entry.resolve(msg);
    }
  }

  /**
   * The symbol's whole quote: a snapshot (or any quote of a connection that did not ask for deltas) is whole
   * already; a delta carries symbol, seq, ts and the fields that changed, laid over the last quote this connection
   * received, whether or not the seq filter let that one through. conflated and dropped belong to one message only.
   */
  whole(quote, snapshot) {
    const { conflated, dropped, ...fields } = quote;
    const prev = snapshot ? undefined : this.received.get(quote.symbol);
    const state = prev ? { ...prev, ...fields } : fields;
    this.received.set(quote.symbol, state);
    const out = { ...state };
    if (conflated !== undefined) out.conflated = conflated;
    if (dropped !== undefined) out.dropped = dropped;
    return out;
  }

  deliver(quote, snapshot) {
    const symbol = quote.symbol;
    if (!this.wanted.has(symbol)) return;
    const last = this.lastSeq.get(symbol);
    if (last !== undefined && quote.seq <= last) return;
    this.lastSeq.set(symbol, quote.seq);
    this.emit('quote', { symbol, quote, snapshot, conflated: quote.conflated ?? 0, dropped: quote.dropped ?? 0 });
  }

  markConnected(sessionId) {
    this.attempt = 0;
    this.setState('connected');
    this.emit('session', { transport: this.transport, sessionId });
    this.waiters.splice(0).forEach((w) => w.resolve());
  }

  checkLiveness() {
    if (this.state !== 'connected') return;
    if (now() - this.lastReceived <= this.options.staleFactor * this.heartbeatMs) return;
    if (this.transport === TRANSPORT_WS) {
      // Nothing for 2.5 heartbeats: the connection is dead even if the socket does not know it yet.
      this.closeCurrent();
      this.onWebSocketEnded(true, `nothing received for ${this.options.staleFactor} heartbeats`);
    } else {
      this.setState('stale', 'no heartbeat');
    }
  }

  accessToken() {
    const t = this.options.accessToken;
    return typeof t === 'function' ? t() : t;
  }

  setState(state, reason = '') {
    this.state = state;
    const retryInMs = state === 'reconnecting' && this.retryAt ? Math.max(0, this.retryAt - now()) : 0;
    this.emit('state', { state, transport: this.transport, attempt: this.attempt, retryInMs, reason, heartbeatMs: this.heartbeatMs });
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

function normalize(symbols) {
  const list = Array.isArray(symbols) ? symbols : [symbols];
  return [...new Set(list.map((s) => String(s).trim().toUpperCase()).filter((s) => s.length > 0))];
}

function toError(msg) {
  const text = msg.message ?? msg.code ?? 'request failed';
  const symbols = msg.symbols ?? [];
  switch (msg.code) {
    case ErrorCodes.invalidSymbol: return new InvalidSymbolError(text, symbols);
    case ErrorCodes.tooManySymbols: return new TooManySymbolsError(text, symbols);
    case ErrorCodes.forbidden: return new ForbiddenError(text, symbols);
    case ErrorCodes.rateLimited: return new RateLimitedError(text, symbols);
    default: return new FeedRequestError(msg.code ?? 'error', text, symbols);
  }
}

/** A close code as words, for the "state" event's reason. */
export function describeClose(code, reason) {
  const known = {
    1000: 'closed',
    1001: 'server going away',
    1006: 'connection lost',
    1008: 'policy violation',
    1009: 'frame too large',
    1011: 'server error',
    1013: 'server full, try later',
    4001: 'slow consumer (policy disconnect)',
    4029: 'too many requests',
  };
  return `${code} ${reason || known[code] || 'closed'}`;
}

function base64Url(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function now() {
  return globalThis.performance ? performance.now() : Date.now();
}

/** In Node, a timer must not keep the process alive on its own. */
function unrefTimer(timer) {
  if (timer && typeof timer === 'object' && typeof timer.unref === 'function') timer.unref();
}
