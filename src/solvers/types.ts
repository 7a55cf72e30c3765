/**
 * The solvers' own types: what a solve takes and returns. The layer problem, patterns, methods,
 * their options and the telemetry are pure data in src/shared.
 */
import type { GpuTensor } from '../gpu/runtime';
import type { AlpsOptions, Method } from '../shared/methods';
import type { RunControl } from '../shared/control';
import type { LayerHealth } from '../shared/health';
import type { Pattern } from '../shared/pattern';
import type { AlpsIteration, PcgStep, SolverEvent, SwapRound } from '../shared/telemetry';
import type { SupportFrameOptions } from './supportFrames';

export interface SparseGptOptions {
  /** Columns per block (the lazy-update width); the paper and reference use 128. */
  blockSize: number;
  /** Damping fraction of mean(diag G) (the reference's percdamp). */
  damping: number;
}

export interface SolveOptions {
  alps?: Partial<AlpsOptions>;
  /** SparseGPT's block width and damping; the damping falls back to alps.damping, the studio's one damping setting. */
  sparsegpt?: Partial<SparseGptOptions>;
  onEvent?: (event: SolverEvent) => void;
  /** Pause and cancel, checked between iterations. */
  control?: RunControl;
  /** Local search after the method (docs/algorithms.md, "Local search"); absent: none. */
  refine?: RefineOptions;
  /** ALPS: frames of the support at each ρ update (the studio's single-layer runs); absent: none. */
  supportFrames?: SupportFrameOptions;
}

/** Swap moves after a method, then the refit on the final support. */
export interface RefineOptions {
  /** At most this many rounds; a round makes at most one swap per output row. */
  swaps: number;
  /** Stop starting new rounds after this many milliseconds. */
  ms?: number;
  /** Refit the weights on the final support (default true). */
  refit?: boolean;
}

/** What the local search did to a method's result. */
export interface RefineReport {
  /** The method's relative error, before any swap. */
  relErrorBefore: number;
  /** After the last swap, before the refit. */
  relErrorAfterSwaps: number;
  /** After the refit (the result's relError). */
  relError: number;
  /** Swaps accepted over all rows. */
  swaps: number;
  rounds: number;
  /** Whether the refit was kept (it is dropped when it does not lower the undamped objective). */
  refit: boolean;
  ms: number;
  history: SwapRound[];
}

/** What a method's solve hands back: the pruned weight, still on the GPU, and its numbers. */
export interface SolverOutput {
  /** Pruned W, [m, n]; the caller owns it. */
  weight: GpuTensor;
  /** f(W) / tr(W0 G W0ᵀ) with the undamped gram. */
  relError: number;
  /** Relative error before the PCG refit (ALPS only; equals relError otherwise). */
  relErrorBeforeRefit: number;
  iterations: number;
  history: AlpsIteration[];
  pcg: PcgStep[];
  /** Present when SolveOptions.refine asked for local search. */
  refinement?: RefineReport;
}

/** A solve's result once read back: the pruned weight on the host, its nonzeros and time. */
export interface SolveResult extends Omit<SolverOutput, 'weight'> {
  method: Method;
  pattern: Pattern;
  /** Pruned weight, row-major [m, n]. */
  weight: Float32Array;
  nnz: number;
  ms: number;
  /** The gram's numerical health; solveLayer always sets it. */
  health?: LayerHealth;
}
