import file from '../../shaders/rotary.wgsl?raw';
import { defineKernel, wgslSections } from '../gpu/kernel';
import type { Binding, Gpu } from '../gpu/runtime';

const rotaryKernel = defineKernel({
  name: 'rotary',
  uniforms: { rows: 'u32', seqlen: 'u32', ld: 'u32', heads: 'u32', half: 'u32', headDim: 'u32', posOffset: 'u32' },
  bindings: { X: { type: 'f32', access: 'read_write' }, table: { type: 'f32' } },
  workgroupSize: [64],
  source: () => wgslSections(file).section('rotary'),
});

/**
 * cos/sin table [seqlen, rotaryDim/2, 2] for positions 0..seqlen−1, computed in float64, both
 * multiplied by `factor` (LongRoPE's attention scaling; 1 otherwise).
 */
export function rotaryTable(invFreq: ArrayLike<number>, seqlen: number, factor = 1): Float32Array {
  const half = invFreq.length;
  const table = new Float32Array(seqlen * half * 2);
  for (let pos = 0; pos < seqlen; pos++) {
    for (let i = 0; i < half; i++) {
      const angle = pos * invFreq[i];
      table[(pos * half + i) * 2] = factor * Math.cos(angle);
      table[(pos * half + i) * 2 + 1] = factor * Math.sin(angle);
    }
  }
  return table;
}

/**
 * Rotates, in place, the first `heads` heads of every row of X [rows, ld] (the q heads followed by
 * the k heads of the fused q|k|v activation) by the position of the row within its window. Only
 * the first `rotaryDim` (default: all) dimensions of each head turn (partial_rotary_factor < 1).
 * `posOffset` is added to every position (KV-cache decoding: new rows continue after the cached ones).
 */
export function applyRotary(
  gpu: Gpu,
  X: Binding,
  table: Binding,
  o: { rows: number; seqlen: number; ld: number; heads: number; headDim: number; rotaryDim?: number; posOffset?: number },
): void {
  const half = (o.rotaryDim ?? o.headDim) / 2;
  rotaryKernel.run(gpu, {
    uniforms: { rows: o.rows, seqlen: o.seqlen, ld: o.ld, heads: o.heads, half, headDim: o.headDim, posOffset: o.posOffset ?? 0 },
    bindings: { X, table },
    threads: o.rows * o.heads * half,
  });
}
