// The client against real gateways (Feed.Gateway.dll) reading a real Kafka-protocol broker (Feed.Simulator's).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import net from 'node:net';
import { MarketStreamClient, InvalidSymbolError, ForbiddenError } from '../src/index.js';
import { startBroker, startGateway, mintToken, waitFor } from './fixtures.js';

let broker;

before(async () => {
  broker = await startBroker();
});

after(async () => {
  await broker?.stop();
});

/** Collects quote events; `until` waits for a condition over what has arrived. */
function record(client) {
  const quotes = [];
  client.addEventListener('quote', (e) => quotes.push(e.detail));
  return {
    quotes,
    until: (condition, what, timeoutMs = 20_000) => waitFor(() => condition(quotes), what, timeoutMs),
  };
}

function assertSeqIncreasing(quotes) {
  const last = new Map();
  for (const q of quotes) {
    const previous = last.get(q.symbol);
    assert.ok(previous === undefined || q.quote.seq > previous, `${q.symbol}: seq ${q.quote.seq} after ${previous}`);
    last.set(q.symbol, q.quote.seq);
  }
}

test('a subscription delivers the snapshot, then updates with seq increasing', { timeout: 120_000 }, async () => {
  const gateway = await startGateway({ bootstrap: broker.bootstrap });
  const client = new MarketStreamClient({ url: gateway.url, WebSocket, throttleMs: 0 });
  try {
    const seen = record(client);
    await client.connect();
    const reply = await client.subscribe(['aapl', 'MSFT']);
    assert.deepEqual([...reply.symbols].sort(), ['AAPL', 'MSFT']);
    assert.deepEqual(client.subscriptions.sort(), ['AAPL', 'MSFT']);
    // The snapshot is delivered before subscribe resolves.
    assert.ok(seen.quotes.length >= 2 && seen.quotes.slice(0, 2).every((q) => q.snapshot), 'snapshot quotes first');

    await seen.until((qs) => qs.filter((q) => !q.snapshot && q.symbol === 'AAPL').length >= 10, 'ten AAPL updates');
    assertSeqIncreasing(seen.quotes);
    assert.ok(seen.quotes.every((q) => q.symbol === 'AAPL' || q.symbol === 'MSFT'));
    assert.ok(seen.quotes.every((q) => typeof q.quote.ts === 'number' && (q.quote.bid > 0 || q.quote.ask > 0 || q.quote.last > 0)));

    // The same quotes as an async iterator.
    let n = 0;
    for await (const q of client.quotes()) {
      assert.ok(q.symbol === 'AAPL' || q.symbol === 'MSFT');
      if (++n === 5) break;
    }

    await client.unsubscribe(['MSFT']);
    const after = seen.quotes.length;
    await seen.until((qs) => qs.length >= after + 10, 'ten more quotes');
    assert.ok(seen.quotes.slice(after).every((q) => q.symbol === 'AAPL'), 'MSFT after unsubscribe');

    const configured = await client.configure({ throttleMs: 250 });
    assert.equal(configured.throttleMs, 250);
  } finally {
    client.close();
    await gateway.stop();
  }
});

test('a gateway restart is survived: reconnect, resubscribe, and no seq going backwards', { timeout: 120_000 }, async () => {
  const gateway = await startGateway({ bootstrap: broker.bootstrap });
  const client = new MarketStreamClient({ url: gateway.url, WebSocket, throttleMs: 0, backoffBaseMs: 100, backoffMaxMs: 1_000 });
  const states = [];
  client.addEventListener('state', (e) => states.push(e.detail.state));
  let restarted;
  try {
    const seen = record(client);
    await client.subscribe(['AAPL', 'EURUSD']); // starts the connection by itself
    await seen.until((qs) => qs.length >= 10, 'quotes before the restart');

    await gateway.stop();
    await waitFor(() => states.includes('reconnecting'), 'the client to notice the stop', 10_000);
    const before = seen.quotes.length;
    restarted = await startGateway({ bootstrap: broker.bootstrap, port: gateway.port });
    await waitFor(() => client.state === 'connected', 'the client to reconnect', 20_000);
    await seen.until((qs) => qs.slice(before).filter((q) => !q.snapshot).length >= 10, 'updates after the restart');

    assert.deepEqual(client.subscriptions.sort(), ['AAPL', 'EURUSD']);
    assertSeqIncreasing(seen.quotes);
  } finally {
    client.close();
    await restarted?.stop();
    await gateway.stop();
  }
});

test('requests the gateway refuses reject with typed errors, and a token limits the symbols', { timeout: 120_000 }, async () => {
  const auth = [
    '--Feed:Auth:Enabled=true',
    '--Feed:Auth:SigningKey=js-client-tests-signing-key-of-32-bytes-or-more',
    '--Feed:Auth:Issuer=marketstream-tests',
    '--Feed:Auth:Audience=marketstream',
  ];
  const gateway = await startGateway({ bootstrap: broker.bootstrap, settings: auth });
  const token = await mintToken({ symbols: 'AAPL', settings: auth });
  const client = new MarketStreamClient({ url: gateway.url, WebSocket, accessToken: token });
  try {
    await client.connect();
    await client.subscribe(['AAPL']);

    await assert.rejects(client.subscribe(['MSFT']), (err) => err instanceof ForbiddenError && err.code === 'forbidden' && err.symbols.includes('MSFT'));
    assert.deepEqual(client.subscriptions, ['AAPL']);

    // Symbols that break the protocol's rules are refused before they are sent, with the same class the gateway's
    // invalid_symbol maps to.
    await assert.rejects(client.subscribe(['no such symbol!']), InvalidSymbolError);
    await assert.rejects(client.subscribe(['A'.repeat(40)]), (err) => err instanceof InvalidSymbolError && err.code === 'invalid_symbol');

    // Without a token the gateway refuses the upgrade: the client keeps trying, never connected.
    const anonymous = new MarketStreamClient({ url: gateway.url, WebSocket, backoffBaseMs: 100 });
    const states = [];
    anonymous.addEventListener('state', (e) => states.push(e.detail));
    anonymous.connect().catch(() => {});
    await waitFor(() => states.filter((s) => s.state === 'reconnecting').length >= 2, 'two refused attempts', 10_000);
    assert.notEqual(anonymous.state, 'connected');
    anonymous.close();
  } finally {
    client.close();
    await gateway.stop();
  }
});

test('deltas (the default) are laid over the last quote of the connection, before the seq filter', () => {
  // Over SSE, so that hello needs no socket to resubscribe on: the messages are handed in directly.
  const client = new MarketStreamClient({ url: 'http://127.0.0.1:1', transport: 'sse', EventSource: class {} });
  const seen = record(client);
  client.wanted.add('AAPL');
  client.onServerMessage({ type: 'hello', heartbeatMs: 5000, delta: true });
  client.onServerMessage({ type: 'snapshot', quotes: [{ symbol: 'AAPL', seq: 10, bid: 1.10, ask: 1.2, ts: 1, venue: 'XNAS' }] });
  client.onServerMessage({ type: 'updates', quotes: [{ symbol: 'AAPL', seq: 12, bid: 1.11, ts: 2, conflated: 1 }] });
  client.onServerMessage({ type: 'updates', quotes: [{ symbol: 'AAPL', seq: 13, last: 1.15, lastSize: 5, ts: 3 }] });
  assert.deepEqual(seen.quotes.map((q) => q.quote), [
    { symbol: 'AAPL', seq: 10, bid: 1.10, ask: 1.2, ts: 1, venue: 'XNAS' },
    { symbol: 'AAPL', seq: 12, bid: 1.11, ask: 1.2, ts: 2, venue: 'XNAS', conflated: 1 },
    { symbol: 'AAPL', seq: 13, bid: 1.11, ask: 1.2, ts: 3, venue: 'XNAS', last: 1.15, lastSize: 5 },
  ]);

  // Another connection to a replica that is behind: its snapshot is filtered out (seq 11 < 13), but its next delta
  // is written against that snapshot, and must be laid over it, not over what the reader last saw.
  client.onServerMessage({ type: 'hello', heartbeatMs: 5000, delta: true });
  client.onServerMessage({ type: 'snapshot', quotes: [{ symbol: 'AAPL', seq: 11, bid: 1.05, ask: 1.3, ts: 2, venue: 'ARCX' }] });
  client.onServerMessage({ type: 'updates', quotes: [{ symbol: 'AAPL', seq: 14, ask: 1.31, ts: 4 }] });
  assert.equal(seen.quotes.length, 4);
  assert.deepEqual(seen.quotes[3].quote, { symbol: 'AAPL', seq: 14, bid: 1.05, ask: 1.31, ts: 4, venue: 'ARCX' });
  client.close();
});

test('over a real gateway, deltas travel compressed and every quote event is whole', { timeout: 120_000 }, async () => {
  const gateway = await startGateway({ bootstrap: broker.bootstrap });
  const client = new MarketStreamClient({ url: gateway.url, WebSocket, throttleMs: 0 });
  // A bare socket asking for the same, to see what the wire carries.
  const raw = new WebSocket(`${gateway.url.replace('http', 'ws')}/ws?throttleMs=0&delta=true`, 'marketstream.v1');
  const wire = [];
  raw.on('message', (data) => wire.push(JSON.parse(data.toString())));
  const opened = new Promise((resolve, reject) => { raw.once('open', resolve); raw.once('error', reject); });
  try {
    const seen = record(client);
    await client.subscribe(['AAPL', 'MSFT']);
    await opened;
    assert.match(raw.extensions, /permessage-deflate/);
    raw.send(JSON.stringify({ op: 'subscribe', id: 1, symbols: ['AAPL', 'MSFT'] }));
    await seen.until((qs) => qs.filter((q) => !q.snapshot).length >= 40, 'forty updates');
    await waitFor(() => wire.filter((m) => m.type === 'updates').length >= 20, 'twenty raw updates frames');

    const fields = ['bid', 'ask', 'bidSize', 'askSize', 'last', 'lastSize', 'venue'];
    assert.equal(wire.find((m) => m.type === 'hello').delta, true);
    const partial = wire.filter((m) => m.type === 'updates').flatMap((m) => m.quotes).filter((q) => fields.some((f) => !(f in q)));
    assert.ok(partial.length > 0, 'no update on the wire left a field out');
    // A quote is the symbol's whole state: it never lacks a field an earlier quote of the symbol had.
    const known = new Map();
    for (const q of seen.quotes) {
      for (const f of known.get(q.symbol) ?? []) assert.ok(f in q.quote, `${q.symbol} seq ${q.quote.seq} lacks ${f}`);
      known.set(q.symbol, fields.filter((f) => f in q.quote));
    }
    assert.ok([...known.values()].some((k) => k.length === fields.length), 'no quote with every field');
    assertSeqIncreasing(seen.quotes);
  } finally {
    raw.close();
    client.close();
    await gateway.stop();
  }
});

test('closing while the socket is still connecting raises nothing later', { timeout: 30_000 }, async () => {
  // A listener that accepts and never answers the upgrade: the socket stays connecting.
  const silent = net.createServer(() => {});
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const client = new MarketStreamClient({ url: `ws://127.0.0.1:${silent.address().port}/ws`, WebSocket });
  const states = [];
  client.addEventListener('state', (e) => states.push(e.detail.state));
  try {
    client.connect().catch(() => {});
    await waitFor(() => states.includes('connecting'), 'a connection attempt', 5_000);
    client.close();

    // The socket reports its aborted handshake after close() returns; an unhandled one would fail this test.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(client.state, 'closed');
  } finally {
    client.close();
    silent.close();
  }
});
