import code from '../../shaders/norm.wgsl?raw';
import type { Binding, Gpu } from '../gpu/runtime';
import { flatGrid } from './grid';

/** Y = RMSNorm(X)·w, or LayerNorm(X)·w + b when `bias` is given; X and Y are [rows, cols]. */
export function rowNorm(
  gpu: Gpu,
  X: Binding,
  Y: Binding,
  o: { rows: number; cols: number; eps: number; weight: Binding; bias?: Binding | null },
): void {
  const layer = o.bias != null;
  gpu.dispatch({
    pipeline: { code, entryPoint: 'norm', constants: { LAYER_NORM: layer ? 1 : 0 } },
    uniforms: [{ u32: o.rows }, { u32: o.cols }, { f32: o.eps }, { u32: 0 }],
    // RMSNorm has no bias: the weight is bound again in its slot (both read-only).
    bindings: [X, o.weight, o.bias ?? o.weight, Y],
    workgroups: flatGrid(o.rows),
  });
}
