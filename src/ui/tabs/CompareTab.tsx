/**
 * Every method on the same layer with the same settings: final errors side by side, curves overlaid.
 * With swap refinement on, each method's bar pairs with its refined one (same mask before the swaps).
 */
import type { LayerOutcome } from '../../shared/outcome';
import { xAxisLabel } from '../charts/axes';
import { LogBarChart, type BarRow } from '../charts/LogBarChart';
import { LogLineChart, type Point } from '../charts/LogLineChart';
import { formatMs, formatPercent, formatSci, shortLayer } from '../format';
import { methodColor, methodLabel } from '../../shared/methods';
import { useLive } from '../stores/live';
import { useResults } from '../stores/results';
import { useSession } from '../stores/session';
import { useSettings } from '../stores/settings';
import { num, TableHead } from '../components/Table';

/** The method's own error: before any swap when the comparison refined it. */
function own(r: LayerOutcome): number {
  return r.refinement?.relErrorBefore ?? r.relError;
}

function RefineToggle({ disabled }: { disabled: boolean }) {
  const on = useSettings((s) => s.compareRefine === 'both');
  const set = useSettings((s) => s.set);
  return (
    <label className="hint" title="Runs each method, then swap moves on its mask and a refit; both errors are drawn side by side">
      <input type="checkbox" data-testid="compare-refine" checked={on} onChange={(e) => set({ compareRefine: e.target.checked ? 'both' : 'off' })} disabled={disabled} /> with swap refinement
      <span className="muted"> (each method alone and then polished by swap moves, paired bars; applies to the next comparison)</span>
    </label>
  );
}

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
    return (
      <div className="stack">
        <p className="empty">Choose a layer on the left and press “Compare methods”: ALPS, SparseGPT, Wanda and magnitude run on the same layer problem with the same settings.</p>
        <RefineToggle disabled={false} />
      </div>
    );
  }
  const refined = results.some((r) => r.refinement);
  const best = results.length ? results.reduce((a, b) => (b.relError < a.relError ? b : a)) : null;
  // Each bar says its value and how many times the best error it is: the ratio is read, not guessed from heights.
  const note = (v: number) => `${formatSci(v, 3)} · ${best && best.relError > 0 ? `${(v / best.relError).toFixed(2)}×` : ''}`;
  // Refined: the method alone (light) beside the same mask after swaps and the refit (full colour).
  const bars: BarRow<LayerOutcome>[] = results.flatMap((r) => [
    { label: methodLabel(r.method), value: Math.max(own(r), 0), color: r.refinement ? `${methodColor(r.method)}80` : methodColor(r.method), item: r, note: note(own(r)) },
    ...(r.refinement ? [{ label: `${methodLabel(r.method)} + swaps`, value: Math.max(r.relError, 0), color: methodColor(r.method), item: r, note: note(r.relError) }] : []),
  ]);
  const ratios = best ? results.filter((r) => r !== best).map((r) => `${methodLabel(r.method)} ${(r.relError / best.relError).toFixed(2)}×`) : [];
  const alps = results.find((r) => r.method === 'alps');
  const history = alps ? alps.history : running && live.method === 'alps' ? live.iterations : [];
  const curve: Point[] = history.map((h) => ({ x: h.iter, alps: h.relError }));
  const refLines = results
    .filter((r) => r.method !== 'alps')
    .map((r) => ({ y: own(r), label: methodLabel(r.method), color: methodColor(r.method) }));
  if (alps) refLines.push({ y: own(alps), label: 'ALPS after PCG', color: methodColor('alps') });

  return (
    <div className="stack">
      <section className="panel" data-testid="compare-panel">
        <h3>
          Methods on {layer ? shortLayer(layer) : '…'} <span className="muted">· {results[0]?.pattern ?? ''} {results[0] ? `· target sparsity ${formatPercent(results[0].targetSparsity, 0)}` : ''}</span>
        </h3>
        <div className="chart-grid">
          <LogBarChart testId="compare-bars" title={refined ? 'Relative error: each method alone (light) and after swap refinement (lower is better)' : 'Final relative error (lower is better)'} rows={bars} points={bars.length} name="relative error" valueLabels linear emptyText="Waiting for the first method…"
            layout={refined ? { height: 290, emptyHeight: 240, top: 20, bottom: 22 } : { height: 240, emptyHeight: 240, top: 20, bottom: 22 }}
            // Eight labels do not fit side by side: slanted, every one shown (the title names the pairs).
            xAxis={refined ? { tick: { fontSize: 11 }, interval: 0, angle: -30, textAnchor: 'end', height: 62 } : { tick: { fontSize: 12 }, label: xAxisLabel('method') }}
            caption={
              <span data-testid="compare-ratio">
                Linear axis from 0, so bar heights compare directly; each bar is labelled with its error and its multiple of the best ({best ? methodLabel(best.method) : '…'}){ratios.length ? `: ${ratios.join(', ')}` : ''}.
                {refined ? ' Swaps prune one kept weight and restore one pruned weight in the same row when that lowers the error, then the kept weights are refit; the sparsity stays the same.' : ''}
              </span>
            } />
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
          <TableHead columns={['method', num(refined ? 'rel. error + swaps' : 'rel. error'), ...(refined ? [num('method alone'), num('swaps')] : []), num('vs best'), num('sparsity'), num('iterations'), num('time')]} />
          <tbody>
            {results.map((r) => (
              <tr key={r.method} data-method={r.method}>
                <td>
                  <span className={`method-dot m-${r.method}`} />
                  {methodLabel(r.method)}
                  {best === r ? <span className="badge">best</span> : null}
                </td>
                <td className="num">{formatSci(r.relError, 4)}</td>
                {refined ? (
                  <>
                    <td className="num">{formatSci(own(r), 4)}</td>
                    <td className="num">{r.refinement?.swaps ?? '–'}</td>
                  </>
                ) : null}
                <td className="num">{best ? `${(r.relError / best.relError).toFixed(2)}×` : '–'}</td>
                <td className="num">{formatPercent(r.sparsity)}</td>
                <td className="num">{r.iterations}</td>
                <td className="num">{formatMs(r.ms)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <RefineToggle disabled={running} />
      </section>
    </div>
  );
}
