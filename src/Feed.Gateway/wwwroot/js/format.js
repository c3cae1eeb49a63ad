// Number and time formatting for the board. Pure functions, no DOM.

const DASH = '\u2014';
const MINUS = '\u2212'; // a real minus sign: same width as "+" in tabular figures

/**
 * Decimal places of a price as the gateway wrote it. JSON numbers arrive as doubles, but String() gives
 * the shortest text that round-trips, which is the decimal the server sent minus trailing zeros.
 */
export function decimalsOf(value) {
  const text = String(value);
  if (text.includes('e') || text.includes('E')) return 8;
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}

/** The value in integer units of its `decimals`-th decimal place. */
export function scaled(value, decimals) {
  return Math.round(value * 10 ** decimals);
}

export function formatPrice(value, decimals) {
  if (value === undefined || value === null) return DASH;
  const text = Math.abs(value).toFixed(decimals);
  return value < 0 && Number(text) !== 0 ? MINUS + text : text;
}

export function formatSigned(value, decimals) {
  if (!Number.isFinite(value)) return DASH;
  const text = Math.abs(value).toFixed(decimals);
  if (Number(text) === 0) return text;
  return (value > 0 ? '+' : MINUS) + text;
}

const sizeFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

const millionsFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** Sizes in full up to a million, then in millions ("17.5M"), as FX sizes are usually read. */
export function formatSize(value) {
  if (value === undefined || value === null) return DASH;
  if (Math.abs(value) >= 1_000_000) return `${millionsFormat.format(value / 1_000_000)}M`;
  return sizeFormat.format(value);
}

/** "0.3s" under ten seconds (the interesting range for a live feed), then whole seconds, minutes, hours. */
export function formatAge(ms) {
  if (ms < 10_000) return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
  if (ms < 60_000) return `${Math.floor(ms / 1000)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m`;
  return `${Math.floor(ms / 3_600_000)}h`;
}

export function formatCount(value) {
  return sizeFormat.format(value);
}
