import source from '../../shaders/attention.wgsl?raw';
import type { Binding, Gpu } from '../gpu/runtime';

const specialised = new Map<string, string>();

/**
 * Queries per invocation. Narrow heads are cheap per key, so sharing each loaded key/value row
 * between two queries pays (measured on SwiftShader: head_dim 8, 512 tokens: 1.6× faster); wide
 * heads gain nothing and need twice the registers.
 */
export function queriesPerInvocation(headDim: number): number {
  return headDim <= 16 ? 2 : 1;
}

/** Repeats each `//#for X` … `//#end` block (nestable) for X = 0…counts[X]−1, replacing {X}. */
export function expandTemplate(source: string, counts: Record<string, number>): string {
  const lines = source.split('\n');
  const expand = (from: number, to: number, env: Record<string, number>): string[] => {
    const out: string[] = [];
    for (let i = from; i < to; i++) {
      const open = /^\s*\/\/#for (\w+)\s*$/.exec(lines[i]);
      if (!open) {
        if (/^\s*\/\/#end\s*$/.test(lines[i])) throw new Error(`template: unmatched //#end at line ${i + 1}`);
        out.push(lines[i].replace(/\{(\w+)\}/g, (m, name: string) => (name in env ? String(env[name]) : m)));
        continue;
      }
      // Find the matching //#end.
      let depth = 1;
      let j = i + 1;
      for (; j < to; j++) {
        if (/^\s*\/\/#for \w+\s*$/.test(lines[j])) depth++;
        else if (/^\s*\/\/#end\s*$/.test(lines[j]) && --depth === 0) break;
      }
      if (j >= to) throw new Error(`template: //#for at line ${i + 1} is not closed`);
      const name = open[1];
      const count = counts[name];
      if (count === undefined) throw new Error(`template: no count for //#for ${name}`);
      for (let k = 0; k < count; k++) out.push(...expand(i + 1, j, { ...env, [name]: k }));
      i = j;
    }
    return out;
  };
  return expand(0, lines.length, {}).join('\n');
}

/** The shader unrolled for this head width and queries per invocation. */
function codeFor(headDim: number, qb: number): string {
  const key = `${headDim}/${qb}`;
  let code = specialised.get(key);
  if (!code) {
    const hv = headDim / 4;
    code = expandTemplate(source, { i: qb, d: hv })
      .replace(/const HV: u32 = \d+u;/, `const HV: u32 = ${hv}u;`)
      .replace(/const QB: u32 = \d+u;/, `const QB: u32 = ${qb}u;`);
    if (!code.includes(`const HV: u32 = ${hv}u;`) || !code.includes(`const QB: u32 = ${qb}u;`)) {
      throw new Error('attention.wgsl: HV/QB declarations not found');
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
