/** down_proj's refit error per block of a structured run (bars grow as blocks finish), like the per-layer chart of sparse runs. */
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { BlockChannelReport } from '../../pipeline/structured';
import { formatPow10, formatSci, METHOD_COLOR } from '../format';
import { logAxis } from './LogLineChart';

interface Props {
  blocks: BlockChannelReport[];
  total: number;
  title: string;
  onSelect?: (block: BlockChannelReport) => void;
}

export function BlockErrorChart({ blocks, total, title, onSelect }: Props) {
  // Every block has its slot from the start, so the bars fill in left to right as blocks finish.
  const byBlock = new Map(blocks.map((b) => [b.block, b]));
  const data = Array.from({ length: Math.max(total, blocks.length) }, (_, i) => {
    const b = byBlock.get(i);
    return { label: `block ${i}`, relError: b ? Math.max(b.relError, 1e-12) : null, kept: b?.kept.length ?? 0, channels: b?.channels ?? 0, report: b ?? null };
  });
  const axis = logAxis(blocks.map((b) => Math.max(b.relError, 1e-12)));
  return (
    <figure className="chart" data-testid="block-error-chart" data-points={blocks.length}>
      <figcaption className="chart-title">
        {title} <span className="muted">({blocks.length} of {total} blocks)</span>
      </figcaption>
      {blocks.length === 0 ? (
        <div className="chart-empty" style={{ height: 220 }}>
          The first block is being calibrated and its channels chosen…
        </div>
      ) : (
        <ResponsiveContainer width="100%" height={230}>
          <BarChart data={data} margin={{ top: 8, right: 16, bottom: 22, left: 18 }}>
            <CartesianGrid stroke="#e5e7eb" vertical={false} />
            <XAxis dataKey="label" tick={{ fontSize: 11 }} label={{ value: 'block (pruning order)', position: 'insideBottom', offset: -12, fontSize: 12, fill: '#374151' }} />
            <YAxis
              scale="log"
              domain={axis.domain}
              ticks={axis.ticks}
              allowDataOverflow
              tickFormatter={formatPow10}
              tick={{ fontSize: 11 }}
              width={54}
              label={{ value: 'relative error (ratio)', angle: -90, position: 'insideLeft', offset: -8, fontSize: 12, fill: '#374151', style: { textAnchor: 'middle' } }}
            />
            <Tooltip
              formatter={(v, _name, item) => {
                const p = (item as { payload?: { kept: number; channels: number } }).payload;
                return [`${formatSci(Number(v), 4)}${p?.channels ? ` (${p.kept} of ${p.channels} channels kept)` : ''}`, 'refit error'];
              }}
              isAnimationActive={false}
            />
            <Bar
              dataKey="relError"
              name="refit error"
              fill={METHOD_COLOR.spap}
              maxBarSize={56}
              isAnimationActive={false}
              onClick={(d) => {
                const report = (d.payload as { report: BlockChannelReport | null }).report;
                if (report) onSelect?.(report);
              }}
              cursor={onSelect ? 'pointer' : undefined}
            />
          </BarChart>
        </ResponsiveContainer>
      )}
      <p className="chart-caption">‖X(W−W₀)ᵀ‖² / ‖XW₀ᵀ‖² of down_proj after the exact refit on the kept channels; later blocks see the already pruned ones' outputs.</p>
    </figure>
  );
}
