/**
 * Bars of relative errors on a log axis, one colour per bar, optionally clickable: the per-layer
 * errors of a whole-model run, the per-block errors of a structured run, the methods compared.
 */
import type { ReactNode } from 'react';
import { Bar, BarChart, CartesianGrid, Cell, LabelList, ResponsiveContainer, Tooltip, XAxis, YAxis, type XAxisProps } from 'recharts';
import { formatSci } from '../format';
import { logYAxis } from './axes';

export interface BarRow<T> {
  label: string;
  /** Null: a slot not filled yet (no bar). */
  value: number | null;
  color: string;
  item: T | null;
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
  caption?: string;
}

export function LogBarChart<T>({ testId, title, rows, points, emptyText, layout, xAxis, name, tooltip, valueLabels, maxBarSize, onSelect, caption }: Props<T>) {
  const values = rows.flatMap((r) => (r.value === null ? [] : [r.value]));
  return (
    <figure className="chart" data-testid={testId} data-points={points}>
      <figcaption className="chart-title">{title}</figcaption>
      {points === 0 ? (
        <div className="chart-empty" style={{ height: layout.emptyHeight }}>
          {emptyText}
        </div>
      ) : (
        <ResponsiveContainer width="100%" height={layout.height}>
          <BarChart data={rows} margin={{ top: layout.top, right: 16, bottom: layout.bottom, left: 18 }}>
            <CartesianGrid stroke="#e5e7eb" vertical={false} />
            <XAxis dataKey="label" {...xAxis} />
            <YAxis {...logYAxis(values, 'relative error (ratio)')} />
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
              {valueLabels ? <LabelList dataKey="value" position="top" formatter={(v: unknown) => formatSci(Number(v), 3)} style={{ fontSize: 11, fill: '#374151' }} /> : null}
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      )}
      {caption ? <p className="chart-caption">{caption}</p> : null}
    </figure>
  );
}
