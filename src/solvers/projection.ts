import type { Binding, Gpu, GpuTensor } from '../gpu/runtime';
import { nmMask, topkMask } from '../kernels/select';
import { keptCount, type Pattern } from '../shared/pattern';

/** P_k: the sparsity pattern's projection, as a mask over a row-major [m, n] matrix. */
export interface Projection {
  /** Nonzeros the pattern keeps in the whole layer. */
  k: number;
  /** mask ← support of P_k(scores) (largest |scores|, ties to the lower index). */
  project(scores: Binding, mask: GpuTensor): void;
}

export function projectionFor(gpu: Gpu, pattern: Pattern, m: number, n: number): Projection {
  const k = keptCount(pattern, m, n);
  if (pattern.kind === 'unstructured') {
    return { k, project: (scores, mask) => topkMask(gpu, scores, mask, { segments: 1, segmentLength: m * n, keep: k }) };
  }
  return { k, project: (scores, mask) => nmMask(gpu, scores, mask, { count: m * n, n: pattern.n, m: pattern.m }) };
}
