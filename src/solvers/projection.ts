import type { Binding, Gpu, GpuTensor } from '../gpu/runtime';
import { nmMask, topkMask } from '../kernels/select';
import type { Pattern } from './types';

/** P_k: the sparsity pattern's projection, as a mask over a row-major [m, n] matrix. */
export interface Projection {
  /** Nonzeros the pattern keeps in the whole layer. */
  k: number;
  /** mask ← support of P_k(scores) (largest |scores|, ties to the lower index). */
  project(scores: Binding, mask: GpuTensor): void;
}

export class PatternError extends Error {
  override name = 'PatternError';
}

/** Checks a pattern against a layer's shape and returns its k. */
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

export function projectionFor(gpu: Gpu, pattern: Pattern, m: number, n: number): Projection {
  const k = keptCount(pattern, m, n);
  if (pattern.kind === 'unstructured') {
    return { k, project: (scores, mask) => topkMask(gpu, scores, mask, { segments: 1, segmentLength: m * n, keep: k }) };
  }
  return { k, project: (scores, mask) => nmMask(gpu, scores, mask, { count: m * n, n: pattern.n, m: pattern.m }) };
}

export function describePattern(pattern: Pattern): string {
  return pattern.kind === 'unstructured' ? 'unstructured' : `${pattern.n}:${pattern.m}`;
}
