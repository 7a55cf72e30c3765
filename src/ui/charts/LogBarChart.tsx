/**
 * Bars of relative errors on a log axis (or a linear one from 0, where bar heights must compare), one colour per bar, optionally clickable: the per-layer
 * errors of a whole-model run, the per-block errors of a structured run, the methods compared.
 */
import type { ReactNode } from 'react';
import { Bar, BarChart, CartesianGrid, Cell, LabelList, ResponsiveContainer, Tooltip, XAxis, YAxis, type XAxisProps } from 'recharts';
import { formatSci } from '../format';
import { ChartHelp } from '../help/Help';
import { linearYAxis, logYAxis } from './axes';

export interface BarRow<T> {
  label: string;
  /** Null: a slot not filled yet (no bar). */
  value: number | null;
  color: string;
  item: T | null;
  /** Written above the bar instead of the value (with `valueLabels`), e.g. "7.15e-3 · 1.77×". */
  note?: string;
}

interface Props<T> {
  testId: string;
  title: ReactNode;
  rows: BarRow<T>[];
  /** Finished entries (the figure's data-points); the chart says `emptyText` while there are none. */
  points: number;
  emptyText: string;
  /** Plot height, the height of the empty state, and the plot's top and bottom margins (room for labels). */
  layout: { height: number; emptyHeight: number; top: number; bottom: number };
  xAxis: XAxisProps;
  /** The series' name in the tooltip. */
  name: string;
  tooltip?: (row: BarRow<T>) => string;
  /** Writes each bar's value above it. */
  valueLabels?: boolean;
  maxBarSize?: number;
  onSelect?: (item: T) => void;
  caption?: ReactNode;
  /** A linear axis from 0: heights in proportion to the values (the default is log₁₀). */
  linear?: boolean;
}

export function LogBarChart<T>({ testId, title, rows, points, emptyText, layout, xAxis, name, tooltip, valueLabels, maxBarSize, onSelect, caption, linear }: Props<T>) {
  const values = rows.flatMap((r) => (r.value === null ? [] : [r.value]));
  const yAxis = linear ? linearYAxis(values, 'relative error (ratio)') : logYAxis(values, 'relative error (ratio)');
  const notes = rows.some((r) => r.note !== undefined);
  return (
    <figure className="chart" data-testid={testId} data-points={points} data-scale={linear ? 'linear' : 'log'} data-domain={yAxis.domain.join(',')}>
      <figcaption className="chart-title">{title}<ChartHelp testId={testId} /></figcaption>
      {points === 0 ? (
        <div className="chart-empty" style={{ height: layout.emptyHeight }}>
          {emptyText}
        </div>
      ) : (
        <ResponsiveContainer width="100%" height={layout.height}>
          <BarChart data={rows} margin={{ top: layout.top, right: 16, bottom: layout.bottom, left: 18 }}>
            <CartesianGrid stroke="#e5e7eb" vertical={false} />
            <XAxis dataKey="label" {...xAxis} />
            <YAxis {...yAxis} />
            <Tooltip formatter={(v, _name, entry) => (tooltip ? tooltip((entry as { payload: BarRow<T> }).payload) : formatSci(Number(v), 4))} isAnimationActive={false} />
            <Bar
              dataKey="value"
              name={name}
              maxBarSize={maxBarSize}
              isAnimationActive={false}
              onClick={(d) => {
                const item = (d.payload as BarRow<T>).item;
                if (item !== null) onSelect?.(item);
              }}
              cursor={onSelect ? 'pointer' : undefined}
            >
              {rows.map((r, i) => (
                <Cell key={i} fill={r.color} />
              ))}
              {valueLabels ? <LabelList dataKey={notes ? 'note' : 'value'} position="top" formatter={(v: unknown) => (notes ? String(v ?? '') : formatSci(Number(v), 3))} style={{ fontSize: 11, fill: '#374151' }} /> : null}
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      )}
      {caption ? <p className="chart-caption">{caption}</p> : null}
    </figure>
  );
}
