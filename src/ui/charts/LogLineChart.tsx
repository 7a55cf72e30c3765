/**
 * A line chart with an optional log₁₀ y-axis whose ticks are whole powers of ten, so that values
 * spanning many decades (errors, residuals, ρ) stay readable. Non-positive values cannot sit on a
 * log axis and are left out (the caller says so in its caption).
 */
import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatPow10, formatSci } from '../format';
import { ChartHelp } from '../help/Help';
import { logAxis, xAxisLabel, yAxisLabel } from './axes';

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

export interface LogLineChartProps {
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

export function LogLineChart({ title, data, series, xLabel, yLabel, log = true, height = 220, refLines = [], caption, testId, emptyText, yFormat }: LogLineChartProps) {
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
      <figcaption className="chart-title">{title}<ChartHelp testId={testId} /></figcaption>
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
              label={xAxisLabel(xLabel)}
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
              label={yAxisLabel(yLabel)}
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
