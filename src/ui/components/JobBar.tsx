/** The running job: what it does, layer i of L, iteration, elapsed time; pause, resume, cancel. */
import { useEffect, useState } from 'react';
import { cancel, pause, resume } from '../actions';
import { formatMs, formatSci, shortLayer } from '../format';
import { methodLabel } from '../../shared/methods';
import { VARIANT_NAME } from '../labels';
import { useLive } from '../stores/live';
import { useSession } from '../stores/session';

const STAGE: Record<string, string> = {
  calibrating: 'Running the calibration text through the dense model',
  solving: 'Solving',
  evaluating: 'Measuring perplexity',
  generating: 'Generating',
  exporting: 'Writing files',
};

export function JobBar() {
  const job = useSession((s) => s.job);
  const iterations = useLive((s) => s.iterations);
  const pcg = useLive((s) => s.pcg);
  const phase = useLive((s) => s.phase);
  const spapSteps = useLive((s) => s.spapSteps);
  const block = useLive((s) => s.block);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!job) return;
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, [job]);
  if (!job) return null;
  const p = job.progress;
  const last = iterations[iterations.length - 1];
  const pruning = job.kind === 'pruneLayer' || job.kind === 'compareLayer' || job.kind === 'pruneModel' || job.kind === 'pruneStructured';
  // Writing files is short and cannot stop half-way; everything else checks for cancellation.
  const cancellable = job.kind !== 'exportModel' && job.kind !== 'exportLayerProblem';
  const fraction = p?.layerCount ? (p.layerIndex ?? 0) / p.layerCount : null;
  let step = '';
  if (p?.stage === 'solving' && p.layerCount !== undefined && p.layerIndex !== undefined) {
    step =
      job.kind === 'pruneModel'
        ? `Layer ${p.layerIndex + 1} of ${p.layerCount}`
        : job.kind === 'pruneStructured'
          ? `Block ${p.layerIndex + 1} of ${p.layerCount}`
          : job.kind === 'compareLayer'
            ? `Method ${p.layerIndex + 1} of ${p.layerCount}`
            : '';
  } else if (p?.stage === 'evaluating' && p.layerCount) {
    step = `${p.variant ? VARIANT_NAME[p.variant] : ''}: window ${p.layerIndex} of ${p.layerCount}`;
  }
  const detail: string[] = [];
  if (job.kind === 'pruneStructured' && p?.stage === 'solving') {
    const last = spapSteps[spapSteps.length - 1];
    if (p.layer) detail.push(`${shortLayer(p.layer)}${block ? ` · ${methodLabel(block.selection)}` : ''}`);
    if (last) detail.push(`penalty step ${last.step} · ρ ${formatSci(last.rho, 2)}`);
  } else if (pruning && p?.stage === 'solving') {
    if (p.layer) detail.push(`${shortLayer(p.layer)}${p.method ? ` · ${methodLabel(p.method)}` : ''}`);
    if (phase === 'pcg' && pcg.length) detail.push(`PCG step ${pcg[pcg.length - 1].step}`);
    else if (last) detail.push(`iteration ${last.iter}`);
  }
  return (
    <div className={`job-bar${job.paused ? ' paused' : ''}`} data-testid="job-bar" role="status">
      <div className="job-text">
        <strong>{job.label}</strong>
        <span data-testid="job-progress">
          {[job.paused ? 'Paused' : p ? STAGE[p.stage] ?? p.stage : 'Starting', step, ...detail].filter(Boolean).join(' · ')}
        </span>
        <span className="muted" data-testid="job-elapsed">
          {formatMs(now - job.startedAt)} elapsed
        </span>
      </div>
      {fraction !== null ? (
        <div className="job-meter" aria-hidden>
          <div style={{ width: `${Math.round(fraction * 100)}%` }} />
        </div>
      ) : null}
      <div className="job-buttons">
        {pruning ? (
          job.paused ? (
            <button type="button" className="button small" data-testid="resume" onClick={() => void resume()}>
              Resume
            </button>
          ) : (
            <button type="button" className="button small secondary" data-testid="pause" onClick={() => void pause()}>
              Pause
            </button>
          )
        ) : null}
        {cancellable ? (
          <button type="button" className="button small danger" data-testid="cancel" onClick={() => void cancel()} disabled={job.cancelling}>
            {job.cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        ) : null}
      </div>
    </div>
  );
}
