import type { GpuTensor } from '../gpu/runtime';
import type { GpuScope } from '../gpu/scope';
import { applyMask } from '../kernels/select';
import type { Pattern } from '../shared/pattern';
import type { UploadedLayer } from './layer';
import { projectionFor } from './projection';

/** Magnitude pruning: keep the k largest |W_ij| of the layer, or the N largest of each M-group. */
export function magnitude(scope: GpuScope, { W0, m, n }: UploadedLayer, pattern: Pattern): GpuTensor {
  const gpu = scope.gpu;
  const projection = projectionFor(gpu, pattern, m, n);
  const mask = scope.tensor([m, n], 'u32');
  const out = scope.tensor([m, n]);
  projection.project(W0, mask);
  applyMask(gpu, W0, mask, out, { count: m * n });
  scope.release(mask);
  return out;
}
