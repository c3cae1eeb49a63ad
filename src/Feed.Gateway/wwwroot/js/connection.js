// Transport and reconnect for the quote board (PROTOCOL.md sections 2 and 3).
//
// A Connection keeps one live stream to the gateway: a WebSocket on /ws, or, when WebSockets cannot be
// used, an EventSource on /sse. It reconnects by itself with capped exponential backoff and full jitter,
// watches liveness (heartbeats), and reports everything as DOM events so the page never touches a socket:
//
//   "state"    detail: { state, transport, attempt, retryInMs, reason }
//              state is "connecting" | "connected" | "reconnecting" | "stale" | "idle" (SSE, empty watchlist)
//   "message"  detail: one parsed server message ({type: "hello" | "snapshot" | "updates" | ...})
//   "session"  detail: { transport, sessionId }   a new stream began: the watchlist has been (re)sent
//
// The watchlist itself is owned by the caller; the connection asks for it (getSymbols) whenever it needs
// to (re)subscribe, so a reconnect always resubscribes what the page shows now, not what it showed then.

export const TRANSPORT_WS = 'WebSocket';
export const TRANSPORT_SSE = 'SSE';

const PROTOCOL = 'marketstream.v1';

// Backoff: 250 ms doubling to 10 s, full jitter (a uniformly random delay between 0 and the cap), so a
// fleet of terminals cut off by one gateway restart does not reconnect in lockstep.
const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 10_000;

// After this many WebSocket attempts in a row that never opened, ask the gateway over plain HTTP whether
// it is up and serving (/healthz/ready). Ready but WebSocket refused (a proxy that blocks upgrades) means
// fall back to SSE; down, starting or draining means keep trying WebSocket, so a restart of the gateway
// does not push the board onto the fallback.
const WS_FAILURES_BEFORE_FALLBACK = 3;

// PROTOCOL.md: stale after 2.5 heartbeat intervals with nothing received. SSE has no hello, so until a
// server tells us otherwise we assume the documented default of 5 s.
const STALE_FACTOR = 2.5;
const DEFAULT_HEARTBEAT_MS = 5_000;

// A WebSocket that neither opens nor fails within this time is abandoned and counted as failed.
const CONNECT_TIMEOUT_MS = 8_000;

export class Connection extends EventTarget {
  /**
   * @param {object} options
   * @param {() => string[]} options.getSymbols  the watchlist, read at every (re)subscribe
   * @param {number} options.throttleMs
   * @param {string} options.policy
   * @param {'auto'|'ws'|'sse'} [options.transport]  'auto' tries WebSocket first
   * @param {string} [options.base]  origin to connect to; defaults to the page's
   */
  constructor({ getSymbols, throttleMs, policy, transport = 'auto', base = location.origin }) {
    super();
    this.getSymbols = getSymbols;
    this.throttleMs = throttleMs;
    this.policy = policy;
    this.base = new URL(base);
    this.forced = transport;
    this.transport = transport === 'sse' || typeof WebSocket === 'undefined' ? TRANSPORT_SSE : TRANSPORT_WS;
    this.heartbeatMs = DEFAULT_HEARTBEAT_MS;
    this.state = 'connecting';
    this.attempt = 0;          // failed attempts since the last healthy stream; drives the backoff
    this.wsFailures = 0;       // WebSocket attempts in a row that never opened
    this.nextId = 1;
    this.ws = null;
    this.es = null;
    this.retryTimer = 0;
    this.reopenTimer = 0;
    this.lastReceived = 0;
    this.livenessTimer = setInterval(() => this.checkLiveness(), 250);
    this.stopped = false;
  }

  start() {
    this.open();
  }

  /** Closes the stream for good (page unload). */
  stop() {
    this.stopped = true;
    clearInterval(this.livenessTimer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.reopenTimer);
    this.closeCurrent();
  }

  // ---- requests from the page ---------------------------------------------------------------------

  subscribe(symbols) {
    if (symbols.length === 0) return;
    if (this.transport === TRANSPORT_SSE) this.reopenSseSoon();
    else this.send({ op: 'subscribe', symbols });
  }

  unsubscribe(symbols) {
    if (symbols.length === 0) return;
    if (this.transport === TRANSPORT_SSE) this.reopenSseSoon();
    else this.send({ op: 'unsubscribe', symbols });
  }

  /** Changes throttle and policy; over WebSocket with `configure`, over SSE by reopening the stream. */
  configure({ throttleMs, policy }) {
    if (throttleMs !== undefined) this.throttleMs = throttleMs;
    if (policy !== undefined) this.policy = policy;
    if (this.transport === TRANSPORT_SSE) {
      this.reopenSseSoon();
    } else {
      this.send({ op: 'configure', throttleMs: this.throttleMs, policy: this.policy });
    }
  }

  /** Sends one request if the socket is open; returns its id, or 0 when it could not be sent (it will be on resubscribe). */
  send(request) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return 0;
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ ...request, id }));
    return id;
  }

  // ---- opening and closing ------------------------------------------------------------------------

  open() {
    if (this.stopped) return;
    this.closeCurrent();
    this.setState(this.attempt === 0 && this.state === 'connecting' ? 'connecting' : 'reconnecting');
    if (this.transport === TRANSPORT_WS) this.openWebSocket();
    else this.openEventSource();
  }

  closeCurrent() {
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
      clearTimeout(this.connectTimer);
      try { ws.close(1000, 'client closing'); } catch { /* already closed */ }
    }
    if (this.es) {
      this.es.close();
      this.es = null;
    }
  }

  openWebSocket() {
    const url = new URL('/ws', this.base);
    url.protocol = this.base.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('throttleMs', String(this.throttleMs));
    url.searchParams.set('policy', this.policy);

    let ws;
    try {
      ws = new WebSocket(url, webSocketProtocols());
    } catch (err) {
      // A blocked or malformed URL throws synchronously; treat it as a failed attempt.
      this.onWebSocketFailed(false, String(err));
      return;
    }
    this.ws = ws;
    let opened = false;

    this.connectTimer = setTimeout(() => {
      if (!opened && this.ws === ws) {
        this.closeCurrent();
        this.onWebSocketFailed(false, 'connect timeout');
      }
    }, CONNECT_TIMEOUT_MS);

    ws.onopen = () => {
      opened = true;
      clearTimeout(this.connectTimer);
      this.wsFailures = 0;
      this.lastReceived = performance.now();
      // The session counts as healthy only once hello arrives; see onServerMessage.
    };
    ws.onmessage = (e) => {
      this.lastReceived = performance.now();
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      this.onServerMessage(msg);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearTimeout(this.connectTimer);
      this.onWebSocketFailed(opened, describeClose(e.code, e.reason));
    };
    // onerror is always followed by onclose, which carries the code; nothing to do here.
    ws.onerror = () => {};
  }

  async onWebSocketFailed(opened, reason) {
    if (this.stopped) return;
    if (!opened) this.wsFailures++;
    if (this.forced === 'auto' && !opened && this.wsFailures >= WS_FAILURES_BEFORE_FALLBACK && await this.gatewayReady()) {
      // The gateway answers HTTP but not WebSocket: something on the way blocks upgrades.
      this.transport = TRANSPORT_SSE;
      this.wsFailures = 0;
      this.attempt = 0;
      this.open();
      return;
    }
    this.scheduleRetry(reason);
  }

  async gatewayReady() {
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
    const symbols = this.getSymbols();
    if (symbols.length === 0) {
      // /sse requires at least one symbol; with nothing to watch there is nothing to open.
      this.setState('idle', 'watchlist empty');
      return;
    }
    const url = new URL('/sse', this.base);
    url.searchParams.set('symbols', symbols.join(','));
    url.searchParams.set('throttleMs', String(this.throttleMs));
    withAccessToken(url);
    // SSE is always conflate: the policy is not sent, and this.policy keeps the user's choice for the
    // next WebSocket session.

    const es = new EventSource(url);
    this.es = es;
    let healthy = false;

    const onData = (type) => (e) => {
      if (this.es !== es) return;
      this.lastReceived = performance.now();
      if (!healthy) {
        healthy = true;
        this.markHealthy(TRANSPORT_SSE, null);
        this.emit('message', { type: 'configured', throttleMs: this.throttleMs, policy: 'conflate', synthetic: true });
      }
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      if (msg.type === undefined) msg.type = type;
      this.onServerMessage(msg);
    };
    for (const type of ['hello', 'subscribed', 'snapshot', 'updates', 'heartbeat', 'status']) es.addEventListener(type, onData(type));
    // Some servers send the stream's first bytes only with the first event; opening is progress already.
    es.onopen = () => { this.lastReceived = performance.now(); };
    es.onerror = (e) => {
      if (this.es !== es) return;
      // The gateway names its error messages "error", the same name EventSource gives its own connection
      // failures; a server message is the one that carries data.
      if (typeof e.data === 'string') {
        onData('error')(e);
        return;
      }
      // EventSource would retry by itself, but with its own fixed delay and no jitter, and not at all
      // after an HTTP error. Take over so both transports back off the same way.
      this.closeCurrent();
      if (this.forced === 'auto' && typeof WebSocket !== 'undefined') {
        // On SSE only because WebSocket failed: give WebSocket another chance first, so a board that fell
        // back during a restart does not stay on the fallback for good.
        this.transport = TRANSPORT_WS;
        this.wsFailures = 0;
      }
      this.scheduleRetry(healthy ? 'event stream lost' : 'event stream refused');
    };
  }

  /** Under SSE the subscription is the URL: coalesce quick successive edits into one reopen. */
  reopenSseSoon() {
    clearTimeout(this.reopenTimer);
    this.reopenTimer = setTimeout(() => {
      if (this.stopped || this.transport !== TRANSPORT_SSE) return;
      this.attempt = 0;
      this.open();
    }, 150);
  }

  scheduleRetry(reason) {
    clearTimeout(this.retryTimer);
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    const delay = Math.round(Math.random() * cap);
    this.attempt++;
    this.retryAt = performance.now() + delay;
    this.setState('reconnecting', reason);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  // ---- incoming ------------------------------------------------------------------------------------

  onServerMessage(msg) {
    if (msg.type === 'hello') {
      if (Number.isFinite(msg.heartbeatMs) && msg.heartbeatMs > 0) this.heartbeatMs = msg.heartbeatMs;
      if (this.transport === TRANSPORT_WS) {
        this.throttleMs = msg.throttleMs ?? this.throttleMs;
        this.policy = msg.policy ?? this.policy;
        this.markHealthy(TRANSPORT_WS, msg.sessionId ?? null);
        const symbols = this.getSymbols();
        if (symbols.length > 0) this.send({ op: 'subscribe', symbols });
      }
    } else if (msg.type === 'configured') {
      this.throttleMs = msg.throttleMs ?? this.throttleMs;
      this.policy = msg.policy ?? this.policy;
    }
    this.emit('message', msg);
    if (this.state === 'stale') this.setState('connected');
  }

  markHealthy(transport, sessionId) {
    this.attempt = 0;
    this.setState('connected');
    this.emit('session', { transport, sessionId });
  }

  checkLiveness() {
    if (this.state !== 'connected') return;
    if (performance.now() - this.lastReceived > STALE_FACTOR * this.heartbeatMs) this.setState('stale');
  }

  // ---- plumbing ------------------------------------------------------------------------------------

  setState(state, reason = '') {
    this.state = state;
    const retryInMs = state === 'reconnecting' && this.retryAt ? Math.max(0, this.retryAt - performance.now()) : 0;
    this.emit('state', { state, transport: this.transport, attempt: this.attempt, retryInMs, reason, heartbeatMs: this.heartbeatMs });
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

function describeClose(code, reason) {
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
  const text = known[code] ?? 'closed';
  return `${code} ${reason || text}`;
}

/**
 * With authentication on, the board is opened as /?access_token=<token>. The token is read once, kept in this
 * module's memory only, and taken out of the address bar (and so out of the history and of any link copied
 * from it) at once. A WebSocket carries it as a subprotocol, "bearer.<base64url token>", beside marketstream.v1
 * (the gateway never selects it); an EventSource can carry nothing but its URL, so the SSE fallback sends it in
 * the query, where the gateway masks it in its logs.
 */
const accessToken = takeAccessTokenFromAddressBar();

function takeAccessTokenFromAddressBar() {
  const url = new URL(location.href);
  const token = url.searchParams.get('access_token');
  if (token) {
    url.searchParams.delete('access_token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  }
  return token;
}

/** The subprotocols a WebSocket offers: marketstream.v1, and the token when there is one. */
export function webSocketProtocols() {
  return accessToken ? [PROTOCOL, `bearer.${base64Url(accessToken)}`] : [PROTOCOL];
}

function base64Url(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** For an EventSource, which can send nothing else: the token in the URL's query. */
export function withAccessToken(url) {
  if (accessToken) url.searchParams.set('access_token', accessToken);
  return url;
}

/** For fetch: the token as an Authorization header. */
export function authHeaders() {
  return accessToken ? { Authorization: `Bearer ${accessToken}` } : {};
}
