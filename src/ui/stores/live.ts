/**
 * Telemetry of the layer being solved right now. The worker sends one event per ADMM iteration
 * (hundreds per second on a fast GPU); they are buffered here and committed to the store at most
 * ~10 times a second, so the charts re-render at a readable, affordable rate.
 */
import { create } from 'zustand';
import type { ChannelSelection, Method } from '../../shared/methods';
import type { RunKind } from '../../shared/outcome';
import type { AlpsIteration, PcgStep, SpapStep, SwapRound } from '../../shared/telemetry';

export interface LiveState {
  layer: string | null;
  method: Method | null;
  run: RunKind | null;
  phase: string | null;
  iterations: AlpsIteration[];
  pcg: PcgStep[];
  /** Set while a structured run's block is the live one (then `method` is null and the ALPS arrays stay empty). */
  block: { index: number; blocks: number; channels: number; selection: ChannelSelection } | null;
  spapSteps: SpapStep[];
  /** Rounds of the swap refinement after the method (empty when it is off or has not started). */
  swaps: SwapRound[];
  /** Incremented on every commit (tests and charts use it to see fresh data). */
  version: number;
  /** The job these charts belong to and how it ended, so curves are never mistaken for a newer run's; null when empty. */
  owner: LiveOwner | null;
}

export interface LiveOwner {
  jobId: number;
  label: string;
  status: 'running' | 'finished' | 'cancelled' | 'failed';
}

const EMPTY: LiveState = { layer: null, method: null, run: null, phase: null, iterations: [], pcg: [], block: null, spapSteps: [], swaps: [], version: 0, owner: null };

export const useLive = create<LiveState>(() => EMPTY);

export const FLUSH_MS = 100;

let pendingIterations: AlpsIteration[] = [];
let pendingPcg: PcgStep[] = [];
let pendingPhase: string | null = null;
let pendingSteps: SpapStep[] = [];
let pendingSwaps: SwapRound[] = [];
let timer: ReturnType<typeof setTimeout> | null = null;

function flush(): void {
  timer = null;
  if (!pendingIterations.length && !pendingPcg.length && !pendingSteps.length && !pendingSwaps.length && pendingPhase === null) return;
  const s = useLive.getState();
  useLive.setState({
    iterations: pendingIterations.length ? [...s.iterations, ...pendingIterations] : s.iterations,
    pcg: pendingPcg.length ? [...s.pcg, ...pendingPcg] : s.pcg,
    spapSteps: pendingSteps.length ? [...s.spapSteps, ...pendingSteps] : s.spapSteps,
    swaps: pendingSwaps.length ? [...s.swaps, ...pendingSwaps] : s.swaps,
    phase: pendingPhase ?? s.phase,
    version: s.version + 1,
  });
  dropPending();
}

/** Drops what is buffered and not yet committed (a new layer or block starts). */
function dropPending(): void {
  if (timer) clearTimeout(timer);
  timer = null;
  pendingIterations = [];
  pendingPcg = [];
  pendingSteps = [];
  pendingSwaps = [];
  pendingPhase = null;
}

function schedule(): void {
  timer ??= setTimeout(flush, FLUSH_MS);
}

export const live = {
  /** A new layer/method starts: clear the charts (committed at once, so old curves never mix in). */
  start(layer: string, method: Method, run: RunKind): void {
    dropPending();
    useLive.setState((s) => ({ layer, method, run, phase: 'solving', iterations: [], pcg: [], block: null, spapSteps: [], swaps: [], version: s.version + 1 }));
  },
  /** A structured run's block starts its channel selection. */
  startBlock(layer: string, block: LiveState['block']): void {
    dropPending();
    useLive.setState((s) => ({ layer, method: null, run: 'model', phase: 'selecting', iterations: [], pcg: [], block, spapSteps: [], swaps: [], version: s.version + 1 }));
  },
  spapStep(data: SpapStep): void {
    pendingSteps.push(data);
    schedule();
  },
  iteration(data: AlpsIteration): void {
    pendingIterations.push(data);
    schedule();
  },
  pcg(data: PcgStep): void {
    pendingPcg.push(data);
    schedule();
  },
  swaps(data: SwapRound): void {
    pendingSwaps.push(data);
    schedule();
  },
  phase(phase: string): void {
    pendingPhase = phase;
    schedule();
  },
  /** A new run starts (`owner` set) or another model loaded (null): the charts are emptied at once. */
  clear(owner: LiveOwner | null): void {
    dropPending();
    useLive.setState((s) => ({ ...EMPTY, owner, version: s.version + 1 }));
  },
  /** The run that owns the charts ended: they stay, labelled with how it ended. */
  ended(jobId: number, status: LiveOwner['status']): void {
    const owner = useLive.getState().owner;
    if (owner?.jobId === jobId) useLive.setState((s) => ({ owner: { ...owner, status }, version: s.version + 1 }));
  },
  /** Commit whatever is buffered (end of a run). */
  flushNow(): void {
    if (timer) clearTimeout(timer);
    flush();
  },
};
