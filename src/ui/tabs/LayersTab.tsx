/** Every finished layer result in one table; a click opens the layer view below it. */
import { LayerPanel } from '../layer/LayerPanel';
import { formatMs, formatPercent, formatSci, shortLayer } from '../format';
import { methodLabel } from '../../shared/methods';
import { allLayerOutcomes } from '../report';
import { useResults } from '../stores/results';
import { useSession } from '../stores/session';
import { num, TableHead } from '../components/Table';
import { LinearMarks } from '../layer/linearNotes';

export function LayersTab() {
  const layerRuns = useResults((s) => s.layerRuns);
  const modelRun = useResults((s) => s.modelRun);
  const selected = useResults((s) => s.selected);
  const select = useResults((s) => s.select);
  const model = useSession((s) => s.model);
  const order = new Map((model?.linears ?? []).map((l, i) => [l.id, i]));
  const linearById = new Map((model?.linears ?? []).map((l) => [l.id, l]));
  const rows = allLayerOutcomes({ layerRuns, modelRun }).sort(
    (a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0) || (a.run === b.run ? 0 : a.run === 'model' ? -1 : 1) || a.method.localeCompare(b.method),
  );
  const current = selected ? rows.find((r) => r.id === selected.layer && r.method === selected.method && r.run === selected.run) : undefined;
  if (!rows.length) return <p className="empty">No layer has been pruned yet. Prune a layer, compare methods on one, or prune the whole model.</p>;
  return (
    <div className="stack">
      <section className="panel">
        <h3>
          Pruned layers <span className="muted">(click a row to open the layer)</span>
        </h3>
        <div className="table-scroll">
          <table className="table clickable" data-testid="results-table">
            <TableHead columns={['layer', 'run', 'method', 'pattern', num('out × in'), num('sparsity'), num('rel. error', '‖X(W−W₀)ᵀ‖² / ‖XW₀ᵀ‖² on the calibration inputs'), num('iterations'), num('time')]} />
            <tbody>
              {rows.map((r) => {
                const isSelected = current === r;
                return (
                  <tr
                    key={`${r.run}|${r.id}|${r.method}`}
                    className={isSelected ? 'selected' : ''}
                    data-testid="result-row"
                    data-layer={r.id}
                    data-method={r.method}
                    onClick={() => select({ layer: r.id, method: r.method, run: r.run })}
                  >
                    <td title={r.id}>
                      {shortLayer(r.id)}
                      <LinearMarks linear={linearById.get(r.id)} />
                    </td>
                    <td>{r.run === 'model' ? 'whole model' : 'layer'}</td>
                    <td>
                      <span className={`method-dot m-${r.method}`} />
                      {methodLabel(r.method)}
                    </td>
                    <td>{r.pattern}</td>
                    <td className="num">
                      {r.shape[0]} × {r.shape[1]}
                    </td>
                    <td className="num">{formatPercent(r.sparsity)}</td>
                    <td className="num">{formatSci(r.relError, 4)}</td>
                    <td className="num">{r.iterations}</td>
                    <td className="num">{formatMs(r.ms)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </section>
      {current ? <LayerPanel result={current} onClose={() => select(null)} /> : null}
    </div>
  );
}
