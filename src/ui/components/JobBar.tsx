/**
 * The running job: what it does, layer i of L (block b of B), iteration, elapsed time and the time
 * left; pause, resume, cancel. With no job running, a whole-model run stopped with blocks saved in
 * this browser (a reload, a cancel) is offered here to continue or discard.
 */
import { useEffect, useRef, useState } from 'react';
import { cancel, pause, resume } from '../actions';
import { formatBytes, formatMs, formatSci, shortLayer } from '../format';
import { continueModelRun, discardModelRun, refreshUnfinished } from '../longRunActions';
import { methodLabel } from '../../shared/methods';
import { patternLabel } from '../../shared/pattern';
import { useLongRun } from '../stores/longRun';
import { VARIANT_NAME } from '../labels';
import { useLive } from '../stores/live';
import { jobElapsed, useSession } from '../stores/session';
import { EndCard } from '../run/EndCard';

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
  const saved = useLongRun((s) => s.saved);
  const fingerprint = useSession((s) => s.model?.fingerprint ?? null);
  const jobsFinished = useSession((s) => s.jobsFinished);
  const [, setTick] = useState(0);
  // The clock only goes forward within a job (a continued run's earlier time arrives with its first
  // progress) and starts from 0 for each job.
  const shown = useRef({ jobId: 0, ms: 0 });
  const ticking = job !== null && !job.paused;
  // Re-rendered 4× a second while a job runs (keyed on running, not on the job: its progress events come faster than that); a paused clock stands still.
  useEffect(() => {
    if (!ticking) return;
    const t = setInterval(() => setTick((n) => n + 1), 250);
    return () => clearInterval(t);
  }, [ticking]);
  useEffect(() => {
    // A loaded model or an ended job may have left (or removed) a stopped run.
    void refreshUnfinished();
    useLongRun.getState().setSaved(null);
  }, [fingerprint, jobsFinished]);
  if (!job) {
    return (
      <>
        <UnfinishedRunOffer />
        <EndCard />
      </>
    );
  }
  const p = job.progress;
  const now = Date.now();
  if (shown.current.jobId !== job.id) shown.current = { jobId: job.id, ms: 0 };
  shown.current.ms = Math.max(shown.current.ms, jobElapsed(job, now));
  const elapsed = shown.current.ms;
  // Counted down between layers; a paused run's time left stays where it was.
  const left = p?.etaMs !== undefined && p.at !== undefined ? Math.max(0, p.etaMs - (job.paused ? 0 : Math.max(0, now - p.at))) : null;
  const last = iterations[iterations.length - 1];
  const pruning = job.kind === 'pruneLayer' || job.kind === 'compareLayer' || job.kind === 'pruneModel' || job.kind === 'pruneStructured';
  // Writing files is short and cannot stop half-way; everything else checks for cancellation.
  const cancellable = job.kind !== 'exportModel' && job.kind !== 'exportLayerProblem';
  const fraction = p?.layerCount ? (p.layerIndex ?? 0) / p.layerCount : null;
  let step = '';
  if (p?.stage === 'solving' && p.layerCount !== undefined && p.layerIndex !== undefined) {
    step =
      job.kind === 'pruneModel'
        ? `Layer ${p.layerIndex + 1} of ${p.layerCount}${p.blockCount ? ` · block ${Math.min(p.blockCount, (p.blocksDone ?? 0) + 1)} of ${p.blockCount}` : ''}`
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
        <span className="muted" data-testid="job-elapsed" data-ms={Math.round(elapsed)}>
          {formatMs(elapsed)} elapsed{job.paused ? ' (clock stopped while paused)' : ''}
        </span>
        {job.kind === 'pruneModel' && p?.layersDone !== undefined ? (
          <span className="muted" data-testid="job-eta">
            {p.layersDone} of {p.layerCount} layers done · {left === null ? 'estimating the time left' : `about ${formatMs(left)} left`}
            {saved && saved.blocks > 0 ? ` · ${saved.blocks} of ${saved.of} blocks saved in this browser (${formatBytes(saved.bytes)})` : ''}
          </span>
        ) : null}
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

/** The stopped whole-model run with blocks saved in this browser: continue it, or discard it. */
function UnfinishedRunOffer() {
  const info = useLongRun((s) => s.unfinished);
  if (!info) return null;
  const what = `${methodLabel(info.settings.method)}, ${patternLabel(info.settings.pattern)}, ${info.calibration.nsamples} × ${info.calibration.seqlen} calibration tokens`;
  return (
    <div className="job-bar paused" data-testid="unfinished-run" role="status">
      <div className="job-text">
        <strong data-testid="unfinished-text">
          Whole-model run stopped after block {info.blocksDone} of {info.blocks}
        </strong>
        <span>
          {what} · {info.layersDone} of {info.layerCount} layers saved in this browser, {formatMs(info.ms)} of work. Continue solves only the rest; a run with other settings replaces it.
        </span>
      </div>
      <div className="job-buttons">
        <button type="button" className="button small" data-testid="continue-run" onClick={() => void continueModelRun()}>
          Continue
        </button>
        <button type="button" className="button small danger" data-testid="discard-run" onClick={() => void discardModelRun()}>
          Discard
        </button>
      </div>
    </div>
  );
}
