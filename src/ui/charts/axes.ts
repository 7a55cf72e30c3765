/** Axis pieces every chart of the studio shares: labels in one style, and log₁₀ axes whose ticks are whole decades. */
import { formatPow10 } from '../format';

const AXIS_TEXT = { fontSize: 12, fill: '#374151' };

export function xAxisLabel(value: string) {
  return { value, position: 'insideBottom' as const, offset: -12, ...AXIS_TEXT };
}

export function yAxisLabel(value: string) {
  return { value, angle: -90, position: 'insideLeft' as const, offset: -8, ...AXIS_TEXT, style: { textAnchor: 'middle' as const } };
}

/** Domain and ticks of a log axis covering every value: whole decades, at most ~6 labelled ticks. */
export function logAxis(values: number[]): { domain: [number, number]; ticks: number[] } {
  const pos = values.filter((v) => v > 0 && Number.isFinite(v));
  if (!pos.length) return { domain: [0.1, 1], ticks: [0.1, 1] };
  let lo = Math.floor(Math.log10(Math.min(...pos)));
  let hi = Math.ceil(Math.log10(Math.max(...pos)));
  if (hi <= lo) hi = lo + 1;
  lo = Math.max(lo, -30);
  const step = Math.max(1, Math.ceil((hi - lo) / 6));
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e += step) {
    ticks.push(10 ** e);
    // Over one or two decades, 2× and 5× ticks keep the axis readable.
    if (hi - lo <= 2 && e < hi) ticks.push(2 * 10 ** e, 5 * 10 ** e);
  }
  if (Math.log10(ticks[ticks.length - 1]) < hi) ticks.push(10 ** hi);
  return { domain: [10 ** lo, 10 ** hi], ticks };
}

/** Props of a log₁₀ y-axis over `values`, labelled `label`. */
export function logYAxis(values: number[], label: string) {
  const axis = logAxis(values);
  return { scale: 'log' as const, domain: axis.domain, ticks: axis.ticks, allowDataOverflow: true, tickFormatter: formatPow10, tick: { fontSize: 11 }, width: 54, label: yAxisLabel(label) };
}

/** Props of a linear y-axis from 0 over `values`: round ticks (1, 2 or 5 × 10ᵏ apart), labelled `label`. */
export function linearYAxis(values: number[], label: string) {
  const top = Math.max(0, ...values.filter((v) => Number.isFinite(v)));
  const raw = top > 0 ? top / 5 : 1;
  const decade = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * decade).find((s) => s >= raw) ?? 10 * decade;
  // Room above the tallest bar for its label.
  const hi = Math.max(step, Math.ceil((top * 1.12) / step) * step);
  const ticks: number[] = [];
  for (let i = 0; i * step <= hi * (1 + 1e-9); i++) ticks.push(Number((i * step).toPrecision(12)));
  return { scale: 'linear' as const, domain: [0, hi] as [number, number], ticks, allowDataOverflow: false, tickFormatter: formatTick, tick: { fontSize: 11 }, width: 62, label: yAxisLabel(label) };
}

/** A linear tick: 0, 0.005, 0.01, or 2e-4 for tiny steps. */
function formatTick(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e4 ? Number(x.toPrecision(3)).toString() : x.toExponential(1);
}
