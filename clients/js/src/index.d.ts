// Type declarations of @marketstream/client (protocol v1).

export declare const PROTOCOL: 'marketstream.v1';
export declare const TRANSPORT_WS: 'WebSocket';
export declare const TRANSPORT_SSE: 'SSE';

export declare const ErrorCodes: Readonly<{
  badRequest: 'bad_request';
  invalidSymbol: 'invalid_symbol';
  tooManySymbols: 'too_many_symbols';
  forbidden: 'forbidden';
  rateLimited: 'rate_limited';
}>;

export type Policy = 'conflate' | 'drop-oldest' | 'drop-newest' | 'disconnect';
export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'stale' | 'closed';

/** A symbol's merged state: every field known so far (PROTOCOL.md section 2). Prices are numbers as sent. */
export interface Quote {
  symbol: string;
  /** Strictly increasing per symbol, the same on every replica (the tick's position in Kafka). */
  seq: number;
  /** Event time, Unix epoch microseconds. */
  ts: number;
  bid?: number;
  ask?: number;
  bidSize?: number;
  askSize?: number;
  last?: number;
  lastSize?: number;
  venue?: string;
  conflated?: number;
  dropped?: number;
}

export interface QuoteEventDetail {
  symbol: string;
  quote: Quote;
  /** True for a quote of a snapshot (the state when subscribing or reconnecting). */
  snapshot: boolean;
  /** Earlier ticks merged into this quote and never sent to this client. */
  conflated: number;
  /** Quotes of this symbol discarded by a drop policy since the last one received. */
  dropped: number;
}

export interface StateEventDetail {
  state: ConnectionState;
  transport: 'WebSocket' | 'SSE';
  attempt: number;
  retryInMs: number;
  reason: string;
  heartbeatMs: number;
}

export interface FeedEventDetail {
  /** The gateway receives nothing from Kafka: prices are frozen since `since`. */
  stale: boolean;
  /** When stale: the last tick received, Unix epoch microseconds. */
  since: number | null;
}

export interface ServerMessage {
  type: string;
  id?: number;
  [field: string]: unknown;
}

export interface MarketStreamClientOptions {
  /** The gateway: http(s)://host[:port] (ws(s) works too); /ws and /sse are reached below it. */
  url: string | URL;
  /** Least time between two updates frames, 0 to 60000 ms; the gateway's default (100) when left out. */
  throttleMs?: number;
  /** What happens when this client receives less than the market produces; the gateway's default (conflate) when left out. */
  policy?: Policy;
  /**
   * Ask for changed-fields-only quotes (the protocol's `delta` extension, `delta=true`) and apply them, so every
   * `quote` event still carries the symbol's whole quote. Default true.
   */
  delta?: boolean;
  /** 'auto' (WebSocket, falling back to SSE when upgrades are blocked), 'ws' or 'sse'. */
  transport?: 'auto' | 'ws' | 'sse';
  /** A token (or a function returning the current one) when the gateway has authentication on. */
  accessToken?: string | (() => string | undefined);
  /** The WebSocket class, where the runtime has none (Node 20: `import WebSocket from 'ws'`). */
  WebSocket?: unknown;
  /** The EventSource class for the SSE fallback, where the runtime has none. */
  EventSource?: unknown;
  /** Reconnect backoff: full jitter between 0 and min(max, base x 2^attempt). Defaults 250 ms and 10 s. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A connection is dead after this many heartbeat intervals with nothing received. Default 2.5. */
  staleFactor?: number;
  /** Time for a WebSocket to open and say hello. Default 8 s. */
  connectTimeoutMs?: number;
  /** Time for a request's reply. Default 10 s. */
  requestTimeoutMs?: number;
  /** Failed WebSocket attempts in a row before trying SSE (when the gateway answers HTTP). Default 3. */
  wsFailuresBeforeFallback?: number;
}

export interface SessionEventDetail {
  transport: 'WebSocket' | 'SSE';
  /** The gateway's id of the session (from hello); null over SSE. */
  sessionId: string | null;
}

export interface MarketStreamClientEventMap {
  quote: CustomEvent<QuoteEventDetail>;
  session: CustomEvent<SessionEventDetail>;
  state: CustomEvent<StateEventDetail>;
  feed: CustomEvent<FeedEventDetail>;
  message: CustomEvent<ServerMessage>;
}

export declare class MarketStreamClient extends EventTarget {
  constructor(options: MarketStreamClientOptions);
  /** The symbols this client wants, kept across reconnects. */
  readonly subscriptions: string[];
  readonly state: ConnectionState;
  /** The throttle and policy in force (from hello and configured replies). */
  readonly throttleMs: number | undefined;
  readonly policy: Policy | undefined;
  /** Starts the stream (once); resolves when connected. */
  connect(): Promise<void>;
  /** Resolves with the `subscribed` reply once the snapshot has been delivered; rejects with a FeedRequestError subclass. */
  subscribe(symbols: string | string[]): Promise<ServerMessage>;
  unsubscribe(symbols: string | string[]): Promise<ServerMessage>;
  configure(settings: { throttleMs?: number; policy?: Policy; delta?: boolean }): Promise<ServerMessage>;
  /** Quotes from now on, until the client is closed or the loop breaks. */
  quotes(): AsyncIterableIterator<QuoteEventDetail>;
  close(): void;
  addEventListener<K extends keyof MarketStreamClientEventMap>(type: K, listener: (event: MarketStreamClientEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof MarketStreamClientEventMap>(type: K, listener: (event: MarketStreamClientEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

export declare class FeedRequestError extends Error {
  constructor(code: string, message: string, symbols?: string[]);
  /** The protocol's error code (bad_request, invalid_symbol, ...), or "timeout" / "transport". */
  readonly code: string;
  readonly symbols: string[];
}
export declare class InvalidSymbolError extends FeedRequestError {}
export declare class TooManySymbolsError extends FeedRequestError {}
export declare class ForbiddenError extends FeedRequestError {}
export declare class RateLimitedError extends FeedRequestError {}
export declare class ClientClosedError extends Error {}

/** A WebSocket close code as words. */
export declare function describeClose(code: number, reason?: string): string;
