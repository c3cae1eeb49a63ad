// Rendering of the quote board: one table row per watched symbol.
//
// The board owns the per-symbol display state (last seq shown, baseline for the change column, price
// precision) and decides whether an incoming quote is newer than what it shows. It never talks to the
// network; app.js hands it quotes.

import { formatAge, formatPrice, formatSize, formatSigned, decimalsOf, scaled } from './format.js';

const PLACEHOLDER = '\u2014'; // em dash for "not known yet"
const MIN_DECIMALS = 2;
const MAX_DECIMALS = 8;

// Columns in display order. `key` doubles as the cell's data-field, which the browser tests read.
const COLUMNS = [
  { key: 'symbol', cls: 'sym' },
  { key: 'bidSize', cls: 'num size' },
  { key: 'bid', cls: 'num px bid' },
  { key: 'ask', cls: 'num px ask' },
  { key: 'askSize', cls: 'num size' },
  { key: 'spread', cls: 'num' },
  { key: 'last', cls: 'num px last' },
  { key: 'lastSize', cls: 'num size' },
  { key: 'change', cls: 'num' },
  { key: 'changePct', cls: 'num' },
  { key: 'seq', cls: 'num muted' },
  { key: 'venue', cls: 'muted' },
  { key: 'age', cls: 'num age' },
  { key: 'remove', cls: 'act' },
];

export class Board {
  /**
   * @param {HTMLTableSectionElement} tbody
   * @param {{ onRemove: (symbol: string) => void, onSelect?: (symbol: string) => void, onFrame?: () => void }} callbacks
   *   onFrame runs once per animation frame in which rows were drawn, after them (the chart draws there too).
   */
  constructor(tbody, { onRemove, onSelect, onFrame }) {
    this.tbody = tbody;
    this.onRemove = onRemove;
    this.onSelect = onSelect;
    this.onFrame = onFrame;
    /** @type {Map<string, Row>} */
    this.rows = new Map();
    this.emptyRow = null;
    /** Rows changed since the last frame; each is drawn once per frame, however many quotes it got. */
    this.dirty = new Set();
    this.frameRequested = false;
    this.selected = null;
  }

  /** The merged state of a symbol's row (bid, ask, last, ts, ...), or undefined. */
  stateOf(symbol) {
    return this.rows.get(symbol)?.state;
  }

  /** Marks a symbol's row as the selected one (the chart's). */
  select(symbol) {
    this.selected = symbol;
    for (const [s, row] of this.rows) row.tr.classList.toggle('selected', s === symbol);
  }

  /** Makes the rows match the watchlist, in its order, keeping the state of symbols that stay. */
  setSymbols(symbols) {
    const wanted = new Set(symbols);
    for (const [symbol, row] of this.rows) {
      if (!wanted.has(symbol)) {
        row.tr.remove();
        this.rows.delete(symbol);
      }
    }
    for (const symbol of symbols) {
      let row = this.rows.get(symbol);
      if (!row) {
        row = this.createRow(symbol);
        this.rows.set(symbol, row);
      }
      this.tbody.appendChild(row.tr); // appendChild moves an existing row: this also fixes the order
    }
    this.renderEmpty(symbols.length === 0);
  }

  /**
   * Shows a quote if it is newer than the one shown.
   * @param {object} q  a quote as sent by the gateway
   * @param {number} epoch  identifies the connection that delivered it (one per connection)
   * @param {string|null} streamEpoch  the stream's epoch from the gateway's hello, when it tells one
   * @returns {boolean} whether it was applied
   */
  apply(q, epoch, streamEpoch = null) {
    const row = this.rows.get(q.symbol);
    if (!row) return false; // an update still in flight for a symbol just removed
    const s = row.state;
    if (s.seq !== undefined && !(q.seq > s.seq)) {
      // Not newer: a replay, or a replica that lags behind the one we were on, unless the sequence started
      // over (seq derives from Kafka offsets: another cluster, or a recreated log). A gateway that tells its
      // stream epoch says so; with one that does not, the first quote of a new connection that is older by
      // seq but newer by event time is taken as a restart. Holding on to the old seq would freeze the row.
      const sequenceRestarted = streamEpoch
        ? s.stream !== undefined && s.stream !== streamEpoch
        : s.epoch !== epoch && q.ts > s.ts;
      if (!sequenceRestarted) return false;
    }
    s.epoch = epoch;
    s.stream = streamEpoch ?? undefined;

    const prev = { bid: s.bid, ask: s.ask, last: s.last };
    for (const key of ['seq', 'bid', 'ask', 'last', 'bidSize', 'askSize', 'lastSize', 'ts', 'venue']) {
      if (q[key] !== undefined) s[key] = q[key];
    }
    for (const key of ['bid', 'ask', 'last']) {
      if (q[key] !== undefined) s.decimals = Math.min(MAX_DECIMALS, Math.max(s.decimals, decimalsOf(q[key])));
    }
    const ref = referencePrice(s);
    if (s.base === undefined && ref !== undefined) s.base = ref;
    s.receivedAt = performance.now();
    s.updates++;

    // Drawn at the next animation frame, from the values shown before the first quote since the last one: at
    // throttleMs=0 a busy symbol gets many quotes per frame, and the screen can show only one.
    if (!this.dirty.has(row)) {
      row.prev = prev;
      this.dirty.add(row);
    }
    this.requestFrame();
    return true;
  }

  requestFrame() {
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => this.drawFrame());
  }

  drawFrame() {
    this.frameRequested = false;
    for (const row of this.dirty) {
      if (row.tr.isConnected) this.render(row, row.prev);
    }
    this.dirty.clear();
    this.onFrame?.();
  }

  /** Refreshes the age column; cheap enough to run several times a second. */
  tick(now = performance.now()) {
    for (const row of this.rows.values()) {
      const s = row.state;
      if (s.receivedAt === undefined) continue;
      const age = now - s.receivedAt;
      const cell = row.cells.age;
      const text = formatAge(age);
      if (cell.textContent !== text) cell.textContent = text;
      cell.classList.toggle('old', age >= 5_000);
    }
  }

  // ---- rendering -----------------------------------------------------------------------------------

  createRow(symbol) {
    const tr = document.createElement('tr');
    tr.dataset.symbol = symbol;
    tr.dataset.updates = '0';
    const cells = {};
    for (const col of COLUMNS) {
      const td = document.createElement('td');
      td.className = col.cls;
      td.dataset.field = col.key;
      cells[col.key] = td;
      tr.appendChild(td);
    }
    cells.symbol.textContent = symbol;
    cells.symbol.title = symbol;
    for (const col of COLUMNS) {
      if (col.key !== 'symbol' && col.key !== 'remove') cells[col.key].textContent = PLACEHOLDER;
    }
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'remove';
    button.textContent = '\u00d7'; // multiplication sign, the conventional "remove"
    button.title = `Remove ${symbol}`;
    button.setAttribute('aria-label', `Remove ${symbol} from the watchlist`);
    button.addEventListener('click', (e) => {
      e.stopPropagation(); // removing a row does not select it
      this.onRemove(symbol);
    });
    cells.remove.appendChild(button);
    tr.title = `${symbol}: click for its chart`;
    tr.addEventListener('click', () => this.onSelect?.(symbol));

    return { tr, cells, state: { symbol, decimals: MIN_DECIMALS, updates: 0 } };
  }

  render(row, prev) {
    const { cells, state: s, tr } = row;
    const p = s.decimals;
    setText(cells.bid, formatPrice(s.bid, p));
    setText(cells.ask, formatPrice(s.ask, p));
    setText(cells.last, formatPrice(s.last, p));
    setText(cells.bidSize, formatSize(s.bidSize));
    setText(cells.askSize, formatSize(s.askSize));
    setText(cells.lastSize, formatSize(s.lastSize));
    setText(cells.venue, s.venue ?? PLACEHOLDER);
    setText(cells.seq, s.seq === undefined ? PLACEHOLDER : String(s.seq));

    // Spread and change in integer units of the last decimal shown, so 189.14 - 189.12 prints 0.02 and
    // not 0.019999999999982.
    if (s.bid !== undefined && s.ask !== undefined) {
      setText(cells.spread, formatPrice((scaled(s.ask, p) - scaled(s.bid, p)) / 10 ** p, p));
    }
    const ref = referencePrice(s);
    if (ref !== undefined && s.base !== undefined) {
      const diffUnits = scaled(ref, p) - scaled(s.base, p);
      setText(cells.change, formatSigned(diffUnits / 10 ** p, p));
      setText(cells.changePct, formatSigned((diffUnits / scaled(s.base, p)) * 100, 2) + '%');
      const dir = diffUnits > 0 ? 'up' : diffUnits < 0 ? 'down' : 'flat';
      cells.change.dataset.dir = dir;
      cells.changePct.dataset.dir = dir;
    }

    for (const key of ['bid', 'ask', 'last']) {
      if (prev[key] === undefined || s[key] === undefined || s[key] === prev[key]) continue;
      const dir = s[key] > prev[key] ? 'up' : 'down';
      cells[key].dataset.dir = dir; // the tick direction stays as the price colour until the next change
      flash(cells[key], dir);
    }

    tr.dataset.seq = String(s.seq);
    tr.dataset.updates = String(s.updates);
    cells.age.title = s.ts ? `event time ${new Date(s.ts / 1000).toISOString()}` : '';
  }

  renderEmpty(empty) {
    if (empty && !this.emptyRow) {
      this.emptyRow = document.createElement('tr');
      this.emptyRow.className = 'empty';
      const td = document.createElement('td');
      td.colSpan = COLUMNS.length;
      td.textContent = 'The watchlist is empty. Add a symbol above.';
      this.emptyRow.appendChild(td);
      this.tbody.appendChild(this.emptyRow);
    } else if (!empty && this.emptyRow) {
      this.emptyRow.remove();
      this.emptyRow = null;
    }
  }
}

/** The price the change column follows: last trade, or the mid when nothing has traded yet. */
function referencePrice(s) {
  if (s.last !== undefined) return s.last;
  if (s.bid !== undefined && s.ask !== undefined) return (s.bid + s.ask) / 2;
  return undefined;
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

// Web Animations rather than toggling a CSS class: restarting a class animation on every tick needs a
// forced reflow, and several flashes in a row on the same cell would cancel each other.
const FLASH = {
  up: [{ backgroundColor: 'rgba(38, 194, 129, 0.32)' }, { backgroundColor: 'rgba(38, 194, 129, 0)' }],
  down: [{ backgroundColor: 'rgba(240, 80, 80, 0.32)' }, { backgroundColor: 'rgba(240, 80, 80, 0)' }],
};
const reducedMotion = matchMedia('(prefers-reduced-motion: reduce)');

function flash(el, dir) {
  if (reducedMotion.matches || typeof el.animate !== 'function') return;
  el.getAnimations().forEach((a) => a.cancel());
  el.animate(FLASH[dir], { duration: 700, easing: 'ease-out' });
}
