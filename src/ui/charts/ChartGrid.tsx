/** A grid of log-axis line charts sharing a height, a waiting text and a test-id prefix ("live", "layer", "spap-block"…). */
import { LogLineChart, type LogLineChartProps, type Point, type Series } from './LogLineChart';

/** One chart of the grid: `id` names it (test id `${prefix}-${id}-chart`). */
export type GridChart = Omit<LogLineChartProps, 'testId' | 'height'> & { id: string };

interface Props {
  idPrefix: string;
  height: number;
  /** Said by every chart without points (a chart's own emptyText wins). */
  emptyText: string;
  charts: GridChart[];
}

export function ChartGrid({ idPrefix, height, emptyText, charts }: Props) {
  return (
    <div className="chart-grid">
      {charts.map(({ id, ...chart }) => (
        <LogLineChart key={id} {...chart} testId={`${idPrefix}-${id}-chart`} height={height} emptyText={chart.emptyText ?? emptyText} />
      ))}
    </div>
  );
}

/** One series: `key` of each point, drawn as `name` in `color`. */
export function line(key: string, name: string, color: string, dashed?: boolean): Series[] {
  return [{ key, name, color, dashed }];
}

/** Points of a telemetry array: x and the named values of each row. */
export function pointsOf<T>(rows: readonly T[], x: (row: T) => number, values: Record<string, (row: T) => number | null>): Point[] {
  return rows.map((row) => {
    const point: Point = { x: x(row) };
    for (const [key, value] of Object.entries(values)) point[key] = value(row);
    return point;
  });
}

/** "3 restarts…"-style captions: nothing when the count is zero. */
export function countCaption(count: number, one: string, text: string): string | undefined {
  return count ? `${count} ${one}${count > 1 ? 's' : ''} ${text}` : undefined;
}
