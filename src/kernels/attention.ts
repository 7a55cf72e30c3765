import source from '../../shaders/attention.wgsl?raw';
import type { Binding, Gpu } from '../gpu/runtime';

const specialised = new Map<number, string>();

/** The shader with its HEAD_DIM constant set (sizes the per-invocation q and accumulator arrays). */
function codeFor(headDim: number): string {
  let code = specialised.get(headDim);
  if (!code) {
    code = source.replace(/const HEAD_DIM: u32 = \d+u;/, `const HEAD_DIM: u32 = ${headDim}u;`);
    if (code === source && headDim !== 64) throw new Error('attention.wgsl: HEAD_DIM declaration not found');
    specialised.set(headDim, code);
  }
  return code;
}

export interface AttentionShape {
  windows: number;
  seqlen: number;
  /** Query heads, key/value heads and their width. */
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Row length of the fused q|k|v activation and the column where k and v start. */
  ld: number;
  kOff: number;
  vOff: number;
  /** Row length of the output. */
  outLd: number;
  scale: number;
}

/** Causal attention within each window of `seqlen` rows: O = softmax(scale·QKᵀ + causal)·V per head. */
export function causalAttention(gpu: Gpu, QKV: Binding, O: Binding, s: AttentionShape): void {
  if (s.heads % s.kvHeads !== 0) throw new Error(`attention: ${s.heads} heads is not a multiple of ${s.kvHeads} key/value heads`);
  const u = (v: number) => ({ u32: v });
  gpu.dispatch({
    pipeline: { code: codeFor(s.headDim), entryPoint: 'attention' },
    uniforms: [u(s.seqlen), u(s.heads), u(s.heads / s.kvHeads), u(s.ld), u(s.kOff), u(s.vOff), u(s.outLd), { f32: s.scale }],
    bindings: [QKV, O],
    workgroups: [Math.ceil(s.seqlen / 64), s.heads, s.windows],
  });
}
