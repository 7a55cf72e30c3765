import type { Gpu, GpuTensor } from '../gpu/runtime';
import { applyMask } from '../kernels/select';
import { projectionFor } from './projection';
import type { Pattern } from './types';

/** Magnitude pruning: keep the k largest |W_ij| of the layer, or the N largest of each M-group. */
export function magnitude(gpu: Gpu, W: GpuTensor, m: number, n: number, pattern: Pattern): GpuTensor {
  const projection = projectionFor(gpu, pattern, m, n);
  const mask = gpu.tensor([m, n], 'u32');
  const out = gpu.tensor([m, n]);
  projection.project(W, mask);
  applyMask(gpu, W, mask, out, { count: m * n });
  mask.dispose();
  return out;
}
