/** Relative error of every layer of a whole-model run, in pruning order (bars grow as layers finish). */
import { Bar, BarChart, CartesianGrid, Cell, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { LayerResult } from '../../worker/protocol';
import { formatPow10, formatSci, METHOD_COLOR, shortLayer } from '../format';
import { logAxis } from './LogLineChart';

interface Props {
  results: LayerResult[];
  total: number;
  title: string;
  onSelect?: (result: LayerResult) => void;
}

export function LayerErrorChart({ results, total, title, onSelect }: Props) {
  const data = results.map((r, i) => ({ index: i + 1, label: shortLayer(r.id), relError: Math.max(r.relError, 1e-12), result: r }));
  const axis = logAxis(data.map((d) => d.relError));
  return (
    <figure className="chart" data-testid="model-layer-chart" data-points={data.length}>
      <figcaption className="chart-title">
        {title} <span className="muted">({results.length} of {total} layers)</span>
      </figcaption>
      {data.length === 0 ? (
        <div className="chart-empty" style={{ height: 240 }}>
          The first layer is being calibrated…
        </div>
      ) : (
        <ResponsiveContainer width="100%" height={260}>
          <BarChart data={data} margin={{ top: 8, right: 16, bottom: 70, left: 18 }}>
            <CartesianGrid stroke="#e5e7eb" vertical={false} />
            <XAxis dataKey="label" interval={0} angle={-50} textAnchor="end" tick={{ fontSize: 10 }} height={70} />
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
            <Tooltip formatter={(v) => formatSci(Number(v), 4)} isAnimationActive={false} />
            <Bar dataKey="relError" name="relative error" maxBarSize={48} isAnimationActive={false} onClick={(d) => onSelect?.((d.payload as { result: LayerResult }).result)} cursor={onSelect ? 'pointer' : undefined}>
              {data.map((d) => (
                <Cell key={d.index} fill={METHOD_COLOR[d.result.method] ?? '#2563eb'} />
              ))}
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      )}
      <p className="chart-caption">Layers in pruning order (block · module); later layers see inputs from the already pruned ones.</p>
    </figure>
  );
}
