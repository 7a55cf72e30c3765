import file from '../../shaders/norm.wgsl?raw';
import { defineKernel, wgslConsts, wgslSections } from '../gpu/kernel';
import type { Binding, Gpu } from '../gpu/runtime';

const wgsl = wgslSections(file);

const normKernel = defineKernel({
  name: 'norm',
  uniforms: { rows: 'u32', cols: 'u32', eps: 'f32' },
  bindings: {
    X: { type: 'f32' },
    W: { type: 'f32' },
    Bias: { type: 'f32', when: 'layerNorm' },
    Y: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  source: (f: { layerNorm: boolean }) =>
    wgslConsts({ LAYER_NORM: f.layerNorm }) +
    (f.layerNorm ? 'fn with_bias(y: f32, c: u32) -> f32 { return y + Bias[c]; }\n' : 'fn with_bias(y: f32, c: u32) -> f32 { return y; }\n') +
    wgsl.section('norm'),
});

/** Y = RMSNorm(X)·w, or LayerNorm(X)·w + b when `bias` is given; X and Y are [rows, cols]. */
export function rowNorm(
  gpu: Gpu,
  X: Binding,
  Y: Binding,
  o: { rows: number; cols: number; eps: number; weight: Binding; bias?: Binding | null },
): void {
  const uniforms = { rows: o.rows, cols: o.cols, eps: o.eps };
  if (o.bias != null) normKernel.run(gpu, { flags: { layerNorm: true }, uniforms, bindings: { X, W: o.weight, Bias: o.bias, Y }, threads: o.rows });
  else normKernel.run(gpu, { flags: { layerNorm: false }, uniforms, bindings: { X, W: o.weight, Y }, threads: o.rows });
}
