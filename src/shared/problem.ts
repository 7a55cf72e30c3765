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
