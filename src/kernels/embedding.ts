import file from '../../shaders/embedding.wgsl?raw';
import { defineKernel, wgslSections } from '../gpu/kernel';
import type { Binding, Gpu } from '../gpu/runtime';

const wgsl = wgslSections(file);

const embedKernel = defineKernel({
  name: 'embed',
  uniforms: { rows: 'u32', cols: 'u32', vStart: 'u32', vCount: 'u32', seqlen: 'u32', posOffset: 'u32' },
  bindings: {
    tokens: { type: 'u32' },
    E: { type: 'f32' },
    P: { type: 'f32', when: 'withPositions' },
    X: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  source: (f: { withPositions: boolean }) =>
    (f.withPositions
      ? 'fn with_position(v: f32, r: u32, c: u32) -> f32 { return v + P[(r % p.seqlen + p.posOffset) * p.cols + c]; }\n'
      : 'fn with_position(v: f32, r: u32, c: u32) -> f32 { return v; }\n') + wgsl.section('embed'),
});

/**
 * X[r, :] = table[tok[r] − vStart, :] (+ positions[r mod seqlen + posOffset, :]) for the rows whose
 * token lies in this chunk of the vocabulary [vStart, vStart + vCount).
 */
export function embedTokens(
  gpu: Gpu,
  tokens: Binding,
  table: Binding,
  X: Binding,
  o: { rows: number; cols: number; vStart: number; vCount: number; seqlen: number; positions?: Binding | null; posOffset?: number },
): void {
  const withPositions = o.positions != null;
  embedKernel.run(gpu, {
    flags: { withPositions },
    uniforms: { rows: o.rows, cols: o.cols, vStart: o.vStart, vCount: o.vCount, seqlen: o.seqlen, posOffset: o.posOffset ?? 0 },
    bindings: withPositions ? { tokens, E: table, P: o.positions!, X } : { tokens, E: table, X },
    threads: o.rows * o.cols,
  });
}
