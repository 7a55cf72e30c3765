import code from '../../shaders/activation.wgsl?raw';
import type { Binding, Gpu } from '../gpu/runtime';
import type { Activation } from '../model/config';
import { flatGrid } from './grid';

/** ACT override values of shaders/activation.wgsl. */
const ACT_CODE: Record<Activation | 'identity', number> = { identity: 0, relu: 1, gelu_tanh: 2, gelu: 3, silu: 4 };

export interface SliceShape {
  rows: number;
  /** Columns touched per row, starting at column `off` of rows `ld` long. */
  cols: number;
  ld?: number;
  off?: number;
}

function uniforms(s: SliceShape) {
  return [s.rows, s.cols, s.ld ?? s.cols, s.off ?? 0].map((u32) => ({ u32 }));
}

/** Y[r, off + c] = act(Y[r, off + c] + bias[c]) in place; act defaults to identity (a bias add). */
export function biasAct(gpu: Gpu, Y: Binding, bias: Binding, s: SliceShape, act: Activation | 'identity' = 'identity'): void {
  gpu.dispatch({
    pipeline: { code, entryPoint: 'bias_act', constants: { ACT: ACT_CODE[act] } },
    uniforms: uniforms(s),
    bindings: [Y, bias],
    workgroups: flatGrid(s.rows * s.cols),
  });
}

/** Y[r, off + c] = act(Y[r, off + c]) in place. */
export function activate(gpu: Gpu, Y: Binding, s: SliceShape, act: Activation): void {
  gpu.dispatch({
    pipeline: { code, entryPoint: 'act_only', constants: { ACT: ACT_CODE[act] } },
    uniforms: uniforms(s),
    bindings: [Y],
    workgroups: flatGrid(s.rows * s.cols),
  });
}

/** gate = act(gate) · up, element-wise over `count` dense entries (SwiGLU), in place on gate. */
export function gatedAct(gpu: Gpu, gate: Binding, up: Binding, count: number, act: Activation): void {
  gpu.dispatch({
    pipeline: { code, entryPoint: 'gated', constants: { ACT: ACT_CODE[act] } },
    uniforms: uniforms({ rows: 1, cols: count }),
    bindings: [gate, up],
    workgroups: flatGrid(count),
  });
}
