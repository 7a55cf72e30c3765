import source from '../../shaders/attention.wgsl?raw';
import type { Binding, Gpu } from '../gpu/runtime';

const specialised = new Map<string, string>();

/**
 * Queries per invocation: small heads are cheap per key, so sharing each loaded key/value row
 * among several queries pays; wide heads would need too many registers.
 */
export function queriesPerInvocation(headDim: number): number {
  return headDim <= 8 ? 4 : headDim <= 16 ? 2 : 1;
}

/** The shader with HEAD_DIM and QB set (they size the per-invocation arrays). */
function codeFor(headDim: number, qb: number): string {
  const key = `${headDim}/${qb}`;
  let code = specialised.get(key);
  if (!code) {
    code = source
      .replace(/const HEAD_DIM: u32 = \d+u;/, `const HEAD_DIM: u32 = ${headDim}u;`)
      .replace(/const QB: u32 = \d+u;/, `const QB: u32 = ${qb}u;`);
    if (!code.includes(`const HEAD_DIM: u32 = ${headDim}u;`) || !code.includes(`const QB: u32 = ${qb}u;`)) {
      throw new Error('attention.wgsl: HEAD_DIM/QB declarations not found');
    }
    specialised.set(key, code);
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
  /** Override the queries handled per invocation (tests). */
  queriesPerInvocation?: number;
}

/** Causal attention within each window of `seqlen` rows: O = softmax(scale·QKᵀ + causal)·V per head. */
export function causalAttention(gpu: Gpu, QKV: Binding, O: Binding, s: AttentionShape): void {
  if (s.heads % s.kvHeads !== 0) throw new Error(`attention: ${s.heads} heads is not a multiple of ${s.kvHeads} key/value heads`);
  if (s.headDim % 4 !== 0 || s.ld % 4 !== 0 || s.kOff % 4 !== 0 || s.vOff % 4 !== 0 || s.outLd % 4 !== 0) {
    throw new Error(`attention: head_dim ${s.headDim} and the row layout must be multiples of 4 (vec4 loads)`);
  }
  const qb = s.queriesPerInvocation ?? queriesPerInvocation(s.headDim);
  const u = (v: number) => ({ u32: v });
  gpu.dispatch({
    pipeline: { code: codeFor(s.headDim, qb), entryPoint: 'attention' },
    uniforms: [u(s.seqlen), u(s.heads), u(s.heads / s.kvHeads), u(s.ld), u(s.kOff), u(s.vOff), u(s.outLd), { f32: s.scale }],
    bindings: [QKV, O],
    workgroups: [Math.ceil(s.seqlen / (64 * qb)), s.heads, s.windows],
  });
}
