/**
 * Geometry of the budget chart: every layer's bar in one SVG path (a model can have hundreds of
 * linears; one element per bar would make every drag re-render hundreds of nodes), block
 * separators in another, and the pointer's position back to a layer and a sparsity.
 */

export const CHART = { width: 720, height: 160 } as const;

/** One path of bars from the bottom up to each value in [0, 1]. */
export function barsPath(values: readonly number[], width: number = CHART.width, height: number = CHART.height): string {
  const w = width / Math.max(values.length, 1);
  const gap = w > 3 ? 1 : 0;
  return values.map((v, i) => `M${(i * w).toFixed(2)} ${height}V${(height * (1 - clamp01(v))).toFixed(2)}h${(w - gap).toFixed(2)}V${height}Z`).join('');
}

/** Vertical lines where a new block starts. */
export function blockSeparators(blocks: readonly number[], width: number = CHART.width, height: number = CHART.height): string {
  const w = width / Math.max(blocks.length, 1);
  let d = '';
  for (let i = 1; i < blocks.length; i++) if (blocks[i] !== blocks[i - 1]) d += `M${(i * w).toFixed(2)} 0V${height}`;
  return d;
}

/** The layer under a pointer at fraction fx of the chart's width, and the sparsity at fraction fy of its height (0 = top); rounded to 0.01, kept below 1. */
export function pointAt(fx: number, fy: number, count: number): { index: number; sparsity: number } {
  const index = Math.min(count - 1, Math.max(0, Math.floor(fx * count)));
  const sparsity = Math.min(0.99, Math.max(0, Math.round((1 - fy) * 100) / 100));
  return { index, sparsity };
}

function clamp01(v: number): number {
  return Math.min(1, Math.max(0, v));
}
