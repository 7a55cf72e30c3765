import code from '../../shaders/loss.wgsl?raw';
import type { Binding, Gpu } from '../gpu/runtime';
import { flatGrid } from './grid';

/** Target id of rows that predict nothing (the last token of each window). */
export const IGNORE_TARGET = 0xffffffff;

/**
 * Folds a chunk of logits L [rows, cols] (vocabulary ids vStart…vStart+cols−1, rows rowOff… of
 * the batch) into the per-row state [totalRows, 3] = (max, Σexp, target logit). `first` starts
 * the state afresh (the first vocabulary chunk).
 */
export function lossChunk(
  gpu: Gpu,
  L: Binding,
  targets: Binding,
  state: Binding,
  o: { rows: number; cols: number; ld?: number; vStart: number; rowOff: number; first: boolean },
): void {
  gpu.dispatch({
    pipeline: { code, entryPoint: 'loss_chunk' },
    uniforms: [o.rows, o.cols, o.ld ?? o.cols, o.vStart, o.rowOff, o.first ? 1 : 0, 0, 0].map((u32) => ({ u32 })),
    bindings: [L, targets, state],
    workgroups: flatGrid(o.rows),
  });
}

/** nll = m + log(s) − target logit, per row, in float64 from the state read back. */
export function nllFromState(state: Float32Array, targets: ArrayLike<number>): Float64Array {
  const out = new Float64Array(targets.length);
  for (let r = 0; r < targets.length; r++) {
    out[r] = targets[r] === IGNORE_TARGET ? NaN : state[3 * r] + Math.log(state[3 * r + 1]) - state[3 * r + 2];
  }
  return out;
}
