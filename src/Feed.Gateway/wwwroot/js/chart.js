// The live price chart of one symbol: bid, ask and last over time, from what this page has received since it
// opened. Drawn with TradingView's lightweight-charts (vendored in ../vendor by eng/vendor/update.sh, no CDN).
//
// Every applied quote is recorded for its symbol (cheap: one array write per field); the chart draws only in the
// board's animation frame, so a busy symbol at throttleMs=0 costs one chart update per frame, not one per quote.

import { createChart, LineSeries } from '../vendor/lightweight-charts.standalone.production.mjs';

const FIELDS = ['bid', 'ask', 'last'];
const COLORS = { bid: '#26c281', ask: '#f05050', last: '#d6dbe4' };
/** Points kept per field and symbol; the oldest quarter goes when full. One point per second. */
const MAX_POINTS = 20_000;

export class PriceChart {
  /**
   * @param {HTMLElement} panel  the section that holds the chart (hidden while no symbol is shown)
   * @param {HTMLElement} host  where the chart draws
   * @param {HTMLElement} title  shows the symbol
   */
  constructor(panel, host, title) {
    this.panel = panel;
    this.host = host;
    this.title = title;
    /** @type {Map<string, {bid: object[], ask: object[], last: object[], changed: boolean}>} */
    this.history = new Map();
    this.symbol = null;
    this.chart = null;
    this.series = null;
    this.drawn = null; // per field: how many points of the shown symbol's history the chart has
  }

  /** Records a symbol's merged state after a quote was applied: one point per field it holds, per second. */
  record(symbol, s) {
    if (s.ts === undefined) return;
    let h = this.history.get(symbol);
    if (!h) {
      h = { bid: [], ask: [], last: [], changed: false, reset: false };
      this.history.set(symbol, h);
    }
    const second = Math.floor(s.ts / 1_000_000);
    for (const field of FIELDS) {
      const value = s[field];
      if (value === undefined) continue;
      const points = h[field];
      const tail = points[points.length - 1];
      // One point per second (the chart's time unit): a later quote in the same second replaces it. Event times
      // that go backwards (a producer's clock) are drawn at the last point's time, never before it.
      if (tail && second <= tail.time) {
        tail.value = value;
      } else {
        points.push({ time: second, value });
        if (points.length > MAX_POINTS) {
          points.splice(0, MAX_POINTS / 4);
          h.reset = true; // the chart's copy no longer lines up: it is set afresh at the next draw
        }
      }
    }
    h.changed = true;
  }

  /** Opens the chart on a symbol, with everything recorded for it so far. */
  show(symbol) {
    this.symbol = symbol;
    this.panel.hidden = false;
    this.title.textContent = symbol;
    this.host.dataset.symbol = symbol;
    if (!this.chart) {
      this.chart = createChart(this.host, {
        autoSize: true,
        layout: { background: { color: 'transparent' }, textColor: '#9aa4b2', attributionLogo: false },
        grid: { vertLines: { color: '#1f2630' }, horzLines: { color: '#1f2630' } },
        timeScale: { timeVisible: true, secondsVisible: true },
        rightPriceScale: { borderVisible: false },
      });
      this.series = {};
      for (const field of FIELDS) {
        this.series[field] = this.chart.addSeries(LineSeries, { color: COLORS[field], lineWidth: field === 'last' ? 2 : 1, title: field, priceLineVisible: false });
      }
    }
    this.drawn = null; // the next draw sets every series' data afresh
    this.draw();
  }

  hide() {
    this.symbol = null;
    this.panel.hidden = true;
  }

  /** Called once per animation frame: brings the chart up to date with the shown symbol's history. */
  draw() {
    if (!this.symbol || !this.chart) return;
    const h = this.history.get(this.symbol);
    if (!h || (!h.changed && this.drawn)) return;
    for (const field of FIELDS) {
      const points = h[field];
      const series = this.series[field];
      const drawn = this.drawn?.[field];
      if (drawn === undefined || h.reset || drawn > points.length) {
        series.setData(points.map((p) => ({ ...p })));
      } else {
        // The last drawn point may have been replaced (same second); then every point added since.
        for (let i = Math.max(0, drawn - 1); i < points.length; i++) series.update({ ...points[i] });
      }
      const tail = points[points.length - 1];
      if (tail) this.host.dataset[`last${field[0].toUpperCase()}${field.slice(1)}`] = String(tail.value);
    }
    this.drawn = { bid: h.bid.length, ask: h.ask.length, last: h.last.length };
    // While the history is short (two minutes of points), spread it over the width rather than bunch it at the right.
    if (Math.max(h.bid.length, h.ask.length, h.last.length) < 120) this.chart.timeScale().fitContent();
    this.host.dataset.points = String(h.last.length || h.bid.length);
    h.changed = false;
    h.reset = false;
  }
}
