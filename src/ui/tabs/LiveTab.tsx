/** Live telemetry of the layer being solved, and the per-layer errors of a whole-model run. */
import { LayerErrorChart } from '../charts/LayerErrorChart';
import { ConvergenceCharts } from '../charts/ConvergenceCharts';
import { METHOD_LABEL, formatSci, shortLayer } from '../format';
import { useLive } from '../stores/live';
import { useResults } from '../stores/results';
import { useSession } from '../stores/session';

export function LiveTab() {
  const live = useLive();
  const job = useSession((s) => s.job);
  const model = useSession((s) => s.model);
  const setTab = useSession((s) => s.setTab);
  const partial = useResults((s) => s.modelRunPartial);
  const modelRun = useResults((s) => s.modelRun);
  const select = useResults((s) => s.select);
  const running = job?.kind === 'pruneModel';
  const modelResults = running ? partial : (modelRun?.report ?? []);
  const last = live.iterations[live.iterations.length - 1];
  const oneShot = live.method !== null && live.method !== 'alps';

  return (
    <div className="stack">
      <section className="panel">
        <header className="panel-header">
          <h3 data-testid="live-title">
            {live.layer ? (
              <>
                {METHOD_LABEL[live.method ?? 'alps']} on {shortLayer(live.layer)} <span className="muted">· {live.run === 'model' ? 'whole-model run' : 'single layer'}</span>
              </>
            ) : (
              'Live convergence'
            )}
          </h3>
          {last ? (
            <span className="muted" data-testid="live-stats">
              iteration {last.iter} · error {formatSci(last.relError)} · ρ {formatSci(last.rho)}
            </span>
          ) : null}
        </header>
        {!live.layer ? (
          <p className="empty">Run ALPS on a layer (or the whole model) to watch it converge here: error, support change and ρ per iteration, then the PCG refit.</p>
        ) : oneShot ? (
          <p className="empty">{METHOD_LABEL[live.method!]} prunes in one pass, with no iterations to chart. Its error appears in the Layers table when it finishes.</p>
        ) : (
          <ConvergenceCharts iterations={live.iterations} pcg={live.pcg} idPrefix="live" />
        )}
      </section>
      {running || modelRun ? (
        <section className="panel">
          <LayerErrorChart
            results={modelResults}
            total={model?.linears.length ?? modelResults.length}
            title={running ? 'Whole-model run: relative error per layer, so far' : `Last whole-model run (${METHOD_LABEL[modelRun!.settings.method]}, ${modelRun!.report[0]?.pattern ?? ''})`}
            onSelect={(r) => {
              select({ layer: r.id, method: r.method, run: r.run });
              setTab('layers');
            }}
          />
        </section>
      ) : null}
    </div>
  );
}
