/**
 * The end of a run, where the job bar was: a finished run's final numbers and the next step
 * (a layer: error, time, iterations, the PCG refit's gain; the whole model: mean error, time, a
 * button to measure perplexity), or a cancelled run and what was kept.
 */
import type { ReactNode } from 'react';
import { compareLayer, evaluate } from '../actions';
import { Fact } from '../components/Table';
import { formatCount, formatMs, formatPercent, formatSci, shortLayer } from '../format';
import { layerName, pruneRunLabel, structuredRunLabel } from '../labels';
import { methodLabel } from '../../shared/methods';
import type { LayerOutcome } from '../../shared/outcome';
import { useLongRun } from '../stores/longRun';
import { meanError, useResults } from '../stores/results';
import { useSession, type Tab } from '../stores/session';
import { useRunEnd, type RunEnd } from './arc';
import { RefitGain } from './RefitGain';

export function EndCard() {
  const end = useRunEnd((s) => s.end);
  const dismiss = useRunEnd((s) => s.dismiss);
  if (!end) return null;
  const body = end.status === 'cancelled' ? <Cancelled end={end} /> : <Finished end={end} />;
  return (
    <section className={`panel end-card ${end.status}`} data-testid="end-card" data-status={end.status} data-kind={end.kind} role="status" style={{ borderLeft: `4px solid ${end.status === 'cancelled' ? '#d97706' : '#059669'}` }}>
      <header className="panel-header">
        <h3 data-testid="end-title">
          {end.status === 'cancelled' ? 'Cancelled' : 'Finished'}: {end.label.replace(/^\w/, (c) => c.toLowerCase())}
        </h3>
        <button type="button" className="link" data-testid="end-dismiss" onClick={dismiss}>
          Close
        </button>
      </header>
      {body}
    </section>
  );
}

function Next({ children }: { children: ReactNode }) {
  return <div className="button-row" style={{ marginTop: 8 }}>{children}</div>;
}

function TabButton({ tab, children, testId }: { tab: Tab; children: ReactNode; testId: string }) {
  const setTab = useSession((s) => s.setTab);
  return (
    <button type="button" className="button small secondary" data-testid={testId} onClick={() => setTab(tab)}>
      {children}
    </button>
  );
}

function Finished({ end }: { end: RunEnd }) {
  if (end.kind === 'pruneLayer' && end.outcome) return <LayerFinished end={end} outcome={end.outcome} />;
  if (end.kind === 'pruneModel') return <ModelFinished end={end} />;
  if (end.kind === 'pruneStructured') return <StructuredFinished end={end} />;
  if (end.kind === 'compareLayer') return <CompareFinished end={end} />;
  return null;
}

function LayerFinished({ end, outcome }: { end: RunEnd; outcome: LayerOutcome }) {
  const open = () => {
    useResults.getState().select({ layer: outcome.id, method: outcome.method, run: 'layer' });
    useSession.getState().setTab('layers');
  };
  return (
    <>
      <dl className="facts">
        <Fact label="final relative error" testId="end-error" value={outcome.relError}>{formatSci(outcome.relError, 4)}</Fact>
        {outcome.method === 'alps' ? <Fact label="PCG refit (error before → after)"><RefitGain outcome={outcome} /></Fact> : null}
        <Fact label="sparsity">{formatPercent(outcome.sparsity)}</Fact>
        <Fact label="iterations" testId="end-iterations">{outcome.method === 'alps' ? outcome.iterations : 'one pass'}</Fact>
        <Fact label="time" testId="end-time" value={end.ms}>{formatMs(end.ms)} <span className="muted">(solve {formatMs(outcome.ms)})</span></Fact>
      </dl>
      <p className="muted small">
        The relative error is ‖X(W−W₀)ᵀ‖² / ‖XW₀ᵀ‖²: how much of the layer's output on the calibration text the pruning changed (0 = none).
      </p>
      <Next>
        <button type="button" className="button small secondary" data-testid="end-open-layer" onClick={open}>
          Open {shortLayer(outcome.id)} in Layers
        </button>
        <button type="button" className="button small secondary" data-testid="end-compare" onClick={() => void compareLayer()}>
          Compare methods on this layer
        </button>
      </Next>
    </>
  );
}

function MeasureButton() {
  return (
    <button
      type="button"
      className="button small"
      data-testid="end-measure"
      onClick={() => {
        useSession.getState().setTab('evaluate');
        void evaluate();
      }}
    >
      Measure perplexity
    </button>
  );
}

function ModelFinished({ end }: { end: RunEnd }) {
  const run = useResults((s) => s.modelRun);
  const older = useResults((s) => s.modelHistory.length);
  if (!run) return null;
  const worst = run.report.reduce<LayerOutcome | null>((a, r) => (!a || r.relError > a.relError ? r : a), null);
  return (
    <>
      <dl className="facts">
        <Fact label="mean relative error" testId="end-error" value={meanError(run.report)}>{formatSci(meanError(run.report), 4)}</Fact>
        <Fact label="layers">{run.report.length}</Fact>
        {worst ? <Fact label="worst layer">{shortLayer(worst.id)} ({formatSci(worst.relError, 3)})</Fact> : null}
        <Fact label="settings">{pruneRunLabel(run.settings)}</Fact>
        <Fact label="time" testId="end-time" value={end.ms}>{formatMs(run.ms)}</Fact>
      </dl>
      <p className="muted small">
        Next: measure the perplexity of the pruned model against the dense one.{older ? ` The ${older === 1 ? 'earlier run is' : `${older} earlier runs are`} kept in Evaluate, marked as older.` : ''}
      </p>
      <Next>
        <MeasureButton />
        <TabButton tab="layers" testId="end-open-layers">Every layer in Layers</TabButton>
      </Next>
    </>
  );
}

function StructuredFinished({ end }: { end: RunEnd }) {
  const run = useResults((s) => s.structuredRun);
  if (!run) return null;
  const mean = run.report.reduce((a, b) => a + b.relError, 0) / Math.max(1, run.report.length);
  return (
    <>
      <dl className="facts">
        <Fact label="mean refit error" testId="end-error" value={mean}>{formatSci(mean, 4)}</Fact>
        <Fact label="settings">{structuredRunLabel(run.settings)}</Fact>
        <Fact label="parameters">
          {formatCount(run.parameters.before)} → {formatCount(run.parameters.after)} <span className="muted">({formatPercent(run.parameters.after / run.parameters.before - 1)})</span>
        </Fact>
        <Fact label="time" testId="end-time" value={end.ms}>{formatMs(run.ms)}</Fact>
      </dl>
      <Next>
        <MeasureButton />
        <TabButton tab="channels" testId="end-open-channels">Kept channels</TabButton>
      </Next>
    </>
  );
}

function CompareFinished({ end }: { end: RunEnd }) {
  const compare = useResults((s) => s.compare);
  if (!compare?.results.length) return null;
  const sorted = [...compare.results].sort((a, b) => a.relError - b.relError);
  const best = sorted[0];
  return (
    <>
      <p data-testid="end-error" data-value={best.relError}>
        Best on {layerName(compare.layer)}: {methodLabel(best.method)} ({formatSci(best.relError, 4)}).{' '}
        {sorted.slice(1).map((r) => `${methodLabel(r.method)} ${(r.relError / best.relError).toFixed(2)}×`).join(', ')} its error · {formatMs(end.ms)}
      </p>
      <Next>
        <TabButton tab="compare" testId="end-open-compare">Open Compare</TabButton>
      </Next>
    </>
  );
}

function Cancelled({ end }: { end: RunEnd }) {
  const layerRuns = useResults((s) => s.layerRuns);
  const modelRun = useResults((s) => s.modelRun);
  const unfinished = useLongRun((s) => s.unfinished);
  let kept: string;
  if (end.kind === 'pruneModel') {
    kept = unfinished
      ? `${unfinished.blocksDone} of ${unfinished.blocks} blocks (${unfinished.layersDone} of ${unfinished.layerCount} layers) are saved in this browser: Continue above solves only the rest.`
      : 'No block had finished, so nothing of it was kept.';
    kept += modelRun ? ` The earlier whole-model run (${pruneRunLabel(modelRun.settings)}) is still the pruned model.` : ' The loaded model is unchanged.';
  } else if (end.kind === 'compareLayer') {
    const done = layerRuns.filter((r) => r.finishedAt >= end.startedAt).length;
    kept = done ? `${done} method${done === 1 ? '' : 's'} finished before the cancel and ${done === 1 ? 'is' : 'are'} kept in Layers; Compare shows only complete comparisons.` : 'No method had finished; earlier results are unchanged.';
  } else if (end.kind === 'pruneStructured') {
    kept = 'Nothing of this run was kept; the earlier structured run and the loaded model are unchanged.';
  } else {
    kept = 'Nothing of this run was kept; the loaded model and earlier results are unchanged.';
  }
  return (
    <p data-testid="end-kept">
      Stopped after {formatMs(end.ms)}. {kept} The Live charts show the run up to the cancel.
    </p>
  );
}
