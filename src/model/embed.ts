/**
 * The embedding stage and the limits of a batch. A batch holds `windows` independent windows of
 * `seqlen` consecutive rows each: positions restart and attention is causal within each window.
 */
import type { Gpu, GpuTensor } from '../gpu/runtime';
import { scaleInPlace } from '../kernels/activation';
import { addPositions, embedTokens } from '../kernels/embedding';
import type { Architecture } from './architectures';
import type { ModelConfig } from './config';
import { ForwardError, type Hidden, type VocabTable, type Weight } from './tensors';

function learnedPositions(arch: Architecture): number {
  return arch.tensors.get(arch.positions!)![0] - arch.config.positionOffset;
}

/** Largest window this model can evaluate (the learned position table; rotary models: any). */
export function maxSeqlen(arch: Architecture): number {
  return arch.config.positions === 'learned' ? learnedPositions(arch) : Infinity;
}

function checkSeqlen(arch: Architecture, seqlen: number): void {
  const c = arch.config;
  if (!Number.isInteger(seqlen) || seqlen < 1) throw new ForwardError(`The window length must be a positive integer, got ${seqlen}.`);
  if (c.positions === 'learned') {
    const table = learnedPositions(arch);
    if (seqlen > table) throw new ForwardError(`Windows of ${seqlen} tokens exceed this model's ${table} learned positions; use a shorter window.`);
  }
}

/** GPU memory per row of a batch in a block (hidden, normed, q|k|v, attention, MLP). */
export function bytesPerRow(arch: Architecture): number {
  const c = arch.config;
  const qkv = arch.qCols + 2 * arch.kvCols;
  // Fused gate|up: its [2·I] output and the [I] product; Gemma's post-norms: one more [hidden].
  const mlp = (c.family === 'phi3' ? 3 : c.gatedMlp ? 2 : 1) * c.intermediate;
  return 4 * ((c.sandwichNorms ? 4 : 3) * c.hidden + qkv + arch.qCols + mlp);
}

/** Most rows (windows × seqlen) one batch may have: every activation must fit one storage binding of `bufferLimit` bytes. */
export function maxBatchRows(arch: Architecture, bufferLimit: number): number {
  const c = arch.config;
  const widest = Math.max(c.hidden, arch.qCols + 2 * arch.kvCols, (c.family === 'phi3' ? 2 : 1) * c.intermediate);
  return Math.floor(bufferLimit / (4 * widest));
}

/** Checks a batch against the model and the GPU's limits and returns its token ids. */
export function batchIds(arch: Architecture, tokens: ArrayLike<number>, windows: number, seqlen: number, maxRows: number): Uint32Array {
  const vocab = arch.config.vocab;
  checkSeqlen(arch, seqlen);
  const rows = windows * seqlen;
  if (rows > maxRows) {
    throw new ForwardError(`A batch of ${rows} tokens is more than this GPU can hold in one buffer (${maxRows}); use fewer windows per batch.`);
  }
  if (tokens.length !== rows) throw new ForwardError(`embed: ${tokens.length} tokens for ${windows} windows of ${seqlen}.`);
  const ids = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) {
    const t = tokens[i];
    if (!Number.isInteger(t) || t < 0 || t >= vocab) throw new ForwardError(`Token id ${t} at position ${i} is outside the model's vocabulary (0..${vocab - 1}).`);
    ids[i] = t;
  }
  return ids;
}

/**
 * Token (+ learned position) embeddings of a checked batch, row-major [rows, hidden]. A position
 * table in one f32 chunk is added in the token pass; one in chunks or 16-bit values in passes of its own.
 * `start`: the position of each window's first row (decoding appends rows after the cached ones).
 */
export function embed(gpu: Gpu, config: ModelConfig, ids: Uint32Array, table: VocabTable, positions: Weight | null, windows: number, seqlen: number, start = 0): Hidden {
  const rows = ids.length;
  const tok = gpu.upload(ids, [rows]);
  const x = gpu.tensor([rows, config.hidden]);
  const shape = { rows, cols: config.hidden, seqlen, posOffset: config.positionOffset + start };
  const fused: GpuTensor | null = positions && positions.format === 'f32' && positions.chunks.length === 1 ? positions.chunks[0].t : null;
  for (const chunk of table.chunks) {
    embedTokens(gpu, tok, chunk.t, x, { ...shape, vStart: chunk.start, vCount: chunk.count, format: table.format, positions: fused });
  }
  if (positions && !fused) {
    for (const chunk of positions.chunks) addPositions(gpu, chunk.t, x, { ...shape, vStart: chunk.start, vCount: chunk.count, format: positions.format });
  }
  tok.dispose();
  // Gemma: embeddings × √hidden (rounded to f32, as transformers' embed_scale tensor in a float32 model).
  if (config.embedScale !== 1) scaleInPlace(gpu, x, rows * config.hidden, config.embedScale);
  return { x, windows, seqlen, rows };
}
