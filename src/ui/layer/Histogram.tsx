/**
 * Histogram of log₁₀ |W| (dense values), kept and pruned weights stacked over shared bins. Plain SVG
 * in a fixed viewBox scaled to the figure's width: ~100 elements, drawn in one short task (the
 * charting library took most of the layer view's main-thread time at 200-layer sizes).
 */
import { useState } from 'react';
import type { LayerView } from '../../worker/protocol';

// About the figure's width in the layer view, so that 11 px text stays 11 px.
const W = 330;
const H = 230;
const PAD = { left: 50, right: 12, top: 26, bottom: 40 };
const KEPT = '#2563eb';
const PRUNED = '#f87171';

/** A round tick count, short: 250K, 1.5M. */
function tickLabel(n: number): string {
  if (n >= 1e6) return `${+(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toFixed(2)}K`;
  return String(n);
}

/** Round numbers for a count axis from 0 to at least `max`: about 4 steps of 1, 2 or 5 × 10ᵏ. */
function countTicks(max: number): number[] {
  if (max <= 0) return [0, 1];
  const raw = max / 4;
  const base = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((f) => f * base).find((s) => s >= raw) ?? 10 * base);
  const ticks: number[] = [];
  for (let v = 0; v < max + step; v += step) ticks.push(v);
  return ticks;
}

export function Histogram({ histogram }: { histogram: LayerView['histogram'] }) {
  const { edges, kept, pruned } = histogram;
  const [hover, setHover] = useState<number | null>(null);
  const bins = kept.length;
  const yTicks = countTicks(Math.max(1, ...kept.map((k, i) => k + pruned[i])));
  const yMax = yTicks[yTicks.length - 1];
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (b: number) => PAD.left + (b / bins) * plotW;
  const y = (count: number) => PAD.top + plotH - (count / yMax) * plotH;
  // About six labelled edges, at whole bins.
  const every = Math.max(1, Math.round(bins / 6));
  const xTicks = edges.map((e, b) => ({ e, b })).filter(({ b }) => b % every === 0 || b === bins);
  return (
    <figure className="chart" data-testid="layer-histogram" data-points={bins}>
      <figcaption className="chart-title">Weight magnitudes: kept vs pruned</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label="Histogram of log10 |W|, kept and pruned weights" onPointerLeave={() => setHover(null)}>
        <g fontSize={11} fill="#374151">
          <rect x={PAD.left} y={6} width={10} height={10} fill={KEPT} />
          <text x={PAD.left + 14} y={15}>kept</text>
          <rect x={PAD.left + 56} y={6} width={10} height={10} fill={PRUNED} />
          <text x={PAD.left + 70} y={15}>pruned</text>
        </g>
        {yTicks.map((t) => (
          <g key={t}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} stroke="#e5e7eb" />
            <text x={PAD.left - 6} y={y(t) + 4} fontSize={11} textAnchor="end" fill="#6b7280">
              {tickLabel(t)}
            </text>
          </g>
        ))}
        {kept.map((k, b) => {
          const p = pruned[b];
          const w = Math.max(0.5, x(b + 1) - x(b) - 0.5);
          return (
            <g key={b} onPointerEnter={() => setHover(b)}>
              {/* A full-height strip under each bin, so the pointer finds empty bins too. */}
              <rect x={x(b)} y={PAD.top} width={w} height={plotH} fill={hover === b ? '#f1f5f9' : 'transparent'} />
              <rect x={x(b)} y={y(k)} width={w} height={y(0) - y(k)} fill={KEPT} />
              <rect x={x(b)} y={y(k + p)} width={w} height={y(k) - y(k + p)} fill={PRUNED} />
            </g>
          );
        })}
        <line x1={PAD.left} x2={W - PAD.right} y1={y(0)} y2={y(0)} stroke="#9ca3af" />
        {xTicks.map(({ e, b }) => (
          <text key={b} x={x(b)} y={y(0) + 14} fontSize={11} textAnchor="middle" fill="#6b7280">
            {e.toFixed(1)}
          </text>
        ))}
        <text x={PAD.left + plotW / 2} y={H - 6} fontSize={12} textAnchor="middle" fill="#374151">
          log₁₀ |W| (dense weight)
        </text>
        <text transform={`translate(11 ${PAD.top + plotH / 2}) rotate(-90)`} fontSize={12} textAnchor="middle" fill="#374151">
          weights (count)
        </text>
      </svg>
      <p className="heatmap-readout" data-testid="layer-histogram-readout">
        {hover === null
          ? 'Point at a bar to read its bin.'
          : `log₁₀ |W| in [${edges[hover].toFixed(2)}, ${edges[hover + 1].toFixed(2)}): ${kept[hover].toLocaleString()} kept, ${pruned[hover].toLocaleString()} pruned`}
      </p>
    </figure>
  );
}
