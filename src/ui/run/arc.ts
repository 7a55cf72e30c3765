/**
 * The arc of a run as the person sees it: a start that empties the live charts and names the job,
 * and an end card (finished with its numbers, or cancelled with what was kept). The actions call
 * these around each job; the card itself is EndCard.tsx.
 */
import { create } from 'zustand';
import type { LayerOutcome } from '../../shared/outcome';
import { live } from '../stores/live';
import { jobElapsed, useSession, type JobKind } from '../stores/session';

/** Jobs whose telemetry fills the Live tab: a new one empties it. */
const LIVE_KINDS = new Set<JobKind>(['pruneLayer', 'compareLayer', 'pruneModel', 'pruneStructured']);

export interface RunEnd {
  jobId: number;
  kind: JobKind;
  status: 'finished' | 'cancelled';
  label: string;
  /** The job's working time, pauses left out. */
  ms: number;
  /** When the job started (Date.now()): results finished since belong to it. */
  startedAt: number;
  /** A finished single-layer run's result. */
  outcome?: LayerOutcome;
}

interface RunEndStore {
  end: RunEnd | null;
  dismiss(): void;
}

export const useRunEnd = create<RunEndStore>((set) => ({
  end: null,
  dismiss: () => set({ end: null }),
}));

/** The job that just ended, as the end card needs it (read before the session forgets the job). */
let ending: Pick<RunEnd, 'jobId' | 'kind' | 'label' | 'ms' | 'startedAt'> | null = null;

function noteJob(): void {
  const job = useSession.getState().job;
  if (job) ending = { jobId: job.id, kind: job.kind, label: job.label, ms: jobElapsed(job), startedAt: job.startedAt };
}

/** A job started: the last card goes; a pruning job empties the live charts and owns them. */
export function runStarted(): void {
  const job = useSession.getState().job;
  if (!job) return;
  ending = null;
  if (!LIVE_KINDS.has(job.kind)) return;
  useRunEnd.setState({ end: null });
  live.clear({ jobId: job.id, label: job.label, status: 'running' });
}

/** The running job is about to end (its result, if any, follows with runFinished). */
export function runEnding(failure: string | null): void {
  noteJob();
  const job = useSession.getState().job;
  if (!job) return;
  if (failure === 'CancelledError') {
    live.ended(job.id, 'cancelled');
    if (LIVE_KINDS.has(job.kind)) useRunEnd.setState({ end: { ...ending!, status: 'cancelled' } });
  } else live.ended(job.id, failure ? 'failed' : 'finished');
}

/** A pruning job finished: its card, with what the job's own result adds (a layer run's outcome). */
export function runFinished(extra: Pick<RunEnd, 'outcome'> = {}): void {
  if (!ending || !LIVE_KINDS.has(ending.kind)) return;
  useRunEnd.setState({ end: { ...ending, status: 'finished', ...extra } });
}

/** Another model loaded: nothing shown belongs to it. */
export function modelChanged(): void {
  useRunEnd.setState({ end: null });
  live.clear(null);
  // Notices about the previous model's runs ("Run cancelled") go too; errors stay until dismissed.
  useSession.setState((s) => ({ banners: s.banners.filter((b) => b.kind === 'error') }));
}
