/**
 * Sparsity patterns and the counts every layer of the project derives from them: how many weights
 * a pattern keeps (k), the requested fraction of zeros, and one human-readable description.
 * Pure functions, shared by solvers, pipeline, CLI and UI.
 */

/** Unstructured: keep k = round((1−s)·m·n) of the layer. N:M: N of every M consecutive inputs per row. */
export type Pattern = { kind: 'unstructured'; sparsity: number } | { kind: 'nm'; n: number; m: number };

export class PatternError extends Error {
  override name = 'PatternError';
}

/** Checks a pattern against an m×n layer's shape and returns k, the weights it keeps. */
export function keptCount(pattern: Pattern, m: number, n: number): number {
  if (pattern.kind === 'unstructured') {
    const s = pattern.sparsity;
    if (!Number.isFinite(s) || s < 0 || s >= 1) {
      throw new PatternError(`Sparsity must be a fraction in [0, 1), got ${s}.`);
    }
    return Math.round((1 - s) * m * n);
  }
  const { n: N, m: M } = pattern;
  if (!Number.isInteger(N) || !Number.isInteger(M) || N < 1 || M < 2 || N >= M) {
    throw new PatternError(`An N:M pattern needs integers 1 ≤ N < M, got ${N}:${M}.`);
  }
  if (n % M !== 0) {
    throw new PatternError(`The ${N}:${M} pattern needs the layer's input width (${n}) to be a multiple of ${M}.`);
  }
  return (m * n * N) / M;
}

/** The requested fraction of zeros: s for unstructured, 1 − N/M for N:M. */
export function targetSparsity(pattern: Pattern): number {
  return pattern.kind === 'unstructured' ? pattern.sparsity : 1 - pattern.n / pattern.m;
}

/** "unstructured" or "2:4": the pattern's kind, as reports and file metadata name it. */
export function describePattern(pattern: Pattern): string {
  return pattern.kind === 'unstructured' ? 'unstructured' : `${pattern.n}:${pattern.m}`;
}

/** "unstructured 70.0%" or "2:4": the kind with its target, for one-line messages. */
export function patternLabel(pattern: Pattern): string {
  return pattern.kind === 'unstructured' ? `unstructured ${(100 * pattern.sparsity).toFixed(1)}%` : describePattern(pattern);
}
