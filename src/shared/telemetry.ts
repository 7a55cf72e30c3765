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
