// Wiring of the quote board: the watchlist and settings (persisted in localStorage), the connection, the
// board, and the status line. The connection is the JavaScript client package (clients/js, served here as
// /vendor/marketstream-client.js); everything the page shows about it comes from the client's events.

import { MarketStreamClient, TRANSPORT_SSE } from '../vendor/marketstream-client.js';
import { Board } from './board.js';
import { PriceChart } from './chart.js';
import { formatCount } from './format.js';

const WATCHLIST_KEY = 'marketstream.watchlist';
const SETTINGS_KEY = 'marketstream.settings';
const DEFAULT_WATCHLIST = ['AAPL', 'MSFT', 'NVDA', 'EUR/USD'];
const POLICIES = ['conflate', 'drop-oldest', 'drop-newest', 'disconnect'];
// PROTOCOL.md section 1: 1 to 32 characters from A-Z a-z 0-9 . _ : / -, the first a letter or digit.
const SYMBOL_RE = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,31}$/;

const $ = (id) => document.getElementById(id);

// ---- persisted state -----------------------------------------------------------------------------------

function loadWatchlist() {
  try {
    const stored = JSON.parse(localStorage.getItem(WATCHLIST_KEY) ?? 'null');
    if (Array.isArray(stored)) return stored.filter((s) => typeof s === 'string' && SYMBOL_RE.test(s));
  } catch { /* corrupt entry: fall back to the defaults */ }
  return [...DEFAULT_WATCHLIST];
}

function saveWatchlist() {
  try { localStorage.setItem(WATCHLIST_KEY, JSON.stringify(watchlist)); } catch { /* private mode, quota */ }
}

function loadSettings() {
  const params = new URLSearchParams(location.search);
  let stored = {};
  try { stored = JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? '{}') ?? {}; } catch { /* ignore */ }
  const throttle = Number(params.get('throttleMs') ?? stored.throttleMs ?? 250);
  const policy = params.get('policy') ?? stored.policy ?? 'conflate';
  return {
    throttleMs: Number.isInteger(throttle) && throttle >= 0 && throttle <= 60_000 ? throttle : 250,
    policy: POLICIES.includes(policy) ? policy : 'conflate',
  };
}

function saveSettings() {
  try { localStorage.setItem(SETTINGS_KEY, JSON.stringify({ throttleMs: conn.throttleMs, policy: conn.policy })); } catch { /* ignore */ }
}

/** `?transport=sse` or `?transport=ws` pins the transport (for tests and for diagnosing a network). */
function requestedTransport() {
  const t = (new URLSearchParams(location.search).get('transport') ?? '').toLowerCase();
  return t === 'sse' ? 'sse' : t === 'ws' || t === 'websocket' ? 'ws' : 'auto';
}

// ---- state -----------------------------------------------------------------------------------------

let watchlist = loadWatchlist();
const settings = loadSettings();
const counters = { frames: 0, quotes: 0, conflated: 0, dropped: 0 };
let epoch = 0; // one per connection; lets the board tell a sequence restart from a lagging replica
let streamEpoch = null; // the gateway's stream epoch (hello.epoch), when it tells one

const chart = new PriceChart($('chart-panel'), $('chart'), $('chart-symbol'));
const board = new Board($('rows'), {
  onRemove: removeSymbol,
  onSelect: (symbol) => {
    board.select(symbol);
    chart.show(symbol);
  },
  onFrame: () => chart.draw(),
});
$('chart-close').addEventListener('click', () => {
  chart.hide();
  board.select(null);
});
board.setSymbols(watchlist);

/**
 * With authentication on, the board is opened as /?access_token=<token>. The token is read once, kept in this
 * module's memory only, and taken out of the address bar (and so out of the history and of any link copied
 * from it) at once. The client sends it as a subprotocol over WebSocket and in the query over SSE.
 */
const accessToken = takeAccessTokenFromAddressBar();

function takeAccessTokenFromAddressBar() {
  const url = new URL(location.href);
  const token = url.searchParams.get('access_token');
  if (token) {
    url.searchParams.delete('access_token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  }
  return token ?? undefined;
}

/** For fetch: the token as an Authorization header. */
function authHeaders() {
  return accessToken ? { Authorization: `Bearer ${accessToken}` } : {};
}

const conn = new MarketStreamClient({
  url: location.origin,
  throttleMs: settings.throttleMs,
  policy: settings.policy,
  // Changed-fields-only quotes: the client lays each over the last, so rows always hold the whole quote.
  delta: true,
  transport: requestedTransport(),
  accessToken,
});

/**
 * Requests go through the client, whose promises reject when the gateway refuses one. The board shows a refusal
 * from the server's error message itself (onServerError), so a rejection needs nothing more here.
 */
function quietly(promise) {
  promise.catch(() => {});
}

// ---- watchlist -------------------------------------------------------------------------------------

function addSymbol(raw) {
  const symbol = raw.trim().toUpperCase();
  if (!symbol) return;
  if (!SYMBOL_RE.test(symbol)) {
    showNotice(`'${symbol}' is not a valid symbol`, 'error');
    return;
  }
  if (watchlist.includes(symbol)) {
    showNotice(`${symbol} is already on the watchlist`);
    return;
  }
  watchlist = [...watchlist, symbol];
  saveWatchlist();
  board.setSymbols(watchlist);
  quietly(conn.subscribe([symbol]));
  if (knownSymbols.size > 0 && !knownSymbols.has(symbol)) {
    showNotice(`${symbol}: no quote on the gateway yet; the row fills in when one arrives`);
  }
}

function removeSymbol(symbol) {
  watchlist = watchlist.filter((s) => s !== symbol);
  saveWatchlist();
  board.setSymbols(watchlist);
  quietly(conn.unsubscribe([symbol]));
  if (chart.symbol === symbol) {
    chart.hide();
    board.select(null);
  }
}

$('add-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $('add-symbol');
  addSymbol(input.value);
  input.value = '';
});

// "/" focuses the symbol box, as in most terminals and search UIs.
document.addEventListener('keydown', (e) => {
  if (e.key === '/' && document.activeElement?.tagName !== 'INPUT' && document.activeElement?.tagName !== 'SELECT') {
    e.preventDefault();
    $('add-symbol').focus();
  }
});

const knownSymbols = new Set();

async function loadSymbolSuggestions() {
  try {
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), 5_000);
    const res = await fetch(new URL('/api/symbols', location.href), { cache: 'no-store', signal: ctl.signal, headers: authHeaders() });
    clearTimeout(t);
    if (!res.ok) return;
    const symbols = await res.json();
    if (!Array.isArray(symbols)) return;
    const list = $('symbol-suggestions');
    list.replaceChildren(...symbols.map((s) => {
      knownSymbols.add(s);
      const option = document.createElement('option');
      option.value = s;
      return option;
    }));
    $('universe').textContent = `${formatCount(symbols.length)} symbols`;
  } catch { /* offline or restarting: suggestions are a convenience, try again on the next session */ }
}

// ---- settings ----------------------------------------------------------------------------------------

const throttleSelect = $('throttle');
const policySelect = $('policy');

function ensureThrottleOption(ms) {
  if (![...throttleSelect.options].some((o) => Number(o.value) === ms)) {
    const option = document.createElement('option');
    option.value = String(ms);
    option.textContent = `${ms} ms`;
    throttleSelect.appendChild(option);
  }
}

function showSettings(throttleMs, policy) {
  ensureThrottleOption(throttleMs);
  throttleSelect.value = String(throttleMs);
  policySelect.value = policy;
}

throttleSelect.addEventListener('change', () => requestConfigure({ throttleMs: Number(throttleSelect.value) }));
policySelect.addEventListener('change', () => requestConfigure({ policy: policySelect.value }));

function requestConfigure(change) {
  quietly(conn.configure(change));
  saveSettings();
  setText('configured', 'pending');
  $('configured').dataset.state = 'pending';
}

// ---- connection events -------------------------------------------------------------------------------

const STATE_LABEL = { connecting: 'Connecting', connected: 'Live', reconnecting: 'Reconnecting', stale: 'Stale', idle: 'Idle' };
let lastStateDetail = null;

let retryAt = 0;

conn.addEventListener('state', (e) => {
  lastStateDetail = e.detail;
  retryAt = e.detail.state === 'reconnecting' ? performance.now() + e.detail.retryInMs : 0;
  renderState();
});

function renderState() {
  const d = lastStateDetail;
  if (!d) return;
  const el = $('conn-state');
  el.dataset.state = d.state;
  setText('conn-label', STATE_LABEL[d.state] ?? d.state);
  setText('transport', d.transport);
  $('transport').dataset.transport = d.transport === TRANSPORT_SSE ? 'sse' : 'ws';
  let detail = '';
  if (d.state === 'reconnecting') {
    const left = retryAt ? Math.max(0, retryAt - performance.now()) : 0;
    detail = left > 0 ? `retry in ${(left / 1000).toFixed(1)}s` : 'connecting';
    if (d.attempt > 0) detail += ` \u00b7 attempt ${d.attempt}`;
    if (d.reason) detail += ` \u00b7 ${d.reason}`;
  } else if (d.state === 'idle') {
    detail = d.reason;
  } else if (d.state === 'stale') {
    detail = `nothing received for over ${((2.5 * d.heartbeatMs) / 1000).toFixed(1)}s`;
  }
  setText('conn-detail', detail);
  // Under SSE the server always conflates; the policy control would only mislead.
  policySelect.disabled = d.transport === TRANSPORT_SSE;
  policySelect.title = policySelect.disabled ? 'SSE always uses conflate' : 'Drop policy of this connection';
}

/** The gateway's word on its feed: stale (frozen prices, since the last tick it received) or live again. */
function showFeedStatus(msg) {
  const stale = msg?.feed === 'stale';
  $('feed-state').hidden = !stale;
  if (stale) {
    const since = typeof msg.since === 'number' ? new Date(msg.since / 1000).toLocaleTimeString() : null;
    setText('feed-label', since ? `Feed stale since ${since}` : 'Feed stale');
  }
}

conn.addEventListener('session', (e) => {
  showFeedStatus(null); // a new stream: its hello is followed by a status if the feed is still stale
  epoch++;
  setText('session', e.detail.sessionId ? e.detail.sessionId.slice(0, 8) : '\u2014');
  $('session').title = e.detail.sessionId ?? '';
  loadSymbolSuggestions();
});

conn.addEventListener('message', (e) => {
  const msg = e.detail;
  if (!msg.synthetic) counters.frames++;
  switch (msg.type) {
    case 'hello':
      streamEpoch = msg.epoch ?? null;
      if (msg.sessionId) {
        setText('session', msg.sessionId.slice(0, 8));
        $('session').title = msg.sessionId;
      }
      setText('heartbeat', `${(msg.heartbeatMs / 1000).toFixed(1)}s`);
      showSettings(msg.throttleMs, msg.policy);
      showConfigured(msg.throttleMs, msg.policy, 'hello');
      break;
    case 'configured':
      showSettings(msg.throttleMs, msg.policy);
      showConfigured(msg.throttleMs, msg.policy, msg.synthetic ? 'sse' : 'configured');
      if (!msg.synthetic) saveSettings();
      break;
    case 'snapshot':
    case 'updates':
      for (const q of msg.quotes ?? []) {
        counters.quotes++;
        counters.conflated += q.conflated ?? 0;
        counters.dropped += q.dropped ?? 0;
        if (board.apply(q, epoch, streamEpoch)) chart.record(q.symbol, board.stateOf(q.symbol));
      }
      break;
    case 'status':
      showFeedStatus(msg);
      break;
    case 'error':
      onServerError(msg);
      break;
    default:
      break; // subscribed, unsubscribed, pong, heartbeat, and anything a later protocol version adds
  }
});

function showConfigured(throttleMs, policy, source) {
  const el = $('configured');
  el.dataset.state = 'ok';
  el.textContent = `${throttleMs} ms \u00b7 ${policy}`;
  el.title = source === 'hello' ? 'settings announced by the server at connect'
    : source === 'sse' ? 'SSE: throttle from the URL, policy always conflate'
      : 'settings confirmed by the server (configured)';
}

function onServerError(msg) {
  showNotice(`${msg.code}: ${msg.message}`, 'error');
  // A symbol the server will never serve stays off the watchlist, or it would be resubscribed forever.
  if ((msg.code === 'invalid_symbol' || msg.code === 'forbidden') && Array.isArray(msg.symbols)) {
    watchlist = watchlist.filter((s) => !msg.symbols.includes(s));
    saveWatchlist();
    board.setSymbols(watchlist);
  }
}

// ---- status line ---------------------------------------------------------------------------------------

let noticeTimer = 0;
function showNotice(text, kind = 'info') {
  const el = $('notice');
  el.textContent = text;
  el.dataset.kind = kind;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { el.textContent = ''; }, 6_000);
}

function setText(id, text) {
  const el = $(id);
  if (el.textContent !== text) el.textContent = text;
}

const clockFormat = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZone: 'UTC' });

// One timer for everything that ticks: ages, the retry countdown, counters and the clock. Counters are
// painted here rather than per frame so a fast feed costs one DOM write per counter per tick.
setInterval(() => {
  board.tick();
  setText('frames', formatCount(counters.frames));
  setText('quotes', formatCount(counters.quotes));
  setText('conflated', formatCount(counters.conflated));
  setText('dropped', formatCount(counters.dropped));
  setText('clock', `${clockFormat.format(new Date())} UTC`);
  if (lastStateDetail?.state === 'reconnecting') renderState();
}, 100);

$('endpoint').textContent = location.host;
showSettings(settings.throttleMs, settings.policy);
addEventListener('pagehide', () => conn.close());
// The watchlist first: it goes out with the first hello (or, over SSE, in the stream's URL).
if (watchlist.length > 0) quietly(conn.subscribe(watchlist));
quietly(conn.connect());
loadSymbolSuggestions();
