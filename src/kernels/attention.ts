import file from '../../shaders/attention.wgsl?raw';
import { defineKernel, wgslConsts, wgslSections } from '../gpu/kernel';
import type { Binding, Gpu } from '../gpu/runtime';
import { expandTemplate } from './unroll';

export { expandTemplate } from './unroll';

const wgsl = wgslSections(file);

/** One variant per head width (HV = headDim / 4 vec4s) and queries per invocation (QB), both unrolled. */
const attentionKernel = defineKernel({
  name: 'attention',
  uniforms: { seqlen: 'u32', group: 'u32', ld: 'u32', kOff: 'u32', vOff: 'u32', outLd: 'u32', window: 'u32', scale: 'f32' },
  bindings: { QKV: { type: 'vec4<f32>' }, O: { type: 'vec4<f32>', access: 'read_write' } },
  workgroupSize: [64],
  source: (f: { hv: number; qb: number }) => wgslConsts({ HV: f.hv, QB: f.qb }) + expandTemplate(wgsl.section('attention'), { i: f.qb, d: f.hv }),
});

/**
 * Queries per invocation. Narrow heads are cheap per key, so sharing each loaded key/value row
 * between two queries pays (measured on SwiftShader: head_dim 8, 512 tokens: 1.6× faster); wide
 * heads gain nothing and need twice the registers.
 */
export function queriesPerInvocation(headDim: number): number {
  return headDim <= 16 ? 2 : 1;
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
  /** Sliding window: each query sees at most this many keys, itself included. Default: all earlier ones. */
  window?: number | null;
  /** Override the queries handled per invocation (tests). */
  queriesPerInvocation?: number;
}

/** Causal attention within each window of `seqlen` rows: O = softmax(scale·QKᵀ + causal [+ sliding window])·V per head. */
export function causalAttention(gpu: Gpu, QKV: Binding, O: Binding, s: AttentionShape): void {
  if (s.heads % s.kvHeads !== 0) throw new Error(`attention: ${s.heads} heads is not a multiple of ${s.kvHeads} key/value heads`);
  if (s.headDim % 4 !== 0 || s.ld % 4 !== 0 || s.kOff % 4 !== 0 || s.vOff % 4 !== 0 || s.outLd % 4 !== 0) {
    throw new Error(`attention: head_dim ${s.headDim} and the row layout must be multiples of 4 (vec4 loads)`);
  }
  if (s.window != null && !(Number.isInteger(s.window) && s.window >= 1)) throw new Error(`attention: the sliding window must be a positive integer, got ${s.window}`);
  const window = Math.min(s.window ?? s.seqlen, s.seqlen);
  const qb = s.queriesPerInvocation ?? queriesPerInvocation(s.headDim);
  attentionKernel.run(gpu, {
    flags: { hv: s.headDim / 4, qb },
    uniforms: { seqlen: s.seqlen, group: s.heads / s.kvHeads, ld: s.ld, kOff: s.kOff, vOff: s.vOff, outLd: s.outLd, window, scale: s.scale },
    bindings: { QKV, O },
    workgroups: [Math.ceil(s.seqlen / (64 * qb)), s.heads, s.windows],
  });
}
