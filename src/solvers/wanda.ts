import type { Gpu, GpuTensor } from '../gpu/runtime';
import { wandaScores } from '../kernels/objective';
import { applyMask, nmMask, topkMask } from '../kernels/select';
import { keptCount } from './projection';
import type { Pattern } from './types';

/**
 * Wanda (Sun et al., 2023): score |W_ij|·sqrt(G_jj); per output row prune the floor(n·s) lowest
 * (its per-row comparison group), or keep the N highest of each M-group. No weight update.
 */
export function wanda(gpu: Gpu, W: GpuTensor, G: GpuTensor, m: number, n: number, pattern: Pattern): GpuTensor {
  keptCount(pattern, m, n); // validates the pattern for this shape
  const scores = gpu.tensor([m, n]);
  const mask = gpu.tensor([m, n], 'u32');
  const out = gpu.tensor([m, n]);
  wandaScores(gpu, { m, n }, W, G, scores);
  if (pattern.kind === 'unstructured') {
    const keepPerRow = n - Math.floor(n * pattern.sparsity);
    topkMask(gpu, scores, mask, { segments: m, segmentLength: n, keep: keepPerRow });
  } else {
    nmMask(gpu, scores, mask, { count: m * n, n: pattern.n, m: pattern.m });
  }
  applyMask(gpu, W, mask, out, { count: m * n });
  scores.dispose();
  mask.dispose();
  return out;
}
