/** Histogram of log₁₀ |W| (dense values), kept and pruned weights stacked over shared bins. */
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { LayerView } from '../../worker/protocol';

export function Histogram({ histogram }: { histogram: LayerView['histogram'] }) {
  const data = histogram.kept.map((kept, i) => ({
    center: (histogram.edges[i] + histogram.edges[i + 1]) / 2,
    kept,
    pruned: histogram.pruned[i],
  }));
  return (
    <figure className="chart" data-testid="layer-histogram" data-points={data.length}>
      <figcaption className="chart-title">Weight magnitudes: kept vs pruned</figcaption>
      <ResponsiveContainer width="100%" height={240}>
        <BarChart data={data} margin={{ top: 8, right: 16, bottom: 22, left: 18 }} barCategoryGap={0}>
          <CartesianGrid stroke="#e5e7eb" vertical={false} />
          <XAxis
            dataKey="center"
            tickFormatter={(v: number) => v.toFixed(1)}
            tick={{ fontSize: 11 }}
            minTickGap={16}
            label={{ value: 'log₁₀ |W| (dense weight)', position: 'insideBottom', offset: -12, fontSize: 12, fill: '#374151' }}
          />
          <YAxis
            tick={{ fontSize: 11 }}
            width={54}
            allowDecimals={false}
            label={{ value: 'weights (count)', angle: -90, position: 'insideLeft', offset: -8, fontSize: 12, fill: '#374151', style: { textAnchor: 'middle' } }}
          />
          <Tooltip labelFormatter={(v) => `log₁₀ |W| ≈ ${Number(v).toFixed(2)}`} isAnimationActive={false} />
          <Legend verticalAlign="top" height={24} iconSize={10} wrapperStyle={{ fontSize: 12 }} />
          <Bar dataKey="kept" name="kept" stackId="w" fill="#2563eb" isAnimationActive={false} />
          <Bar dataKey="pruned" name="pruned" stackId="w" fill="#f87171" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}
