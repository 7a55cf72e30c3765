/** The engine's state as the UI shows it: GPU, loaded model, the running job, banners, open tab. */
import { create } from 'zustand';
import type { AdapterSummary, ModelSummary, Variant } from '../../worker/protocol';

export type JobKind = 'pruneLayer' | 'compareLayer' | 'pruneModel' | 'pruneStructured' | 'evaluate' | 'generate' | 'exportLayerProblem' | 'exportModel';

export interface Progress {
  stage: string;
  layerIndex?: number;
  layerCount?: number;
  layer?: string;
  method?: string;
  /** Evaluation and generation: which model runs. */
  variant?: Variant;
  /** Whole-model runs: the earlier attempts' time (a continued run), layers and blocks done, time left. */
  earlierMs?: number;
  layersDone?: number;
  blocksDone?: number;
  blockCount?: number;
  etaMs?: number;
  /** When the UI received it (Date.now()), to count the ETA down between events. */
  at?: number;
}

export interface Job {
  /** Counts jobs since the page loaded: each job's clock starts at 0. */
  id: number;
  kind: JobKind;
  label: string;
  startedAt: number;
  paused: boolean;
  /** When the current pause began (Date.now()), and the time spent paused before it: the clock leaves pauses out. */
  pausedAt: number | null;
  pausedMs: number;
  /** Set once cancel was asked for, until the worker confirms. */
  cancelling: boolean;
  progress: Progress | null;
}

export interface Banner {
  id: number;
  kind: 'error' | 'info';
  title: string;
  message: string;
}

export type Tab = 'overview' | 'live' | 'layers' | 'channels' | 'compare' | 'evaluate' | 'download';

export type GpuStatus = { state: 'checking' } | { state: 'ready'; adapter: AdapterSummary } | { state: 'unavailable'; message: string };

interface SessionStore {
  gpu: GpuStatus;
  model: ModelSummary | null;
  /** What is being loaded right now (a name), or null. */
  loading: string | null;
  job: Job | null;
  /** Jobs finished since the page loaded (end-to-end tests read it to tell a job that already ended from one not started). */
  jobsFinished: number;
  banners: Banner[];
  tab: Tab;
  setGpu(gpu: GpuStatus): void;
  setModel(model: ModelSummary | null): void;
  setLoading(loading: string | null): void;
  startJob(kind: JobKind, label: string): void;
  updateJob(patch: Partial<Job>): void;
  endJob(): void;
  addBanner(kind: Banner['kind'], title: string, message: string): void;
  dismissBanner(id: number): void;
  setTab(tab: Tab): void;
}

/**
 * The job's working time (ms) at `now`: a continued run's earlier attempts plus this job's time
 * since it started, pauses left out. Never negative, whatever the clocks say.
 */
export function jobElapsed(job: Job, now = Date.now()): number {
  const earlier = Math.max(0, job.progress?.earlierMs ?? 0);
  return earlier + Math.max(0, (job.pausedAt ?? now) - job.startedAt - job.pausedMs);
}

/** The paused flag with the pause bookkeeping: entering a pause notes when, leaving it adds its length. */
function withPause(job: Job, paused: boolean, now: number): Pick<Job, 'paused' | 'pausedAt' | 'pausedMs'> {
  if (paused === job.paused) return { paused, pausedAt: job.pausedAt, pausedMs: job.pausedMs };
  if (paused) return { paused, pausedAt: now, pausedMs: job.pausedMs };
  return { paused, pausedAt: null, pausedMs: job.pausedMs + Math.max(0, now - (job.pausedAt ?? now)) };
}

let jobId = 0;
let bannerId = 1;
const INFO_BANNER_MS = 12_000;

export const useSession = create<SessionStore>((set) => ({
  gpu: { state: 'checking' },
  model: null,
  loading: null,
  job: null,
  jobsFinished: 0,
  banners: [],
  tab: 'overview',
  setGpu: (gpu) => set({ gpu }),
  setModel: (model) => set({ model }),
  setLoading: (loading) => set({ loading }),
  startJob: (kind, label) => set({ job: { id: ++jobId, kind, label, startedAt: Date.now(), paused: false, pausedAt: null, pausedMs: 0, cancelling: false, progress: null } }),
  updateJob: (patch) =>
    set((s) => {
      if (!s.job) return {};
      const pause = patch.paused === undefined ? {} : withPause(s.job, patch.paused, Date.now());
      return { job: { ...s.job, ...patch, ...pause } };
    }),
  endJob: () => set((s) => ({ job: null, jobsFinished: s.jobsFinished + (s.job ? 1 : 0) })),
  addBanner: (kind, title, message) =>
    set((s) => {
      // The same message twice in a row would only add noise.
      const last = s.banners[s.banners.length - 1];
      if (last && last.title === title && last.message === message) return {};
      const id = bannerId++;
      // Notices go away by themselves; errors stay until dismissed.
      if (kind === 'info') setTimeout(() => useSession.getState().dismissBanner(id), INFO_BANNER_MS);
      return { banners: [...s.banners.slice(-3), { id, kind, title, message }] };
    }),
  dismissBanner: (id) => set((s) => ({ banners: s.banners.filter((b) => b.id !== id) })),
  setTab: (tab) => set({ tab }),
}));
