/** Every method on the same layer with the same settings: final errors side by side, curves overlaid. */
import type { LayerOutcome } from '../../shared/outcome';
import { xAxisLabel } from '../charts/axes';
import { LogBarChart, type BarRow } from '../charts/LogBarChart';
import { LogLineChart, type Point } from '../charts/LogLineChart';
import { formatMs, formatPercent, formatSci, shortLayer } from '../format';
import { methodColor, methodLabel } from '../../shared/methods';
import { useLive } from '../stores/live';
import { useResults } from '../stores/results';
import { useSession } from '../stores/session';
import { num, TableHead } from '../components/Table';

export function CompareTab() {
  const compare = useResults((s) => s.compare);
  const layerRuns = useResults((s) => s.layerRuns);
  const job = useSession((s) => s.job);
  const live = useLive();
  const running = job?.kind === 'compareLayer';
  // While the comparison runs, show the methods finished so far (they land in layerRuns first).
  const since = job?.startedAt ?? 0;
  const results = running ? layerRuns.filter((r) => r.finishedAt >= since && r.id === job.progress?.layer) : (compare?.results ?? []);
  const layer = running ? job.progress?.layer : compare?.layer;

  if (!results.length && !running) {
    return <p className="empty">Choose a layer on the left and press “Compare all methods on it”: ALPS, SparseGPT, Wanda and magnitude run on the same layer problem with the same settings.</p>;
  }
  const bars: BarRow<LayerOutcome>[] = results.map((r) => ({ label: methodLabel(r.method), value: Math.max(r.relError, 1e-12), color: methodColor(r.method), item: r }));
  const alps = results.find((r) => r.method === 'alps');
  const history = alps ? alps.history : running && live.method === 'alps' ? live.iterations : [];
  const curve: Point[] = history.map((h) => ({ x: h.iter, alps: h.relError }));
  const refLines = results
    .filter((r) => r.method !== 'alps')
    .map((r) => ({ y: r.relError, label: methodLabel(r.method), color: methodColor(r.method) }));
  if (alps) refLines.push({ y: alps.relError, label: 'ALPS after PCG', color: methodColor('alps') });
  const best = results.length ? results.reduce((a, b) => (b.relError < a.relError ? b : a)) : null;

  return (
    <div className="stack">
      <section className="panel" data-testid="compare-panel">
        <h3>
          Methods on {layer ? shortLayer(layer) : '…'} <span className="muted">· {results[0]?.pattern ?? ''} {results[0] ? `· target sparsity ${formatPercent(results[0].targetSparsity, 0)}` : ''}</span>
        </h3>
        <div className="chart-grid">
          <LogBarChart testId="compare-bars" title="Final relative error (lower is better)" rows={bars} points={bars.length} name="relative error" valueLabels emptyText="Waiting for the first method…"
            layout={{ height: 240, emptyHeight: 240, top: 20, bottom: 22 }} xAxis={{ tick: { fontSize: 12 }, label: xAxisLabel('method') }} />
          <LogLineChart
            testId="compare-curves"
            title="ALPS error per iteration vs the one-pass methods"
            data={curve}
            series={[{ key: 'alps', name: 'ALPS (ADMM iterate)', color: methodColor('alps') }]}
            refLines={refLines}
            xLabel="ADMM iteration"
            yLabel="relative error (ratio)"
            height={240}
            emptyText="ALPS's curve appears when it runs."
          />
        </div>
        <table className="table" data-testid="compare-table">
          <TableHead columns={['method', num('rel. error'), num('vs best'), num('sparsity'), num('iterations'), num('time')]} />
          <tbody>
            {results.map((r) => (
              <tr key={r.method} data-method={r.method}>
                <td>
                  <span className={`method-dot m-${r.method}`} />
                  {methodLabel(r.method)}
                  {best === r ? <span className="badge">best</span> : null}
                </td>
                <td className="num">{formatSci(r.relError, 4)}</td>
                <td className="num">{best ? `${(r.relError / best.relError).toFixed(2)}×` : '–'}</td>
                <td className="num">{formatPercent(r.sparsity)}</td>
                <td className="num">{r.iterations}</td>
                <td className="num">{formatMs(r.ms)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
