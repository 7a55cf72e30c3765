/**
 * Method, sparsity pattern (or, for SPAP, the fraction of MLP channels and how they are chosen),
 * the method's settings, the layer to work on, and the run buttons.
 */
import { compareLayer, pruneLayer, pruneWholeModel } from '../actions';
import { NumberField } from '../components/NumberField';
import { Help } from '../help/Help';
import { shortLayer } from '../format';
import { CHANNEL_SELECTIONS, METHODS, methodLabel } from '../../shared/methods';
import { useSession } from '../stores/session';
import { HeadControls } from './HeadControls';
import { CHANNEL_FRACTION, PROFILE_KINDS, REFINE_SWAPS, useSettings, type PatternKind, type ProfileKind, type Settings } from '../stores/settings';

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
  spap: 'Removes whole MLP channels block by block, so the model gets smaller. A growing penalty picks them; down_proj is refit on the rest.',
};

const PROFILE_HINT: Record<ProfileKind, string> = {
  uniform: 'Every layer at the target sparsity.',
  owl: 'OWL: blocks whose |W|·‖x‖ scores have more outliers are pruned less (within ±8 points), the total count of weights kept stays that of the target. Whole-model runs only.',
  custom: 'Each layer’s sparsity from the budget editor (Model tab): drag or type, or start from the OWL preset. Whole-model runs only.',
};

const SELECTION_HINT: Record<string, string> = {
  spap: 'Penalty path: ρ grows until the choice of channels stops changing.',
  'weight-norm': 'Baseline: remove the channels with the smallest ‖W_down[:, i]‖.',
  'activation-norm': 'Baseline: smallest ‖W_down[:, i]‖ · ‖x_i‖ (Wanda-style).',
};

/** SPAP's controls: how many channels go, how they are chosen, the penalty schedule. */
function StructuredControls({ s, busy, channels }: { s: Settings & { setSpap: (p: Partial<Settings['spap']>) => void; set: (p: Partial<Settings>) => void }; busy: boolean; channels: number | null }) {
  const removed = channels === null ? null : Math.round(s.channelFraction * channels);
  return (
    <>
      <label className="slider">
        <span>
          <strong data-testid="channel-fraction-value">{Math.round(s.channelFraction * 100)}%</strong> of MLP channels removed
          <Help topic="spap-fraction" />
          {channels !== null ? <span className="muted"> ({removed} of {channels} per block)</span> : null}
        </span>
        <input
          type="range"
          min={CHANNEL_FRACTION.min}
          max={CHANNEL_FRACTION.max}
          step={CHANNEL_FRACTION.step}
          value={s.channelFraction}
          data-testid="channel-fraction"
          aria-label="Fraction of MLP channels to remove"
          onChange={(e) => s.set({ channelFraction: Number(e.target.value) })}
          disabled={busy}
        />
      </label>
      <div className="radio-column" role="radiogroup" aria-label="Channel selection">
        <span className="group-label">Channel selection (same refit for all) <Help topic="spap-selection" /></span>
        {CHANNEL_SELECTIONS.map((sel) => (
          <label key={sel} title={SELECTION_HINT[sel]}>
            <input type="radio" name="selection" data-testid={`selection-${sel}`} checked={s.selection === sel} onChange={() => s.set({ selection: sel })} disabled={busy} /> {methodLabel(sel)}
          </label>
        ))}
      </div>
      <p className="hint">{SELECTION_HINT[s.selection]}</p>
      <div className={`alps-settings${s.selection === 'spap' ? '' : ' dimmed'}`}>
        <h3>SPAP penalty {s.selection === 'spap' ? null : <span className="muted">(used by the SPAP selection)</span>}<Help topic="spap-settings" /></h3>
        <div className="field-grid">
          <NumberField label="ρ₀ (initial penalty)" testId="spap-rho0" help="spap-rho0" integer={false} value={s.spap.rho0} min={1e-9} max={1e6} step={0.001} onChange={(v) => s.setSpap({ rho0: v })} disabled={busy} />
          <NumberField label="ρ growth" title="ρ is multiplied by this after every penalty step" testId="spap-growth" help="spap-growth" integer={false} value={s.spap.growth} min={1.01} max={100} step={0.1} onChange={(v) => s.setSpap({ growth: v })} disabled={busy} />
          <NumberField label="Step cap" testId="spap-steps" help="spap-steps" value={s.spap.maxSteps} min={1} max={10000} step={10} onChange={(v) => s.setSpap({ maxSteps: v })} disabled={busy} />
        </div>
      </div>
    </>
  );
}

/** Local search after the method: whether to run it, and its budget of rounds. */
function RefineControls({ s, busy }: { s: Settings & { set: (p: Partial<Settings>) => void }; busy: boolean }) {
  const on = s.refine === 'swaps';
  return (
    <div className={`alps-settings${on ? '' : ' dimmed'}`}>
      <div className="radio-row">
        <label>
          <input type="checkbox" data-testid="refine-swaps" checked={on} onChange={(e) => s.set({ refine: e.target.checked ? 'swaps' : 'off' })} disabled={busy} /> Refine with swap moves
          <Help topic="refine" />
        </label>
      </div>
      <p className="hint">
        After the method, a swap prunes one kept weight and restores one pruned weight in the same row, made only when that lowers the layer's error; then the kept weights are refit. Same sparsity, often a lower error.
      </p>
      {on ? (
        <div className="field-grid">
          <NumberField label="Swap rounds at most" title="Each round makes at most one swap per output row; it stops early when no swap helps" testId="refine-budget" help="refine-rounds" value={s.refineSwaps} min={REFINE_SWAPS.min} max={REFINE_SWAPS.max} step={10} onChange={(v) => s.set({ refineSwaps: v })} disabled={busy} />
        </div>
      ) : null}
    </div>
  );
}

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
  const structured = s.method === 'spap';
  // The MLP width is down_proj's (c_proj's, fc2's: role "down") input size.
  const down = model?.linears.find((l) => l.role === 'down');
  const channels = down ? down.shape[1] : null;

  return (
    <>
      <section className="side-section">
        <h2>Pruning <Help topic="method" /></h2>
        <div role="radiogroup" aria-label="Method" className="method-groups">
          <span className="group-label">Unstructured (single weights)</span>
          <div className="segmented">
            {METHODS.map((m) => (
              <button key={m} type="button" role="radio" aria-checked={s.method === m} data-testid={`method-${m}`} className={s.method === m ? 'active' : ''} onClick={() => s.set({ method: m })} disabled={busy}>
                {methodLabel(m)}
              </button>
            ))}
          </div>
          <span className="group-label">Structured (whole MLP channels)</span>
          <div className="segmented single">
            <button type="button" role="radio" aria-checked={structured} data-testid="method-spap" className={structured ? 'active' : ''} onClick={() => s.set({ method: 'spap' })} disabled={busy}>
              SPAP
            </button>
          </div>
        </div>
        <p className="hint">{METHOD_HINT[s.method]} <Help topic={`method-${s.method}`} /></p>
        {structured ? <StructuredControls s={s} busy={busy} channels={channels} /> : null}
        {structured ? <HeadControls s={s} busy={busy} model={model} /> : null}
        {structured ? null : (
        <>
        <div className="radio-row" role="radiogroup" aria-label="Sparsity pattern">
          {PATTERNS.map((p) => (
            <label key={p.kind}>
              <input type="radio" name="pattern" data-testid={`pattern-${p.kind}`} checked={s.patternKind === p.kind} onChange={() => s.set({ patternKind: p.kind })} disabled={busy} /> {p.label}
            </label>
          ))}
          <Help topic="pattern" />
        </div>
        {s.patternKind === 'unstructured' ? (
          <>
          <label className="slider">
            <span>
              Sparsity <strong data-testid="sparsity-value">{Math.round(s.sparsity * 100)}%</strong> of weights removed
              <Help topic="sparsity" />
            </span>
            <input type="range" min={0.05} max={0.95} step={0.05} value={s.sparsity} data-testid="sparsity" onChange={(e) => s.set({ sparsity: Number(e.target.value) })} disabled={busy} />
          </label>
          <label className="field" title={PROFILE_HINT[s.profile]}>
            <span>Sparsity profile (whole model) <Help topic="profile" /></span>
            <select data-testid="sparsity-profile" value={s.profile} onChange={(e) => s.set({ profile: e.target.value as ProfileKind })} disabled={busy}>
              {PROFILE_KINDS.map((p) => (
                <option key={p} value={p}>
                  {p === 'owl' ? 'OWL' : p === 'custom' ? 'Custom (edit…)' : 'Uniform'}
                </option>
              ))}
            </select>
          </label>
          <p className="hint">
            {PROFILE_HINT[s.profile]}
            {s.profile === 'custom' ? (
              <>
                {' '}
                <button type="button" className="link" data-testid="edit-budget" onClick={() => useSession.getState().setTab('overview')}>
                  Edit the budget
                </button>
              </>
            ) : null}
          </p>
          </>
        ) : (
          <p className="hint">
            Keeps {s.patternKind === '2:4' ? '2 of every 4' : '4 of every 8'} consecutive inputs in each output row (50% sparsity).
          </p>
        )}
        <div className={`alps-settings${s.method === 'alps' ? '' : ' dimmed'}`}>
          <h3>ALPS settings {s.method === 'alps' ? null : <span className="muted">(used by ALPS and the comparison)</span>}<Help topic="alps-settings" /></h3>
          <div className="field-grid">
            <NumberField label="ρ₀ (initial penalty)" testId="alps-rho0" help="alps-rho0" integer={false} value={s.alps.rho0} min={1e-6} max={1e6} step={0.01} onChange={(v) => s.setAlps({ rho0: v })} disabled={busy} />
            <NumberField label="Iteration cap" testId="alps-iters" help="alps-iters" value={s.alps.maxIterations} min={1} max={100000} step={10} onChange={(v) => s.setAlps({ maxIterations: v })} disabled={busy} />
            <NumberField label="ρ update every (iterations)" testId="alps-every" help="alps-every" value={s.alps.updateEvery} min={1} max={1000} step={1} onChange={(v) => s.setAlps({ updateEvery: v })} disabled={busy} />
            <NumberField label="PCG steps" testId="alps-pcg" help="alps-pcg" value={s.alps.pcgSteps} min={0} max={1000} step={1} onChange={(v) => s.setAlps({ pcgSteps: v })} disabled={busy} />
          </div>
        </div>
        <RefineControls s={s} busy={busy} />
        </>
        )}
      </section>
      <section className="side-section run-section">
        <h2>Run <Help topic="run" /></h2>
        {structured ? (
          <p className="hint">SPAP has no single-layer run: it chooses each block's channels with the earlier blocks already pruned.</p>
        ) : (
        <>
        <label className="field">
          <span>Layer <Help topic="layer-select" /></span>
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
        </div>
        </>
        )}
        <div className="run-buttons">
          <button type="button" className="button wide-cell" data-testid="run-model" onClick={() => void pruneWholeModel()} disabled={!canRun}>
            Prune the whole model
          </button>
        </div>
        {why && !busy ? <p className="hint">{why}</p> : null}
      </section>
    </>
  );
}
