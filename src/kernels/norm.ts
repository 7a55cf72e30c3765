import file from '../../shaders/norm.wgsl?raw';
import { defineKernel, wgslConsts, wgslSections } from '../gpu/kernel';
import type { Binding, Gpu } from '../gpu/runtime';

const wgsl = wgslSections(file);

const normKernel = defineKernel({
  name: 'norm',
  uniforms: { rows: 'u32', cols: 'u32', group: 'u32', ld: 'u32', off: 'u32', eps: 'f32' },
  bindings: {
    X: { type: 'f32', when: 'readX' },
    W: { type: 'f32' },
    Bias: { type: 'f32', when: 'layerNorm' },
    Y: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  source: (f: { layerNorm: boolean; readX: boolean; accumulate: boolean; offset: number }) =>
    wgslConsts({ LAYER_NORM: f.layerNorm, ACCUMULATE: f.accumulate }) +
    `const OFFSET = ${f.offset.toFixed(1)};\n` +
    (f.layerNorm ? 'fn with_bias(y: f32, c: u32) -> f32 { return y + Bias[c]; }\n' : 'fn with_bias(y: f32, c: u32) -> f32 { return y; }\n') +
    (f.readX ? 'fn load(i: u32) -> f32 { return X[i]; }\n' : 'fn load(i: u32) -> f32 { return Y[i]; }\n') +
    wgsl.section('norm'),
});

export interface NormOptions {
  rows: number;
  cols: number;
  eps: number;
  weight: Binding;
  /** LayerNorm's bias; without it, RMSNorm. */
  bias?: Binding | null;
  /** Scale by (offset + weight): 1 for Gemma's RMSNorm. Default 0. */
  offset?: 0 | 1;
  /** Y += norm(X) instead of Y = norm(X). */
  accumulate?: boolean;
}

function flags(o: NormOptions, readX: boolean) {
  return { layerNorm: o.bias != null, readX, accumulate: o.accumulate === true, offset: o.offset ?? 0 };
}

/** Y = RMSNorm(X)·(offset + w), or LayerNorm(X)·w + b when `bias` is given; X and Y are [rows, cols]. */
export function rowNorm(gpu: Gpu, X: Binding, Y: Binding, o: NormOptions): void {
  const uniforms = { rows: o.rows, cols: o.cols, group: 1, ld: o.cols, off: 0, eps: o.eps };
  const bindings = o.bias != null ? { X, W: o.weight, Bias: o.bias, Y } : { X, W: o.weight, Y };
  normKernel.run(gpu, { flags: flags(o, true), uniforms, bindings, threads: o.rows });
}

/**
 * RMSNorm, in place, of each of `heads` heads of `cols` values starting at column `off` of every
 * row of Y [rows, ld] (Qwen3's and Gemma 3's q_norm / k_norm on the fused q|k|v activation).
 */
export function headNorm(gpu: Gpu, Y: Binding, o: { rows: number; heads: number; cols: number; ld: number; off: number; eps: number; weight: Binding; offset?: 0 | 1 }): void {
  const uniforms = { rows: o.rows * o.heads, cols: o.cols, group: o.heads, ld: o.ld, off: o.off, eps: o.eps };
  const f = { layerNorm: false, readX: false, accumulate: false, offset: o.offset ?? 0 };
  normKernel.run(gpu, { flags: f, uniforms, bindings: { W: o.weight, Y }, threads: o.rows * o.heads });
}
