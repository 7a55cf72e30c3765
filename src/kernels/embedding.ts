import code from '../../shaders/embedding.wgsl?raw';
import type { Binding, Gpu } from '../gpu/runtime';
import { flatGrid } from './grid';

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
  const hasPositions = o.positions != null;
  gpu.dispatch({
    pipeline: { code, entryPoint: 'embed', constants: { HAS_POSITIONS: hasPositions ? 1 : 0 } },
    uniforms: [o.rows, o.cols, o.vStart, o.vCount, o.seqlen, o.posOffset ?? 0, 0, 0].map((u32) => ({ u32 })),
    bindings: [tokens, table, o.positions ?? table, X],
    workgroups: flatGrid(o.rows * o.cols),
  });
}
