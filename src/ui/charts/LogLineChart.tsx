/**
 * A line chart with an optional log₁₀ y-axis whose ticks are whole powers of ten, so that values
 * spanning many decades (errors, residuals, ρ) stay readable. Non-positive values cannot sit on a
 * log axis and are left out (the caller says so in its caption).
 */
import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatPow10, formatSci } from '../format';

export interface Series {
  key: string;
  name: string;
  color: string;
  dashed?: boolean;
}

export interface RefLine {
  y: number;
  label: string;
  color: string;
}

export type Point = { x: number } & Record<string, number | null | undefined>;

interface Props {
  title: string;
  data: Point[];
  series: Series[];
  xLabel: string;
  yLabel: string;
  log?: boolean;
  height?: number;
  refLines?: RefLine[];
  caption?: string;
  testId?: string;
  emptyText?: string;
  /** Tick labels of a linear y-axis (counts read better as integers than in scientific form). */
  yFormat?: (v: number) => string;
}

function usable(v: number | null | undefined, log: boolean): v is number {
  return typeof v === 'number' && Number.isFinite(v) && (!log || v > 0);
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

export function LogLineChart({ title, data, series, xLabel, yLabel, log = true, height = 220, refLines = [], caption, testId, emptyText, yFormat }: Props) {
  // Values a log axis cannot show become gaps, not zeros.
  const rows = data.map((d) => {
    const row: Point = { x: d.x };
    for (const s of series) row[s.key] = usable(d[s.key], log) ? d[s.key] : null;
    return row;
  });
  const plotted = rows.reduce((n, r) => n + series.filter((s) => r[s.key] !== null).length, 0);
  const values = rows.flatMap((r) => series.map((s) => r[s.key]).filter((v): v is number => typeof v === 'number'));
  const axis = log ? logAxis([...values, ...refLines.map((r) => r.y)]) : null;
  return (
    <figure className="chart" data-testid={testId} data-points={plotted}>
      <figcaption className="chart-title">{title}</figcaption>
      {plotted === 0 ? (
        <div className="chart-empty" style={{ height }}>
          {emptyText ?? 'No data yet.'}
        </div>
      ) : (
        <ResponsiveContainer width="100%" height={height}>
          <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 22, left: 18 }}>
            <CartesianGrid stroke="#e5e7eb" />
            <XAxis
              dataKey="x"
              type="number"
              domain={['dataMin', 'dataMax']}
              allowDecimals={false}
              tick={{ fontSize: 11 }}
              label={{ value: xLabel, position: 'insideBottom', offset: -12, fontSize: 12, fill: '#374151' }}
            />
            <YAxis
              scale={log ? 'log' : 'auto'}
              domain={axis ? axis.domain : ['auto', 'auto']}
              ticks={axis?.ticks}
              allowDataOverflow={log}
              tickFormatter={(v: number) => (log ? formatPow10(v) : yFormat ? yFormat(v) : formatSci(v, 2))}
              allowDecimals={log || !yFormat}
              tick={{ fontSize: 11 }}
              width={54}
              label={{ value: yLabel, angle: -90, position: 'insideLeft', offset: -8, fontSize: 12, fill: '#374151', style: { textAnchor: 'middle' } }}
            />
            <Tooltip
              formatter={(v) => (!log && yFormat ? yFormat(Number(v)) : formatSci(typeof v === 'number' ? v : Number(v), 4))}
              labelFormatter={(x) => `${xLabel.replace(/\s*\(.*\)$/, '')} ${String(x)}`}
              isAnimationActive={false}
            />
            {series.length > 1 || refLines.length ? <Legend verticalAlign="top" height={24} iconSize={10} wrapperStyle={{ fontSize: 12 }} /> : null}
            {series.map((s) => (
              <Line
                key={s.key}
                dataKey={s.key}
                name={s.name}
                stroke={s.color}
                strokeWidth={1.8}
                strokeDasharray={s.dashed ? '5 3' : undefined}
                dot={rows.length <= 40 ? { r: 2 } : false}
                connectNulls
                isAnimationActive={false}
                type="linear"
              />
            ))}
            {refLines.map((r) => (
              <ReferenceLine key={r.label} y={r.y} stroke={r.color} strokeDasharray="6 3" ifOverflow="extendDomain" />
            ))}
          </LineChart>
        </ResponsiveContainer>
      )}
      {refLines.length ? (
        // Reference lines are labelled here rather than on the plot, where close values would overlap.
        <ul className="ref-legend">
          {refLines.map((r) => (
            <li key={r.label}>
              <span className="ref-swatch" style={{ borderColor: r.color }} />
              {r.label} <span className="muted">{formatSci(r.y, 3)}</span>
            </li>
          ))}
        </ul>
      ) : null}
      {caption ? <p className="chart-caption">{caption}</p> : null}
    </figure>
  );
}
