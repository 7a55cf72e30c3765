import file from '../../shaders/rotary.wgsl?raw';
import { defineKernel, wgslSections } from '../gpu/kernel';
import type { Binding, Gpu } from '../gpu/runtime';

const rotaryKernel = defineKernel({
  name: 'rotary',
  uniforms: { rows: 'u32', seqlen: 'u32', ld: 'u32', heads: 'u32', half: 'u32', headDim: 'u32' },
  bindings: { X: { type: 'f32', access: 'read_write' }, table: { type: 'f32' } },
  workgroupSize: [64],
  source: () => wgslSections(file).section('rotary'),
});

/** cos/sin table [seqlen, headDim/2, 2] for positions 0..seqlen−1, computed in float64. */
export function rotaryTable(invFreq: ArrayLike<number>, seqlen: number): Float32Array {
  const half = invFreq.length;
  const table = new Float32Array(seqlen * half * 2);
  for (let pos = 0; pos < seqlen; pos++) {
    for (let i = 0; i < half; i++) {
      const angle = pos * invFreq[i];
      table[(pos * half + i) * 2] = Math.cos(angle);
      table[(pos * half + i) * 2 + 1] = Math.sin(angle);
    }
  }
  return table;
}

/**
 * Rotates, in place, the first `heads` heads of every row of X [rows, ld] (the q heads followed by
 * the k heads of the fused q|k|v activation) by the position of the row within its window.
 */
export function applyRotary(
  gpu: Gpu,
  X: Binding,
  table: Binding,
  o: { rows: number; seqlen: number; ld: number; heads: number; headDim: number },
): void {
  const half = o.headDim / 2;
  rotaryKernel.run(gpu, {
    uniforms: { rows: o.rows, seqlen: o.seqlen, ld: o.ld, heads: o.heads, half, headDim: o.headDim },
    bindings: { X, table },
    threads: o.rows * o.heads * half,
  });
}
