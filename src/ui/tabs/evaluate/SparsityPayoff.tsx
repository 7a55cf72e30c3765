/**
 * "What this sparsity buys here" (Evaluate tab): the run's bytes on disk dense vs compact, the
 * download size, the parameters, and greedy decode speed measured on this adapter with the dense
 * and the sparse kernels — every number measured or counted in the worker, none estimated.
 */
import { formatBytes, formatCount } from '../../format';
import { measuredAfter, useResults } from '../../stores/results';
import { useSession } from '../../stores/session';
import { TableHead, num } from '../../components/Table';
import type { SparsityPayoff as Payoff } from '../../../worker/protocol';
import { measurePayoff, usePayoff } from './payoffActions';

/** Which runtimes accelerate which format today (checked against their trackers; docs/compact.md has the sources). */
export const RUNTIMES_TODAY =
  '2:4 is accelerated on NVIDIA GPUs with sparse tensor cores (Ampere and later) through cuSPARSELt or CUTLASS, e.g. PyTorch’s to_sparse_semi_structured; ' +
  'vLLM removed its 2:4 (Sparse24) compressed-tensors kernels in 2026 (vllm-project/vllm#36799). Unstructured sparsity saves disk and download through ' +
  'compressed-tensors’ sparse-bitmask, but loaders decompress it to dense. In this browser the only sparse kernels are this studio’s WGSL ones: the speed above is theirs.';

const ratio = (a: number, b: number): string => `${(a / b).toFixed(3)}×`;

export function SparsityPayoffPanel() {
  const busy = useSession((s) => s.job !== null);
  const gpu = useSession((s) => s.gpu);
  const modelRun = useResults((s) => s.modelRun);
  const structuredRun = useResults((s) => s.structuredRun);
  const payoff = usePayoff((s) => s.payoff);
  const which = modelRun ? 'sparse' : structuredRun ? 'structured' : null;
  const run = which === 'sparse' ? modelRun : structuredRun;
  const older = payoff !== null && run !== null && (payoff.which !== which || !measuredAfter(payoff, run));
  return (
    <section className="panel" data-testid="payoff-panel">
      <h3>What this sparsity buys here</h3>
      {which === null ? (
        <p className="muted">Prune the whole model first: this measures its files, parameters and decode speed against the dense model’s.</p>
      ) : (
        <>
          <div className="button-row">
            <button type="button" className="button" data-testid="payoff-speed" onClick={() => void measurePayoff(which, true)} disabled={busy || gpu.state === 'unavailable'}>
              Measure bytes and speed
            </button>
            <button type="button" className="button secondary" data-testid="payoff-bytes" onClick={() => void measurePayoff(which, false)} disabled={busy}>
              Count bytes only
            </button>
          </div>
          {payoff ? <PayoffTable payoff={payoff} older={older} /> : null}
        </>
      )}
      <p className="muted small" data-testid="payoff-runtimes">{RUNTIMES_TODAY}</p>
    </section>
  );
}

function PayoffTable({ payoff, older }: { payoff: Payoff; older: boolean }) {
  const { dense, compact, packed, parameters, speed } = payoff;
  const structured = payoff.which === 'structured';
  return (
    <div data-testid="payoff-result" data-older={older} style={older ? { opacity: 0.75 } : undefined}>
      {older ? <p className="hint">Measured before the latest run: measure again.</p> : null}
      <table className="table" data-testid="payoff-table">
        <TableHead columns={['', num(structured ? 'original' : 'dense export'), num(structured ? 'smaller model' : 'compact export'), num('ratio')]} />
        <tbody>
          <tr data-testid="payoff-weights">
            <td>weights on disk</td>
            <td className="num">{structured ? '–' : formatBytes(dense.weights)}</td>
            <td className="num">{structured ? formatBytes(dense.weights) : compact ? formatBytes(compact.weights) : '–'}</td>
            <td className="num">{!structured && compact ? ratio(compact.weights, dense.weights) : '–'}</td>
          </tr>
          <tr data-testid="payoff-download">
            <td>download (all files)</td>
            <td className="num">{structured ? '–' : formatBytes(dense.download)}</td>
            <td className="num">{structured ? formatBytes(dense.download) : compact ? formatBytes(compact.download) : '–'}</td>
            <td className="num">{!structured && compact ? ratio(compact.download, dense.download) : '–'}</td>
          </tr>
          {!structured && packed ? (
            <tr data-testid="payoff-packed">
              <td>compact and packed: weights / download</td>
              <td className="num">{formatBytes(dense.weights)} / {formatBytes(dense.download)}</td>
              <td className="num">
                {formatBytes(packed.weights)} / {formatBytes(packed.download)}
              </td>
              <td className="num">
                {ratio(packed.weights, dense.weights)} / {ratio(packed.download, dense.download)}
              </td>
            </tr>
          ) : null}
          <tr data-testid="payoff-parameters">
            <td>{structured ? 'parameters' : 'parameters (non-zero)'}</td>
            <td className="num">{formatCount(structured ? (parameters.before ?? parameters.total) : parameters.total)}</td>
            <td className="num">{formatCount(parameters.nonzero)}</td>
            <td className="num">{ratio(parameters.nonzero, structured ? (parameters.before ?? parameters.total) : parameters.total)}</td>
          </tr>
          {speed ? (
            <tr data-testid="payoff-speed-row">
              <td>decode tokens/s ({speed.baseline.label} → {speed.candidate.label})</td>
              <td className="num">{speed.baseline.tokensPerSecond.toFixed(1)}</td>
              <td className="num">{speed.candidate.tokensPerSecond.toFixed(1)}</td>
              <td className="num">{ratio(speed.candidate.tokensPerSecond, speed.baseline.tokensPerSecond)}</td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <p className="muted small">
        {compact
          ? `The compact export stores ${compact.compressed} of ${compact.linears} linear weights as ${compact.format} (values plus a bitmask); it loads back to the same weights. `
          : structured
            ? 'A structured run’s files are dense and smaller; there is nothing sparse to compress. '
            : 'No weight is sparse enough for the compact layout to store fewer bytes. '}
        {speed
          ? `${speed.tokens} greedy tokens on ${speed.adapter}, timed by ${speed.timing === 'gpu-timestamps' ? 'GPU timestamps' : 'wall clock'}; ` +
            `${structured ? 'tokens differ by design' : speed.sameTokens ? 'identical tokens with both kernels' : 'the tokens differ between the kernels'}. Kernels chosen per linear: ${Object.entries(speed.kernels).map(([k, n]) => `${k} ${n}`).join(', ') || '–'}.`
          : 'Speed not measured (“Measure bytes and speed” runs both generations).'}
      </p>
    </div>
  );
}
