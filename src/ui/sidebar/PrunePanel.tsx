/** Method, sparsity pattern, ALPS settings, the layer to work on, and the run buttons. */
import { METHODS } from '../../solvers/types';
import { compareLayer, pruneLayer, pruneWholeModel } from '../actions';
import { NumberField } from '../components/NumberField';
import { METHOD_LABEL, shortLayer } from '../format';
import { useSession } from '../stores/session';
import { useSettings, type PatternKind } from '../stores/settings';

const PATTERNS: { kind: PatternKind; label: string }[] = [
  { kind: 'unstructured', label: 'Unstructured' },
  { kind: '2:4', label: '2:4' },
  { kind: '4:8', label: '4:8' },
];

const METHOD_HINT: Record<string, string> = {
  alps: 'ADMM with a ρ schedule, then a PCG refit on the chosen support.',
  sparsegpt: 'One pass of OBS updates column block by column block.',
  wanda: '|W| · ‖x‖ per output row, no weight update.',
  magnitude: 'Keep the largest |W|, no calibration needed.',
};

export function PrunePanel() {
  const s = useSettings();
  const model = useSession((x) => x.model);
  const job = useSession((x) => x.job);
  const gpu = useSession((x) => x.gpu);
  const loading = useSession((x) => x.loading);
  const busy = job !== null;
  const canRun = !!model && !busy && loading === null && gpu.state !== 'unavailable';
  const why = !model ? 'Load a model first.' : gpu.state === 'unavailable' ? 'WebGPU is not available in this browser.' : busy ? `${job.label}…` : null;
  const blocks = model ? [...new Set(model.linears.map((l) => l.block))] : [];

  return (
    <>
      <section className="side-section">
        <h2>Pruning</h2>
        <div className="segmented" role="radiogroup" aria-label="Method">
          {METHODS.map((m) => (
            <button key={m} type="button" role="radio" aria-checked={s.method === m} data-testid={`method-${m}`} className={s.method === m ? 'active' : ''} onClick={() => s.set({ method: m })} disabled={busy}>
              {METHOD_LABEL[m]}
            </button>
          ))}
        </div>
        <p className="hint">{METHOD_HINT[s.method]}</p>
        <div className="radio-row" role="radiogroup" aria-label="Sparsity pattern">
          {PATTERNS.map((p) => (
            <label key={p.kind}>
              <input type="radio" name="pattern" data-testid={`pattern-${p.kind}`} checked={s.patternKind === p.kind} onChange={() => s.set({ patternKind: p.kind })} disabled={busy} /> {p.label}
            </label>
          ))}
        </div>
        {s.patternKind === 'unstructured' ? (
          <label className="slider">
            <span>
              Sparsity <strong data-testid="sparsity-value">{Math.round(s.sparsity * 100)}%</strong> of weights removed
            </span>
            <input type="range" min={0.05} max={0.95} step={0.05} value={s.sparsity} data-testid="sparsity" onChange={(e) => s.set({ sparsity: Number(e.target.value) })} disabled={busy} />
          </label>
        ) : (
          <p className="hint">
            Keeps {s.patternKind === '2:4' ? '2 of every 4' : '4 of every 8'} consecutive inputs in each output row (50% sparsity).
          </p>
        )}
        <div className={`alps-settings${s.method === 'alps' ? '' : ' dimmed'}`}>
          <h3>ALPS settings {s.method === 'alps' ? null : <span className="muted">(used by ALPS and the comparison)</span>}</h3>
          <div className="field-grid">
            <NumberField label="ρ₀ (initial penalty)" testId="alps-rho0" integer={false} value={s.alps.rho0} min={1e-6} max={1e6} step={0.01} onChange={(v) => s.setAlps({ rho0: v })} disabled={busy} />
            <NumberField label="Iteration cap" testId="alps-iters" value={s.alps.maxIterations} min={1} max={100000} step={10} onChange={(v) => s.setAlps({ maxIterations: v })} disabled={busy} />
            <NumberField label="ρ update every (iterations)" testId="alps-every" value={s.alps.updateEvery} min={1} max={1000} step={1} onChange={(v) => s.setAlps({ updateEvery: v })} disabled={busy} />
            <NumberField label="PCG steps" testId="alps-pcg" value={s.alps.pcgSteps} min={0} max={1000} step={1} onChange={(v) => s.setAlps({ pcgSteps: v })} disabled={busy} />
          </div>
        </div>
      </section>
      <section className="side-section run-section">
        <h2>Run</h2>
        <label className="field">
          <span>Layer</span>
          <select data-testid="layer-select" value={s.layer ?? ''} onChange={(e) => s.set({ layer: e.target.value })} disabled={!model || busy}>
            {blocks.map((b) => (
              <optgroup key={b} label={`Block ${b}`}>
                {model!.linears
                  .filter((l) => l.block === b)
                  .map((l) => (
                    <option key={l.id} value={l.id}>
                      {shortLayer(l.id)} ({l.shape[0]}×{l.shape[1]})
                    </option>
                  ))}
              </optgroup>
            ))}
          </select>
        </label>
        <div className="run-buttons">
          <button type="button" className="button" data-testid="run-layer" onClick={() => void pruneLayer()} disabled={!canRun}>
            Prune this layer
          </button>
          <button type="button" className="button secondary" data-testid="run-compare" onClick={() => void compareLayer()} disabled={!canRun} title="Run ALPS, SparseGPT, Wanda and magnitude on this layer with the same settings">
            Compare methods
          </button>
          <button type="button" className="button wide-cell" data-testid="run-model" onClick={() => void pruneWholeModel()} disabled={!canRun}>
            Prune the whole model
          </button>
        </div>
        {why && !busy ? <p className="hint">{why}</p> : null}
      </section>
    </>
  );
}
