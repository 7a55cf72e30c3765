/** Perplexity of the dense and the pruned model on held-out text, and greedy continuations side by side. */
import { evaluate, generate } from '../actions';
import { NumberField } from '../components/NumberField';
import { formatMs, formatPercent, formatSci } from '../format';
import { evaluationTextLabel, pruneRunLabel, structuredRunLabel } from '../labels';
import { meanError, measuredAfter, useResults } from '../stores/results';
import { TableHead, num } from '../components/Table';
import { useSession } from '../stores/session';
import { useSettings } from '../stores/settings';
import { Help } from '../help/Help';
import { SparsityPayoffPanel } from './evaluate/SparsityPayoff';
import type { DecodingSummary } from '../../worker/protocol';

export function EvaluateTab() {
  const s = useSettings();
  const model = useSession((x) => x.model);
  const busy = useSession((x) => x.job !== null);
  const gpu = useSession((x) => x.gpu);
  const evaluation = useResults((x) => x.evaluation);
  const generation = useResults((x) => x.generation);
  const modelRun = useResults((x) => x.modelRun);
  const structuredRun = useResults((x) => x.structuredRun);
  const disabled = !model || busy || gpu.state === 'unavailable' || !model.hasTokenizer;
  // A result measured before the latest run finished belongs to the earlier pruned model: marked, never passed off as the new one's.
  const prunedOlder = evaluation !== null && evaluation.pruned !== null && modelRun !== null && !measuredAfter(evaluation, modelRun);
  const structuredOlder = evaluation !== null && !!evaluation.structured && structuredRun !== null && evaluation.finishedAt < structuredRun.finishedAt;
  const genPrunedOlder = generation !== null && generation.pruned !== null && modelRun !== null && !measuredAfter(generation, modelRun);
  const genStructuredOlder = generation !== null && !!generation.structured && structuredRun !== null && generation.finishedAt < structuredRun.finishedAt;
  return (
    <div className="stack">
      {!modelRun && !structuredRun ? (
        <p className="hint panel-hint">No whole-model run yet: only the dense model will be measured. Press “Prune the whole model” to compare dense and pruned.</p>
      ) : null}
      <section className="panel">
        <h3>Perplexity on held-out text <Help topic="perplexity" /></h3>
        <div className="radio-row" role="radiogroup" aria-label="Evaluation text">
          <label>
            <input type="radio" name="eval-source" checked={s.evalSource === 'default'} onChange={() => s.set({ evalSource: 'default' })} /> Bundled <code>evaluation.txt</code>
          </label>
          <label>
            <input type="radio" name="eval-source" checked={s.evalSource === 'custom'} onChange={() => s.set({ evalSource: 'custom' })} /> My own text
          </label>
        </div>
        {s.evalSource === 'custom' ? (
          <textarea className="wide-text" rows={4} placeholder="Paste held-out text here." value={s.evalText} onChange={(e) => s.set({ evalText: e.target.value })} />
        ) : null}
        <div className="inline-form">
          <NumberField label="Window (tokens)" testId="eval-seqlen" value={s.evalSeqlen} min={2} max={model?.contextLength ?? 4096} onChange={(v) => s.set({ evalSeqlen: v })} />
          <NumberField label="At most (tokens)" testId="eval-max" value={s.evalMaxTokens} min={2} max={10_000_000} step={256} onChange={(v) => s.set({ evalMaxTokens: v })} />
          <button type="button" className="button" data-testid="run-eval" onClick={() => void evaluate()} disabled={disabled}>
            Measure perplexity
          </button>
        </div>
        {evaluation ? (
          <div className="ppl-cards" data-testid="ppl-result">
            <div className="ppl-card">
              <span className="ppl-label">dense</span>
              <span className="ppl-value" data-testid="ppl-dense">
                {evaluation.dense.toFixed(3)}
              </span>
            </div>
            {evaluation.pruned !== null || !evaluation.structured ? (
              <div className={`ppl-card${prunedOlder ? ' older' : ''}`} data-testid="ppl-pruned-card" data-older={prunedOlder} style={prunedOlder ? OLDER_STYLE : undefined}>
                {prunedOlder ? <OlderNote what="pruned model" /> : null}
                <span className="ppl-label">pruned {evaluation.prunedSettings ? `(${pruneRunLabel(evaluation.prunedSettings)})` : ''}</span>
                <span className="ppl-value" data-testid="ppl-pruned">
                  {evaluation.pruned === null ? '–' : evaluation.pruned.toFixed(3)}
                </span>
                {evaluation.pruned !== null ? <VsDense value={evaluation.pruned} dense={evaluation.dense} /> : null}
              </div>
            ) : null}
            {evaluation.structured ? (
              <div className={`ppl-card${structuredOlder ? ' older' : ''}`} data-older={structuredOlder} style={structuredOlder ? OLDER_STYLE : undefined}>
                {structuredOlder ? <OlderNote what="structured model" /> : null}
                <span className="ppl-label">structured {evaluation.structuredSettings ? `(${structuredRunLabel(evaluation.structuredSettings)})` : ''}</span>
                <span className="ppl-value" data-testid="ppl-structured">
                  {evaluation.structured.toFixed(3)}
                </span>
                <VsDense value={evaluation.structured} dense={evaluation.dense} />
              </div>
            ) : null}
            <p className="muted small">
              exp(mean next-token NLL) over {evaluation.windows} windows of {evaluation.seqlen} tokens ({evaluation.tokens.toLocaleString()} tokens) of {evaluationTextLabel(evaluation.textSource)}. Lower is better.
            </p>
          </div>
        ) : null}
      </section>
      <section className="panel">
        <h3>Greedy continuation <Help topic="generation" /></h3>
        <div className="inline-form">
          <label className="field grow">
            <span>Prompt</span>
            <input type="text" data-testid="prompt" value={s.prompt} onChange={(e) => s.set({ prompt: e.target.value })} />
          </label>
          <NumberField label="New tokens" testId="gen-tokens" value={s.genTokens} min={1} max={512} onChange={(v) => s.set({ genTokens: v })} />
          <button type="button" className="button" data-testid="run-generate" onClick={() => void generate()} disabled={disabled || !s.prompt.trim()}>
            Generate
          </button>
        </div>
        {generation ? (
          <div className={`generation${generation.pruned !== null && generation.structured ? ' three' : ''}`} data-testid="generation">
            <div>
              <h4>dense</h4>
              <p data-testid="gen-dense">
                <span className="prompt-text">{generation.prompt}</span>
                {generation.dense.startsWith(generation.prompt) ? generation.dense.slice(generation.prompt.length) : generation.dense}
              </p>
              <Decoding summary={generation.decoding?.dense} testId="gen-dense-speed" />
            </div>
            {generation.pruned !== null || !generation.structured ? (
              <div data-testid="gen-pruned-box" data-older={genPrunedOlder} style={genPrunedOlder ? OLDER_STYLE : undefined}>
                <h4>pruned</h4>
                {genPrunedOlder ? <OlderNote what="pruned model" /> : null}
                <p data-testid="gen-pruned">
                  {generation.pruned === null ? <span className="muted">No pruned model yet.</span> : <Continuation prompt={generation.prompt} text={generation.pruned} />}
                </p>
                <Decoding summary={generation.decoding?.sparse} testId="gen-pruned-speed" />
              </div>
            ) : null}
            {generation.structured ? (
              <div data-older={genStructuredOlder} style={genStructuredOlder ? OLDER_STYLE : undefined}>
                <h4>structured (smaller MLPs)</h4>
                {genStructuredOlder ? <OlderNote what="structured model" /> : null}
                <p data-testid="gen-structured">
                  <Continuation prompt={generation.prompt} text={generation.structured} />
                </p>
                <Decoding summary={generation.decoding?.structured} testId="gen-structured-speed" />
              </div>
            ) : null}
          </div>
        ) : null}
      </section>
      <SparsityPayoffPanel />
      <ModelRuns />
    </div>
  );
}

const OLDER_STYLE = { opacity: 0.75, borderStyle: 'dashed' } as const;

function OlderNote({ what }: { what: string }) {
  return (
    <span className="badge" data-testid="older-result" style={{ textTransform: 'none', background: '#fef3c7', color: '#92400e' }}>
      older run: from the {what} before the latest run; measure again
    </span>
  );
}

/** Every whole-model run of this model, newest first: the current one (its weights are the pruned model) and those it replaced. */
function ModelRuns() {
  const modelRun = useResults((x) => x.modelRun);
  const history = useResults((x) => x.modelHistory);
  const evaluation = useResults((x) => x.evaluation);
  if (!modelRun || !history.length) return null;
  const current = {
    settings: modelRun.settings,
    layers: modelRun.report.length,
    meanError: meanError(modelRun.report),
    ms: modelRun.ms,
    perplexity: evaluation && evaluation.pruned !== null && measuredAfter(evaluation, modelRun) ? { pruned: evaluation.pruned, dense: evaluation.dense } : null,
  };
  const rows = [{ ...current, older: false }, ...[...history].reverse().map((r) => ({ ...r, older: true }))];
  return (
    <section className="panel" data-testid="model-runs">
      <h3>
        Whole-model runs <span className="muted">(newest first; only the newest one's weights are kept, so older ones cannot be measured again)</span>
      </h3>
      <table className="table" data-testid="model-runs-table">
        <TableHead columns={['run', 'method and pattern', num('mean rel. error'), num('layers'), num('time'), num('perplexity'), num('vs dense')]} />
        <tbody>
          {rows.map((r, i) => (
            <tr key={i} data-testid="model-run-row" data-older={r.older}>
              <td>{r.older ? <span className="muted">older</span> : <strong>current</strong>}</td>
              <td>{pruneRunLabel(r.settings)}</td>
              <td className="num">{formatSci(r.meanError, 4)}</td>
              <td className="num">{r.layers}</td>
              <td className="num">{formatMs(r.ms)}</td>
              <td className="num">{r.perplexity ? r.perplexity.pruned.toFixed(3) : '–'}</td>
              <td className="num">{r.perplexity ? `${r.perplexity.pruned >= r.perplexity.dense ? '+' : ''}${formatPercent(r.perplexity.pruned / r.perplexity.dense - 1)}` : '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function VsDense({ value, dense }: { value: number; dense: number }) {
  return (
    <span className="muted">
      {value >= dense ? '+' : ''}
      {formatPercent(value / dense - 1)} vs dense
    </span>
  );
}

/** The prompt, marked, then what the model added. */
const KERNEL_NAMES: Record<string, string> = { dense: 'dense', nm: 'N:M', csr: 'CSR', bitmask: 'bitmask' };

/** How a continuation was decoded: its speed, and for the pruned model which kernel each linear used. */
function Decoding({ summary, testId }: { summary: DecodingSummary | undefined; testId: string }) {
  if (!summary) return null;
  const counts = summary.kernelCounts
    ? ` (${Object.entries(summary.kernelCounts)
        .map(([k, n]) => `${n} ${KERNEL_NAMES[k] ?? k}`)
        .join(', ')})`
    : '';
  return (
    <div className="muted" style={{ fontSize: '0.85em', marginTop: 4 }} data-testid={testId}>
      {summary.tokensPerSecond.toFixed(1)} new tokens/s, {summary.kernels} kernels{counts}
    </div>
  );
}

function Continuation({ prompt, text }: { prompt: string; text: string }) {
  return (
    <>
      <span className="prompt-text">{prompt}</span>
      {text.startsWith(prompt) ? text.slice(prompt.length) : text}
    </>
  );
}
