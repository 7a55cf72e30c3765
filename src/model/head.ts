/**
 * The head as a stateless stage: final norm, lm_head and next-token NLL per row. Logits are formed
 * in chunks of rows × vocabulary, so a large vocabulary never needs one [rows, vocab] buffer.
 */
import type { Gpu, GpuTensor } from '../gpu/runtime';
import { withScope } from '../gpu/scope';
import { IGNORE_TARGET, lossChunk, nllFromState } from '../kernels/loss';
import { softcap } from '../kernels/activation';
import { rowNorm } from '../kernels/norm';
import type { ModelConfig } from './config';
import { chunkProduct } from './gpuWeights';
import { ForwardError, type Hidden, type Norm, type VocabTable } from './tensors';

export interface HeadWeights {
  norm: Norm;
  table: VocabTable;
}

/** Logits [rows, count] for vocabulary ids start…start+count−1 of rows r0…r0+rows−1; ci is the chunk's index. */
export type LogitsVisitor = (logits: GpuTensor, r0: number, rows: number, start: number, count: number, ci: number) => void | Promise<void>;

/**
 * Runs the final norm and lm_head over row chunks and vocabulary chunks, handing each logits
 * chunk to `visit`; one chunk of logits stays within `logitsBytes`.
 */
async function eachLogitsChunk(gpu: Gpu, config: ModelConfig, w: HeadWeights, h: Hidden, logitsBytes: number, visit: LogitsVisitor): Promise<void> {
  const d = config.hidden;
  const { chunks } = w.table;
  await withScope(gpu, async (scope) => {
    const normed = scope.tensor([h.rows, d]);
    rowNorm(gpu, h.x, normed, { rows: h.rows, cols: d, eps: config.normEps, weight: w.norm.w, bias: w.norm.b, offset: config.normOffset });
    const widest = Math.max(...chunks.map((ch) => ch.count));
    const rowChunk = Math.max(1, Math.min(h.rows, Math.floor(logitsBytes / (4 * widest))));
    const logits = scope.tensor([rowChunk, widest]);
    for (let r0 = 0; r0 < h.rows; r0 += rowChunk) {
      const R = Math.min(rowChunk, h.rows - r0);
      for (let ci = 0; ci < chunks.length; ci++) {
        const ch = chunks[ci];
        chunkProduct(gpu, normed, w.table, ch, logits, { rows: R, offA: r0 * d, ldc: ch.count });
        if (config.finalSoftcap !== null) softcap(gpu, logits, R * ch.count, config.finalSoftcap);
        await visit(logits, r0, R, ch.start, ch.count, ci);
      }
    }
  });
}

/**
 * Negative log-likelihood of `targets[r]` after row r (float64 per row; NaN where the target is
 * IGNORE_TARGET). Next-token targets within each window: see nextTokenTargets.
 */
export async function headNll(gpu: Gpu, config: ModelConfig, w: HeadWeights, h: Hidden, targets: Uint32Array, logitsBytes: number): Promise<Float64Array> {
  return withScope(gpu, async (scope) => {
    const tgt = scope.upload(targets, [h.rows]);
    const state = scope.tensor([h.rows, 3]);
    await eachLogitsChunk(gpu, config, w, h, logitsBytes, (logits, r0, R, start, count, ci) =>
      lossChunk(gpu, logits, tgt, state, { rows: R, cols: count, vStart: start, rowOff: r0, first: ci === 0 }),
    );
    return nllFromState(await gpu.read(state), targets);
  });
}

/** Checks NLL targets against the batch and the vocabulary (before any weight is loaded). */
export function checkTargets(config: ModelConfig, h: Hidden, targets: Uint32Array): void {
  if (targets.length !== h.rows) throw new ForwardError(`headNll: ${targets.length} targets for ${h.rows} rows.`);
  const vocab = config.vocab;
  for (const t of targets) if (t !== IGNORE_TARGET && t >= vocab) throw new ForwardError(`Target id ${t} is outside the vocabulary (0..${vocab - 1}).`);
}

/** All logits [rows, vocab] read back to the CPU (tests, small vocabularies). */
export async function headLogits(gpu: Gpu, config: ModelConfig, w: HeadWeights, h: Hidden, logitsBytes: number): Promise<Float32Array> {
  const V = config.vocab;
  const out = new Float32Array(h.rows * V);
  await eachLogitsChunk(gpu, config, w, h, logitsBytes, async (logits, r0, R, start, count) => {
    const chunk = await gpu.read(logits, R * count);
    for (let r = 0; r < R; r++) out.set(chunk.subarray(r * count, (r + 1) * count), (r0 + r) * V + start);
  });
  return out;
}

/** Targets for next-token prediction: row r predicts token r+1 of its window; the last row of each window predicts nothing. */
export function nextTokenTargets(tokens: ArrayLike<number>, windows: number, seqlen: number): Uint32Array {
  const targets = new Uint32Array(windows * seqlen);
  for (let w = 0; w < windows; w++) {
    for (let t = 0; t < seqlen; t++) {
      const r = w * seqlen + t;
      targets[r] = t + 1 < seqlen ? tokens[r + 1] : IGNORE_TARGET;
    }
  }
  return targets;
}

export { IGNORE_TARGET };
