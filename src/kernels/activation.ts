import file from '../../shaders/activation.wgsl?raw';
import { defineKernel, wgslConsts, wgslSections } from '../gpu/kernel';
import type { Binding, Gpu } from '../gpu/runtime';
import type { Activation } from '../shared/activation';

/** ACT values of shaders/activation.wgsl. */
const ACT_CODE: Record<Activation | 'identity', number> = { identity: 0, relu: 1, gelu_tanh: 2, gelu: 3, silu: 4 };
const wgsl = wgslSections(file);

export interface SliceShape {
  rows: number;
  /** Columns touched per row, starting at column `off` of rows `ld` long. */
  cols: number;
  ld?: number;
  off?: number;
}

const biasActKernel = defineKernel({
  name: 'bias_act',
  uniforms: { rows: 'u32', cols: 'u32', ld: 'u32', off: 'u32' },
  bindings: { Y: { type: 'f32', access: 'read_write' }, bias: { type: 'f32', when: 'withBias' } },
  workgroupSize: [64],
  source: (f: { act: number; withBias: boolean }) =>
    wgslConsts({ ACT: f.act }) +
    (f.withBias ? 'fn bias_of(c: u32) -> f32 { return bias[c]; }\n' : 'fn bias_of(c: u32) -> f32 { return 0.0; }\n') +
    wgsl.section('bias_act'),
});

const gatedKernel = defineKernel({
  name: 'gated',
  uniforms: { count: 'u32' },
  bindings: { Y: { type: 'f32', access: 'read_write' }, V: { type: 'f32' } },
  workgroupSize: [64],
  source: (f: { act: number }) => wgslConsts({ ACT: f.act }) + wgsl.section('gated'),
});

function slice(s: SliceShape) {
  return { rows: s.rows, cols: s.cols, ld: s.ld ?? s.cols, off: s.off ?? 0 };
}

/** Y[r, off + c] = act(Y[r, off + c] + bias[c]) in place; act defaults to identity (a bias add). */
export function biasAct(gpu: Gpu, Y: Binding, bias: Binding, s: SliceShape, act: Activation | 'identity' = 'identity'): void {
  biasActKernel.run(gpu, { flags: { act: ACT_CODE[act], withBias: true }, uniforms: slice(s), bindings: { Y, bias }, threads: s.rows * s.cols });
}

/** Y[r, off + c] = act(Y[r, off + c]) in place. */
export function activate(gpu: Gpu, Y: Binding, s: SliceShape, act: Activation): void {
  biasActKernel.run(gpu, { flags: { act: ACT_CODE[act], withBias: false }, uniforms: slice(s), bindings: { Y }, threads: s.rows * s.cols });
}

/** gate = act(gate) · up, element-wise over `count` dense entries (SwiGLU), in place on gate. */
export function gatedAct(gpu: Gpu, gate: Binding, up: Binding, count: number, act: Activation): void {
  gatedKernel.run(gpu, { flags: { act: ACT_CODE[act] }, uniforms: { count }, bindings: { Y: gate, V: up }, threads: count });
}

const gatedFusedKernel = defineKernel({
  name: 'gated_fused',
  uniforms: { rows: 'u32', width: 'u32' },
  bindings: { G: { type: 'f32' }, Y: { type: 'f32', access: 'read_write' } },
  workgroupSize: [64],
  source: (f: { act: number }) => wgslConsts({ ACT: f.act }) + wgsl.section('gated_fused'),
});

const scaleKernel = defineKernel({
  name: 'scale',
  uniforms: { count: 'u32', s: 'f32' },
  bindings: { Y: { type: 'f32', access: 'read_write' } },
  workgroupSize: [64],
  source: (f: { softcap: boolean }) => wgslConsts({ ACT: 0, SOFTCAP: f.softcap }) + wgsl.section('scale'),
});

/** Y[r, c] = act(G[r, c]) · G[r, width + c] for G [rows, 2·width] (a fused gate|up output) into Y [rows, width]. */
export function gatedFusedAct(gpu: Gpu, G: Binding, Y: Binding, rows: number, width: number, act: Activation): void {
  gatedFusedKernel.run(gpu, { flags: { act: ACT_CODE[act] }, uniforms: { rows, width }, bindings: { G, Y }, threads: rows * width });
}

/** Y = s·Y over `count` dense entries, in place. */
export function scaleInPlace(gpu: Gpu, Y: Binding, count: number, s: number): void {
  scaleKernel.run(gpu, { flags: { softcap: false }, uniforms: { count, s }, bindings: { Y }, threads: count });
}

/** Y = cap·tanh(Y / cap) over `count` dense entries, in place (Gemma's logit soft-capping). */
export function softcap(gpu: Gpu, Y: Binding, count: number, cap: number): void {
  scaleKernel.run(gpu, { flags: { softcap: true }, uniforms: { count, s: cap }, bindings: { Y }, threads: count });
}
