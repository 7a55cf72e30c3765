import type { GpuTensor } from '../gpu/runtime';
import type { GpuScope } from '../gpu/scope';
import { wandaScores } from '../kernels/objective';
import { applyMask, nmMask, topkMask } from '../kernels/select';
import { keptCount, type Pattern } from '../shared/pattern';
import type { UploadedLayer } from './layer';

/**
 * Wanda (Sun et al., 2023): score |W_ij|·sqrt(G_jj); per output row prune the floor(n·s) lowest
 * (its per-row comparison group), or keep the N highest of each M-group. No weight update.
 */
export function wanda(scope: GpuScope, { W0, G, m, n }: UploadedLayer, pattern: Pattern): GpuTensor {
  keptCount(pattern, m, n); // validates the pattern for this shape
  const gpu = scope.gpu;
  const scores = scope.tensor([m, n]);
  const mask = scope.tensor([m, n], 'u32');
  const out = scope.tensor([m, n]);
  wandaScores(gpu, { m, n }, W0, G, scores);
  if (pattern.kind === 'unstructured') {
    const keepPerRow = n - Math.floor(n * pattern.sparsity);
    topkMask(gpu, scores, mask, { segments: m, segmentLength: n, keep: keepPerRow });
  } else {
    nmMask(gpu, scores, mask, { count: m * n, n: pattern.n, m: pattern.m });
  }
  applyMask(gpu, W0, mask, out, { count: m * n });
  scope.release(scores);
  scope.release(mask);
  return out;
}
