/**
 * Live telemetry of what is being solved: an ALPS layer's convergence, or a SPAP block's penalty
 * path; below, the per-layer errors of a sparse whole-model run and the per-block refit errors of a
 * structured one, building up as they finish.
 */
import { BlockErrorChart } from '../charts/BlockErrorChart';
import { ConvergenceCharts } from '../charts/ConvergenceCharts';
import { LayerErrorChart } from '../charts/LayerErrorChart';
import { SpapCharts } from '../charts/SpapCharts';
import { SwapsChart } from '../charts/SwapsChart';
import { MaskFrames } from '../live/MaskFrames';
import { capitalise, formatSci, shortLayer } from '../format';
import { methodLabel } from '../../shared/methods';
import { structuredRunLabel } from '../labels';
import { useLive } from '../stores/live';
import { useResults } from '../stores/results';
import { useSession } from '../stores/session';
import { useRunEnd } from '../run/arc';
import { Help } from '../help/Help';

export function LiveTab() {
  const live = useLive();
  const job = useSession((s) => s.job);
  const model = useSession((s) => s.model);
  const setTab = useSession((s) => s.setTab);
  const partial = useResults((s) => s.modelRunPartial);
  const modelRun = useResults((s) => s.modelRun);
  const blocksPartial = useResults((s) => s.structuredPartial);
  const structuredRun = useResults((s) => s.structuredRun);
  const select = useResults((s) => s.select);
  const running = job?.kind === 'pruneModel';
  const runningStructured = job?.kind === 'pruneStructured';
  // A run a lost or exhausted GPU stopped: its finished layers, until it is run again.
  const stopped = !running && partial.length > 0;
  const modelResults = running || stopped ? partial : (modelRun?.report ?? []);
  const blockResults = runningStructured ? blocksPartial : (structuredRun?.report ?? []);

  const sparsePanel =
    running || stopped || modelRun ? (
      <section className="panel" key="sparse">
        {stopped ? (
          <p className="muted" data-testid="stopped-run">
            The whole-model run stopped after {partial.length} of {model?.linears.length ?? partial.length} layers. Its finished layers are kept: prune the whole model again with the same settings to continue from there.
          </p>
        ) : null}
        <LayerErrorChart
          results={modelResults}
          total={model?.linears.length ?? modelResults.length}
          title={running || stopped ? 'Whole-model run: relative error per layer, so far' : `Last whole-model run (${methodLabel(modelRun!.settings.method)}, ${modelRun!.report[0]?.pattern ?? ''})`}
          onSelect={(r) => {
            select({ layer: r.id, method: r.method, run: r.run });
            setTab('layers');
          }}
        />
      </section>
    ) : null;
  const structuredPanel =
    runningStructured || structuredRun ? (
      <section className="panel" key="structured">
        <BlockErrorChart
          blocks={blockResults}
          total={model?.blocks ?? blockResults.length}
          title={
            runningStructured
              ? 'Structured run: refit error of down_proj per block, so far'
              : `Last structured run (${structuredRunLabel(structuredRun!.settings)})`
          }
          onSelect={() => setTab('channels')}
        />
      </section>
    ) : null;
  // The run that is live (or was last live) comes first.
  const panels = live.block || runningStructured ? [structuredPanel, sparsePanel] : [sparsePanel, structuredPanel];

  return (
    <div className="stack">
      <OwnerNote />
      {live.block ? <SpapLive /> : <AlpsLive />}
      {live.block ? null : <MaskFrames />}
      {panels}
    </div>
  );
}

/** Whose curves these are: a cancelled or failed run's stay, named as such, until the next run empties them. */
function OwnerNote() {
  const owner = useLive((s) => s.owner);
  // The end card above already says that this run finished.
  const carded = useRunEnd((s) => s.end?.jobId === owner?.jobId && s.end?.status === 'finished');
  if (!owner || owner.status === 'running' || (owner.status === 'finished' && carded)) return null;
  const how = owner.status === 'cancelled' ? 'Cancelled' : owner.status === 'failed' ? 'Stopped by an error' : 'Finished';
  return (
    <p className={owner.status === 'finished' ? 'muted' : 'hint panel-hint'} data-testid="live-owner" data-status={owner.status}>
      {how}: {owner.label.replace(/^\w/, (c) => c.toLowerCase())}. The charts below are that run's{owner.status === 'finished' ? '' : ', up to where it stopped'}; the next run starts them afresh.
    </p>
  );
}

function AlpsLive() {
  const live = useLive();
  const last = live.iterations[live.iterations.length - 1];
  const oneShot = live.method !== null && live.method !== 'alps';
  const refining = live.swaps.length > 0 || live.phase === 'swaps';
  const lastSwap = live.swaps[live.swaps.length - 1];
  return (
    <section className="panel">
      <header className="panel-header">
        <h3 data-testid="live-title">
          {live.layer ? (
            <>
              {methodLabel(live.method ?? 'alps')} on {shortLayer(live.layer)} <span className="muted">· {live.run === 'model' ? 'whole-model run' : 'single layer'}</span>
            </>
          ) : (
            'Live convergence'
          )}
          <Help topic="admm" />
        </h3>
        {lastSwap ? (
          <span className="muted" data-testid="live-swap-stats">
            round {lastSwap.round} · {lastSwap.swaps} swaps · error {formatSci(lastSwap.relError)}
          </span>
        ) : last ? (
          <span className="muted" data-testid="live-stats">
            iteration {last.iter} · error {formatSci(last.relError)} · ρ {formatSci(last.rho)}
          </span>
        ) : null}
      </header>
      {!live.layer ? (
        <p className="empty">Run ALPS on a layer (or the whole model) to watch it converge here: error, support change and ρ per iteration, then the PCG refit. SPAP runs show their penalty path here too.</p>
      ) : oneShot ? (
        refining ? null : <p className="empty">{methodLabel(live.method!)} prunes in one pass, with no iterations to chart. Its error appears in the Layers table when it finishes.</p>
      ) : (
        <ConvergenceCharts iterations={live.iterations} pcg={live.pcg} idPrefix="live" />
      )}
      {live.layer && refining ? <SwapsChart rounds={live.swaps} testId="live-swaps-chart" /> : null}
    </section>
  );
}

function SpapLive() {
  const live = useLive();
  const block = live.block!;
  const last = live.spapSteps[live.spapSteps.length - 1];
  return (
    <section className="panel">
      <header className="panel-header">
        <h3 data-testid="live-title">
          {capitalise(methodLabel(block.selection))} on block {block.index}{' '}
          <span className="muted">
            · {shortLayer(live.layer ?? '').replace(/^\d+ · /, '')} · {block.channels} MLP channels
          </span>
        </h3>
        {last ? (
          <span className="muted" data-testid="live-stats">
            step {last.step} · objective {formatSci(last.relError)} · {last.changed} changed · ρ {formatSci(last.rho)}
          </span>
        ) : null}
      </header>
      {block.selection === 'spap' ? (
        <SpapCharts steps={live.spapSteps} idPrefix="spap-live" waiting="Capturing the block's down_proj inputs, then the first penalty step…" />
      ) : (
        <p className="empty">{capitalise(methodLabel(block.selection))} ranks the channels in one pass: there is no penalty path to chart. Each block's refit error appears below as it finishes.</p>
      )}
    </section>
  );
}
