/** One pruned layer: magnitude and mask heatmaps, the kept/pruned histogram, its convergence charts. */
import { useEffect, useMemo, useState } from 'react';
import type { LayerResult, LayerView } from '../../worker/protocol';
import { engine } from '../engineClient';
import { ConvergenceCharts } from '../charts/ConvergenceCharts';
import { formatMs, formatPercent, formatSci, METHOD_LABEL, shortLayer } from '../format';
import { Heatmap, keptRamp, viridis } from './Heatmap';
import { Histogram } from './Histogram';

export function LayerPanel({ result, onClose }: { result: LayerResult; onClose: () => void }) {
  const [view, setView] = useState<LayerView | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    setView(null);
    setError(null);
    engine()
      .request({ type: 'layerView', layer: result.id, method: result.method, run: result.run })
      .then((v) => live && setView(v))
      .catch((e: unknown) => live && setError(e instanceof Error ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [result.id, result.method, result.run, result.finishedAt]);

  const maxMagnitude = useMemo(() => (view ? view.magnitude.reduce((a, b) => Math.max(a, b), 0) : 1), [view]);
  // Magnitudes span decades: colour by log₁₀ over the top 4 decades.
  const normaliseMagnitude = useMemo(() => {
    const top = Math.log10(Math.max(maxMagnitude, 1e-30));
    return (v: number) => (v > 0 ? (Math.log10(v) - (top - 4)) / 4 : 0);
  }, [maxMagnitude]);
  const identity = useMemo(() => (v: number) => v, []);

  return (
    <section className="panel layer-panel" data-testid="layer-panel">
      <header className="panel-header">
        <h3>
          {shortLayer(result.id)} <span className="muted">· {METHOD_LABEL[result.method]} · {result.pattern} · {result.run === 'model' ? 'whole-model run' : 'layer run'}</span>
        </h3>
        <button type="button" className="link" onClick={onClose}>
          Close
        </button>
      </header>
      <dl className="facts">
        <div>
          <dt>shape</dt>
          <dd>
            {result.shape[0]} × {result.shape[1]}
          </dd>
        </div>
        <div>
          <dt>sparsity</dt>
          <dd>{formatPercent(result.sparsity)}</dd>
        </div>
        <div>
          <dt>relative error</dt>
          <dd>{formatSci(result.relError, 4)}</dd>
        </div>
        {result.method === 'alps' ? (
          <div>
            <dt>before PCG refit</dt>
            <dd>{formatSci(result.relErrorBeforeRefit, 4)}</dd>
          </div>
        ) : null}
        <div>
          <dt>iterations</dt>
          <dd>{result.iterations}</dd>
        </div>
        <div>
          <dt>time</dt>
          <dd>{formatMs(result.ms)}</dd>
        </div>
      </dl>
      {error ? <p className="inline-error">{error}</p> : null}
      {!view && !error ? <p className="muted">Reading the layer…</p> : null}
      {view ? (
        <div className="layer-maps">
          <Heatmap
            testId="heatmap-magnitude"
            title="Dense weight magnitude (max |W| per cell)"
            values={view.magnitude}
            rows={view.rows}
            cols={view.cols}
            cellRows={view.cellRows}
            cellCols={view.cellCols}
            shape={view.shape}
            normalise={normaliseMagnitude}
            colors={viridis}
            describe={(v) => `max |W| = ${formatSci(v, 3)}`}
            legend={[`≤ ${formatSci(maxMagnitude / 1e4, 2)}`, formatSci(maxMagnitude, 2)]}
          />
          <Heatmap
            testId="heatmap-mask"
            title="Mask (fraction of weights kept per cell)"
            values={view.density}
            rows={view.rows}
            cols={view.cols}
            cellRows={view.cellRows}
            cellCols={view.cellCols}
            shape={view.shape}
            normalise={identity}
            colors={keptRamp}
            describe={(v) => `${formatPercent(v)} kept`}
            legend={['all pruned', 'all kept']}
          />
          <Histogram histogram={view.histogram} />
        </div>
      ) : null}
      {result.method === 'alps' ? (
        <ConvergenceCharts iterations={result.history} pcg={result.pcg} idPrefix="layer" height={190} />
      ) : (
        <p className="muted">{METHOD_LABEL[result.method]} prunes in one pass: there are no iterations to chart.</p>
      )}
    </section>
  );
}
