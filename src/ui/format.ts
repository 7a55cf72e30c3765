/** Number formatting shared by tables, charts and labels. */

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(2)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

/** Small positive quantities (errors, residuals) in a compact scientific form. */
export function formatSci(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 0.01 && a < 1000) return x.toPrecision(digits);
  return x.toExponential(digits - 1);
}

export function formatPercent(x: number, digits = 1): string {
  return `${(x * 100).toFixed(digits)}%`;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms - m * 60_000) / 1000)} s`;
}

/** Tick label of a log axis: powers of ten as 1e-3, 0.01, 0.1, 1, 10, 1e3. */
export function formatPow10(x: number): string {
  if (x === 0) return '0';
  const e = Math.round(Math.log10(x));
  if (Math.abs(Math.log10(x) - e) < 1e-9 && (e < -2 || e > 2)) return `1e${e}`;
  return Number(x.toPrecision(2)).toString();
}

/** "weight norm" → "Weight norm", for the start of a title or sentence. */
export function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** "model.layers.0.self_attn.q_proj" → "0 · self_attn.q_proj". */
export function shortLayer(id: string): string {
  const m = /(?:^|\.)(?:layers|h|blocks?)\.(\d+)\.(.+)$/.exec(id);
  return m ? `${m[1]} · ${m[2]}` : id;
}

/**
 * Two close values with enough digits that they differ (7.151e-3 → 7.147e-3, not 0.00715 → 0.00715),
 * and the relative change: a refit's small gain stays visible.
 */
export function formatChange(before: number, after: number): { before: string; after: string; change: string } {
  let digits = 4;
  while (digits < 8 && formatSci(before, digits) === formatSci(after, digits)) digits++;
  const rel = before !== 0 && Number.isFinite(before) && Number.isFinite(after) ? after / before - 1 : NaN;
  const pct = Number.isNaN(rel) ? '–' : `${rel > 0 ? '+' : rel < 0 ? '−' : '±'}${Math.abs(rel * 100).toFixed(Math.abs(rel) < 0.001 ? 3 : 2)}%`;
  return { before: formatSci(before, digits), after: formatSci(after, digits), change: pct };
}
