/** One pruned layer: magnitude and mask heatmaps, the kept/pruned histogram, its convergence charts. */
import { startTransition, useEffect, useMemo, useRef, useState } from 'react';
import type { LayerOutcome } from '../../shared/outcome';
import type { LayerView } from '../../worker/protocol';
import { engine } from '../engineClient';
import { ConvergenceCharts } from '../charts/ConvergenceCharts';
import { formatMs, formatPercent, formatSci, shortLayer } from '../format';
import { methodLabel } from '../../shared/methods';
import { Help } from '../help/Help';
import { Heatmap, keptRamp, viridis } from './Heatmap';
import { Histogram } from './Histogram';
import { Fact } from '../components/Table';
import { HealthWarnings } from './HealthNotes';
import { RefitGain } from '../run/RefitGain';

export function LayerPanel({ result, onClose }: { result: LayerOutcome; onClose: () => void }) {
  const [view, setView] = useState<LayerView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const panel = useRef<HTMLElement>(null);
  // A click on a row (or a bar elsewhere) opens the layer here, below the table: bring it into view
  // (while the maps load the panel keeps a window's height, so the page can scroll it to the top).
  useEffect(() => {
    panel.current?.scrollIntoView?.({ block: 'start', behavior: 'smooth' });
  }, [result.id, result.method, result.run]);
  useEffect(() => {
    let live = true;
    setView(null);
    setError(null);
    engine()
      .request({ type: 'layerView', layer: result.id, method: result.method, run: result.run })
      // A transition: React renders the maps and the histogram in slices between other work.
      .then((v) => live && startTransition(() => setView(v)))
      .catch((e: unknown) => live && setError(e instanceof Error ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [result.id, result.method, result.run, result.finishedAt]);

  // Magnitudes span decades: colour by log₁₀ between the smallest and the largest cell, over at most
  // the top 4 decades (a random-init layer's cells differ by a few per cent and would be one colour).
  const [minMagnitude, maxMagnitude] = useMemo(() => {
    if (!view) return [1e-4, 1];
    let lo = Infinity;
    let hi = 0;
    for (const v of view.magnitude) {
      if (v > 0 && v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return hi > 0 ? [Math.max(lo, hi / 1e4), hi] : [1e-4, 1];
  }, [view]);
  const normaliseMagnitude = useMemo(() => {
    const top = Math.log10(maxMagnitude);
    const span = Math.max(top - Math.log10(minMagnitude), 1e-6);
    return (v: number) => (v > 0 ? (Math.log10(v) - (top - span)) / span : 0);
  }, [minMagnitude, maxMagnitude]);
  const identity = useMemo(() => (v: number) => v, []);

  return (
    <section className="panel layer-panel" data-testid="layer-panel" ref={panel} style={{ scrollMarginTop: 'calc(var(--topbar-h, 46px) + 8px)', minHeight: view || error ? undefined : '90vh' }}>
      <header className="panel-header">
        <h3>
          {shortLayer(result.id)} <span className="muted">· {methodLabel(result.method)} · {result.pattern} · {result.run === 'model' ? 'whole-model run' : 'layer run'}</span> <Help topic="layer-view" />
        </h3>
        <button type="button" className="link" onClick={onClose}>
          Close
        </button>
      </header>
      <dl className="facts">
        <Fact label="shape">{result.shape[0]} × {result.shape[1]}</Fact>
        <Fact label="sparsity">{formatPercent(result.sparsity)}</Fact>
        <Fact label="relative error">{formatSci(result.relError, 4)}</Fact>
        {result.method === 'alps' ? (
          <Fact label="PCG refit (error before → after)"><RefitGain outcome={result} /></Fact>
        ) : null}
        {result.refinement ? (
          <Fact label="swap refinement">
            <span data-testid="refine-summary" data-before={result.refinement.relErrorBefore} data-after-swaps={result.refinement.relErrorAfterSwaps} data-after-refit={result.relError} data-swaps={result.refinement.swaps}>
              {formatSci(result.refinement.relErrorBefore, 4)} → {formatSci(result.refinement.relErrorAfterSwaps, 4)} after {result.refinement.swaps} swaps ({result.refinement.rounds} rounds) → {formatSci(result.relError, 4)} {result.refinement.refit ? 'after the refit' : '(refit not kept: it did not help)'}
            </span>
          </Fact>
        ) : null}
        <Fact label="iterations">{result.iterations}</Fact>
        <Fact label="time">{formatMs(result.ms)}</Fact>
      </dl>
      <HealthWarnings result={result} />
      {error ? <p className="inline-error">{error}</p> : null}
      {!view && !error ? <p className="muted">Reading the layer…</p> : null}
      {view ? (
        <div className="layer-maps">
          <Heatmap testId="heatmap-magnitude" title="Dense weight magnitude (max |W| per cell)" grid={view} values={view.magnitude} normalise={normaliseMagnitude} colors={viridis}
            describe={(v) => `max |W| = ${formatSci(v, 3)}`} legend={[`${minMagnitude <= maxMagnitude / 1e4 ? '≤ ' : ''}${formatSci(minMagnitude, 2)}`, formatSci(maxMagnitude, 2)]} />
          <Heatmap testId="heatmap-mask" title="Mask (fraction of weights kept per cell)" grid={view} values={view.density} normalise={identity} colors={keptRamp}
            describe={(v) => `${formatPercent(v)} kept`} legend={['all pruned', 'all kept']} />
          <Histogram histogram={view.histogram} />
        </div>
      ) : null}
      {result.method === 'alps' ? (
        <ConvergenceCharts iterations={result.history} pcg={result.pcg} idPrefix="layer" height={190} />
      ) : (
        <p className="muted">{methodLabel(result.method)} prunes in one pass: there are no iterations to chart.</p>
      )}
    </section>
  );
}
