/** Relative error of every layer of a whole-model run, in pruning order (bars grow as layers finish). */
import { methodColor } from '../../shared/methods';
import type { LayerOutcome } from '../../shared/outcome';
import { shortLayer } from '../format';
import { LogBarChart, type BarRow } from './LogBarChart';

interface Props {
  results: LayerOutcome[];
  total: number;
  title: string;
  onSelect?: (result: LayerOutcome) => void;
}

export function LayerErrorChart({ results, total, title, onSelect }: Props) {
  const rows: BarRow<LayerOutcome>[] = results.map((r) => ({ label: shortLayer(r.id), value: Math.max(r.relError, 1e-12), color: methodColor(r.method), item: r }));
  return (
    <LogBarChart
      testId="model-layer-chart"
      title={
        <>
          {title} <span className="muted">({results.length} of {total} layers)</span>
        </>
      }
      rows={rows}
      points={rows.length}
      name="relative error"
      emptyText="The first layer is being calibrated…"
      layout={{ height: 260, emptyHeight: 240, top: 8, bottom: 70 }}
      xAxis={{ interval: 0, angle: -50, textAnchor: 'end', tick: { fontSize: 10 }, height: 70 }}
      maxBarSize={48}
      onSelect={onSelect}
      caption="Layers in pruning order (block · module); later layers see inputs from the already pruned ones."
    />
  );
}
