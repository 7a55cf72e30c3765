import file from '../../shaders/loss.wgsl?raw';
import { defineKernel, wgslSections } from '../gpu/kernel';
import type { Binding, Gpu } from '../gpu/runtime';

/** Target id of rows that predict nothing (the last token of each window). */
export const IGNORE_TARGET = 0xffffffff;

const lossChunkKernel = defineKernel({
  name: 'loss_chunk',
  uniforms: { rows: 'u32', cols: 'u32', ld: 'u32', vStart: 'u32', rowOff: 'u32', first: 'u32' },
  bindings: { L: { type: 'f32' }, targets: { type: 'u32' }, state: { type: 'f32', access: 'read_write' } },
  workgroupSize: [64],
  source: () => wgslSections(file).section('loss_chunk'),
});

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
  lossChunkKernel.run(gpu, {
    uniforms: { rows: o.rows, cols: o.cols, ld: o.ld ?? o.cols, vStart: o.vStart, rowOff: o.rowOff, first: o.first ? 1 : 0 },
    bindings: { L, targets, state },
    threads: o.rows,
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
