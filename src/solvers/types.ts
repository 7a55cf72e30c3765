/** The layer problem every solver shares: W0 (m×n, nn.Linear layout) and the gram G = XᵀX (n×n). */
export interface LayerProblem {
  /** Outputs (rows of W). */
  m: number;
  /** Inputs (columns of W, side of the gram). */
  n: number;
  /** Dense weight W0, row-major [m, n]. */
  weight: Float32Array;
  /** Gram XᵀX, row-major [n, n], summed over calibration rows (not averaged). */
  gram: Float32Array;
  /** Number of calibration rows N behind the gram, when known. */
  rows?: number;
  /** Free-form provenance (model, layer) carried in the problem file's metadata. */
  meta?: Record<string, string>;
}

export type Method = 'alps' | 'sparsegpt' | 'wanda' | 'magnitude';
export const METHODS: readonly Method[] = ['alps', 'sparsegpt', 'wanda', 'magnitude'];

/** Unstructured: keep k = round((1−s)·m·n) of the layer. N:M: N of every M consecutive inputs per row. */
export type Pattern = { kind: 'unstructured'; sparsity: number } | { kind: 'nm'; n: number; m: number };

export interface AlpsOptions {
  /** Initial penalty ρ₀. */
  rho0: number;
  /** Iteration cap. */
  maxIterations: number;
  /** ρ is updated (and support change checked) every `updateEvery` iterations. */
  updateEvery: number;
  /** PCG refit steps. */
  pcgSteps: number;
  /** PCG stops when every column's masked residual ≤ pcgTol · ‖Y_j‖. */
  pcgTol: number;
  /** Damping fraction of mean(diag G). */
  damping: number;
  /** Minimum iterations before the convergence stop may fire. */
  minIterations: number;
  /** Stop once support change / k falls below this (after minIterations). */
  stopFraction: number;
  /** Upper bound on ρ. */
  rhoMax: number;
}

export const DEFAULT_ALPS: AlpsOptions = {
  rho0: 0.1,
  maxIterations: 300,
  updateEvery: 3,
  pcgSteps: 10,
  pcgTol: 1e-4,
  damping: 0.01,
  minIterations: 30,
  stopFraction: 3e-4,
  rhoMax: 1e6,
};

/** One ADMM iteration, as the studio charts it. */
export interface AlpsIteration {
  iter: number;
  rho: number;
  /** Entries whose zero/nonzero status changed since the previous check (only on check iterations, else null). */
  supportChange: number | null;
  /** supportChange / k. */
  supportChangeFraction: number | null;
  /** Relative reconstruction error f(P_k(B)) / tr(W0 G W0ᵀ). */
  relError: number;
  /** ‖B − D‖_F / ‖B‖_F. */
  primalResidual: number;
  /** True when this iteration restarted from B0 (ρ was lowered before any increase). */
  restarted?: boolean;
}

export interface PcgStep {
  step: number;
  /** max over columns of masked residual norm / ‖Y_j‖. */
  residual: number;
  relError: number;
}

export type SolverEvent =
  | { type: 'iteration'; data: AlpsIteration }
  | { type: 'pcg'; data: PcgStep }
  | { type: 'phase'; phase: string };

export interface SolveOptions {
  alps?: Partial<AlpsOptions>;
  onEvent?: (event: SolverEvent) => void;
  /** Checked between iterations; throw CancelledError when aborted. */
  signal?: AbortSignal;
  /** Awaited between iterations: a paused run waits here until resumed. */
  gate?: () => Promise<void>;
}

export interface SolveResult {
  method: Method;
  pattern: Pattern;
  /** Pruned weight, row-major [m, n]. */
  weight: Float32Array;
  /** f(W) / tr(W0 G W0ᵀ) with the undamped gram. */
  relError: number;
  /** Relative error before the PCG refit (ALPS only; equals relError otherwise). */
  relErrorBeforeRefit: number;
  nnz: number;
  iterations: number;
  ms: number;
  history: AlpsIteration[];
  pcg: PcgStep[];
}
