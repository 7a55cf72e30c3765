/** What solvers report while they run, as the studio charts it and the CLI's --json history prints it. */

/** One ADMM iteration of ALPS. */
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

/** One step of the PCG refit on the fixed support. */
export interface PcgStep {
  step: number;
  /** max over columns of masked residual norm / ‖Y_j‖. */
  residual: number;
  relError: number;
}

/** One penalty step of SPAP's channel selection. */
export interface SpapStep {
  step: number;
  rho: number;
  /** Relative error of the relaxed solution with the chosen channels zeroed (before the refit). */
  relError: number;
  /** Channels whose removed/kept status changed in this step. */
  changed: number;
  /** Share of ‖B‖² still on the removed channels. */
  penaltyMass: number;
}

/** One round of swap moves (local search after a method): at most one swap per output row. */
export interface SwapRound {
  round: number;
  /** Swaps accepted so far, over all rows. */
  swaps: number;
  /** Relative error after this round (the refit on the final support comes after the last round). */
  relError: number;
}

export type SolverEvent =
  | { type: 'iteration'; data: AlpsIteration }
  | { type: 'pcg'; data: PcgStep }
  | { type: 'phase'; phase: string }
  | { type: 'swaps'; data: SwapRound };

/**
 * ALPS's support at one ρ update (a check of the schedule), downsampled to a grid of cells so that
 * a big layer's frame stays small: `kept[r·cols + c]` is the number of kept weights in cell (r, c),
 * whose size is cellRows × cellCols (the last row and column of cells may be smaller).
 * Frame 0 (`iter` 0) is the starting support P_k(B₀); only single-layer runs in the studio ask for frames.
 */
export interface SupportFrame {
  /** ADMM iteration the support is from (0: the start, before any iteration). */
  iter: number;
  /** ρ of the iterations since the previous frame, and ρ for the ones after it (the update). */
  rho: number;
  nextRho: number;
  /** Entries whose kept/pruned status changed since the previous frame (null for frame 0). */
  supportChange: number | null;
  /** Kept entries in the whole layer (the pattern's k). */
  k: number;
  /** True when the schedule restarted from B₀ after this frame. */
  restarted?: boolean;
  /** The layer's shape and its cells. */
  m: number;
  n: number;
  rows: number;
  cols: number;
  cellRows: number;
  cellCols: number;
  kept: Uint32Array;
}
