/**
 * The budget editor: every linear's sparsity as one bar (grouped by block), dragged or typed; the
 * weights kept over the whole model shown live against the uniform target's; presets uniform and
 * OWL; with "exact total" every edit is shifted by one amount so the count equals the target's
 * (planSparsities in src/shared/budget.ts, the same plan the run makes).
 */
import { useEffect, useMemo, useRef, useState, type PointerEvent } from 'react';
import { granularityOf, keptWeights, layerMapProfile, planSparsities, uniformPruned, type BudgetLayer } from '../../shared/budget';
import { formatCount, shortLayer } from '../format';
import { useBudget } from '../stores/budget';
import { useSession } from '../stores/session';
import { useSettings } from '../stores/settings';
import { applyOwlPreset, applyUniformPreset } from './actions';
import { barsPath, blockSeparators, CHART, pointAt } from './chart';
import { Help } from '../help/Help';

const pct = (s: number) => `${(s * 100).toFixed(1)}%`;

export function BudgetEditor() {
  const model = useSession((x) => x.model);
  const busy = useSession((x) => x.job !== null);
  const s = useSettings();
  const budget = useBudget();
  const [picked, setPicked] = useState(0);
  const drag = useRef<number | null>(null);
  const layers: BudgetLayer[] = useMemo(() => (model?.linears ?? []).map((l) => ({ id: l.id, block: l.block, m: l.shape[0], n: l.shape[1] })), [model]);
  const ids = useMemo(() => new Set(layers.map((l) => l.id)), [layers]);
  // A budget of another model's layers means nothing for this one.
  useEffect(() => {
    if (Object.keys(useBudget.getState().sparsities).some((id) => !ids.has(id))) applyUniformPreset();
  }, [ids]);
  const g = granularityOf(s.method === 'spap' ? 'magnitude' : s.method);
  const target = s.sparsity;
  const plan = useMemo(() => {
    try {
      return { values: planSparsities(layers, target, layerMapProfile(budget.sparsities, budget.exact), g), error: null };
    } catch (error) {
      return { values: layers.map((l) => budget.sparsities[l.id] ?? target), error: error instanceof Error ? error.message : String(error) };
    }
  }, [layers, target, budget.sparsities, budget.exact, g]);
  if (!model) return null;
  if (s.method === 'spap' || s.patternKind !== 'unstructured') {
    return (
      <section className="panel" data-testid="budget-editor">
        <h3>Sparsity budget</h3>
        <p className="muted">Per-layer budgets apply to the unstructured methods at an unstructured target (an N:M pattern or SPAP fixes every layer’s count).</p>
      </section>
    );
  }
  if (s.profile !== 'custom') {
    return (
      <section className="panel" data-testid="budget-editor">
        <h3>Sparsity budget</h3>
        <p className="muted">
          Whole-model runs prune every layer to the profile chosen on the left ({s.profile === 'owl' ? 'OWL' : 'uniform'}).{' '}
          <button type="button" className="link" data-testid="budget-open" onClick={() => s.set({ profile: 'custom' })} disabled={busy}>
            Edit each layer’s sparsity
          </button>
        </p>
      </section>
    );
  }
  const size = layers.reduce((a, l) => a + l.m * l.n, 0);
  const kept = keptWeights(layers, plan.values, g);
  const targetKept = size - uniformPruned(layers, target, g);
  const edit = (i: number, value: number) => {
    budget.setLayer(layers[i].id, value);
    setPicked(i);
    if (s.profile !== 'custom') s.set({ profile: 'custom' });
  };
  const pointer = (e: PointerEvent<SVGSVGElement>, start: boolean) => {
    if (busy || (!start && drag.current === null)) return;
    const r = e.currentTarget.getBoundingClientRect();
    const p = pointAt((e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height, layers.length);
    if (start) {
      drag.current = p.index;
      e.currentTarget.setPointerCapture(e.pointerId);
    }
    edit(drag.current ?? p.index, p.sparsity);
  };
  const raw = layers.map((l) => budget.sparsities[l.id] ?? target);
  const at = Math.min(picked, layers.length - 1);
  const pickedLayer = layers[at];
  const diff = kept - targetKept;
  return (
    <section className="panel" data-testid="budget-editor">
      <h3>
        Sparsity budget <span className="muted">({layers.length} linears; whole-model runs with the profile “Custom”)</span>
        <Help topic="budget" />
      </h3>
      <div className="run-buttons">
        <button type="button" className="button secondary" data-testid="budget-uniform" onClick={applyUniformPreset} disabled={busy}>
          Uniform
        </button>
        <button type="button" className="button secondary" data-testid="budget-owl" onClick={() => void applyOwlPreset()} disabled={busy} title="A dense pass over the calibration windows measures each block’s outlier ratio (OWL, M 5, λ 0.08)">
          OWL
        </button>
        <label>
          <input type="checkbox" data-testid="budget-exact" checked={budget.exact} onChange={(e) => budget.setExact(e.target.checked)} disabled={busy} /> exact total (shift edits to the target’s count)
        </label>
      </div>
      <p data-testid="budget-kept" data-kept={kept} data-target={targetKept} className={diff === 0 ? '' : 'warn'}>
        Kept <strong>{formatCount(kept)}</strong> of {formatCount(size)} weights ({pct(1 - kept / size)} pruned); uniform {pct(target)} keeps {formatCount(targetKept)}
        {diff === 0 ? ' — equal.' : ` — ${diff > 0 ? '+' : '−'}${formatCount(Math.abs(diff))}.`}
        <span className="muted"> Source: {budget.source}.</span>
      </p>
      {plan.error ? <p className="hint">{plan.error}</p> : null}
      <svg
        data-testid="budget-chart"
        data-planned={plan.values.map((v) => v.toFixed(4)).join(',')}
        viewBox={`0 0 ${CHART.width} ${CHART.height}`}
        preserveAspectRatio="none"
        style={{ width: '100%', height: CHART.height, touchAction: 'none', cursor: busy ? 'default' : 'ns-resize', background: 'var(--panel-2, rgba(127,127,127,0.08))' }}
        onPointerDown={(e) => pointer(e, true)}
        onPointerMove={(e) => pointer(e, false)}
        onPointerUp={() => (drag.current = null)}
        role="img"
        aria-label="Sparsity of every linear layer; drag a bar to change it"
      >
        <path d={[0.25, 0.5, 0.75].map((v) => `M0 ${CHART.height * (1 - v)}H${CHART.width}`).join('')} stroke="currentColor" strokeOpacity={0.12} />
        <path d={barsPath(plan.values)} fill="var(--accent, #4c7bd9)" opacity={0.8} />
        <path d={barsPath([...plan.values.map((_, i) => (i === at ? plan.values[i] : 0))])} fill="var(--accent-strong, #d9822b)" />
        <path d={blockSeparators(layers.map((l) => l.block))} stroke="currentColor" strokeOpacity={0.35} strokeDasharray="3 3" />
        <line x1={0} x2={CHART.width} y1={CHART.height * (1 - target)} y2={CHART.height * (1 - target)} stroke="currentColor" strokeWidth={1.5} />
      </svg>
      <p className="muted small">Bars: each layer’s sparsity as the run will use it, blocks split by dashed lines; faint lines at 25, 50 and 75 %; the dark line is the uniform target ({pct(target)}). Drag a bar, or pick a layer and type.</p>
      <div className="field-grid">
        <label className="field">
          <span>Layer</span>
          <select data-testid="budget-layer" value={pickedLayer.id} onChange={(e) => setPicked(layers.findIndex((l) => l.id === e.target.value))} disabled={busy}>
            {layers.map((l) => (
              <option key={l.id} value={l.id}>
                {shortLayer(l.id)} ({l.m}×{l.n})
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Sparsity (%)</span>
          <input
            type="number"
            data-testid="budget-value"
            key={`${pickedLayer.id}:${raw[at]}`}
            defaultValue={(raw[at] * 100).toFixed(1)}
            min={0}
            max={99}
            step={1}
            disabled={busy}
            onKeyDown={(e) => e.key === 'Enter' && e.currentTarget.blur()}
            onBlur={(e) => {
              const v = Number(e.target.value) / 100;
              if (Number.isFinite(v) && v >= 0 && v < 1 && v !== raw[at]) edit(at, v);
            }}
          />
        </label>
        <p className="muted small" data-testid="budget-picked">
          runs at {pct(plan.values[at])}
        </p>
      </div>
    </section>
  );
}
