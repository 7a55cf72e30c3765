/**
 * The GPU forward pass, stage by stage, so that a calibration pipeline can drive it:
 *   embed(tokens)        → hidden states [windows·seqlen, hidden] (token + learned positions)
 *   block(l, hidden)     → hidden states after block l, in place; optionally hands out the input
 *                          of every linear layer (to accumulate XᵀX) and stops after a given one
 *   headNll(hidden)      → final norm, lm_head and next-token NLL per row
 *
 * ModelRunner is a thin facade: WeightStore (weights.ts) decides what is on the GPU and holds the
 * replaced linears; the stages (embed.ts, block.ts, head.ts) are stateless functions of the
 * weights they are handed. Weights are read from the checkpoint lazily, a block at a time, and can
 * be replaced (pruned versions) with setLinear; `maxResidentBlocks: 1` keeps a single block on the GPU.
 */
import type { Gpu } from '../gpu/runtime';
import type { Architecture } from './architectures';
import { runBlock, type BlockOptions } from './block';
import type { ModelConfig } from './config';
import { batchIds, bytesPerRow, embed, maxBatchRows, maxSeqlen } from './embed';
import { checkTargets, headLogits, headNll, nextTokenTargets, type HeadWeights } from './head';
import type { TensorSource } from './loader';
import { ForwardError, type Hidden } from './tensors';
import { checkBlockShapes, WeightStore, type LinearOverride, type LinearReplacement } from './weights';

export type { BlockOptions, CapturedInput } from './block';
export { IGNORE_TARGET, nextTokenTargets } from './head';
export { ForwardError, type Hidden } from './tensors';
export type { LinearOverride, LinearReplacement } from './weights';

export interface RunnerOptions {
  /** Keep at most this many blocks' weights on the GPU, least recently used evicted. Default: all. */
  maxResidentBlocks?: number;
  /** Largest buffer of any one weight in bytes (larger ones are cut into row chunks); default: what one binding allows. */
  maxTableChunkBytes?: number;
  /** Budget for one chunk of logits [rows, vocab chunk] in the head; default 128 MiB. */
  maxLogitsBytes?: number;
}

const MiB = 1 << 20;

export class ModelRunner {
  readonly config: ModelConfig;
  readonly store: WeightStore;
  /** Largest storage binding we use (device limits less the pool's rounding). */
  private readonly bufferLimit: number;
  private readonly logitsBudget: number;

  constructor(
    readonly gpu: Gpu,
    readonly arch: Architecture,
    readonly source: TensorSource,
    options: RunnerOptions = {},
  ) {
    this.config = arch.config;
    const limits = gpu.limits;
    // The pool rounds buffers up to whole MiB: keep one MiB of headroom below the device limits.
    const device = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) - MiB;
    const hiddenRow = 4 * this.config.hidden;
    this.bufferLimit = Math.max(hiddenRow, device);
    this.logitsBudget = Math.min(this.bufferLimit, options.maxLogitsBytes ?? 128 * MiB);
    this.store = new WeightStore(gpu, arch, source, {
      maxResidentBlocks: options.maxResidentBlocks,
      bindingBytes: Math.max(hiddenRow, Math.min(device, options.maxTableChunkBytes ?? Infinity)),
    });
  }

  // ------------------------------------------------------------------ weights (see WeightStore)

  /** Uploads block l's weights (checkpoint, or overrides) unless resident; evicts beyond the budget. */
  async loadBlock(layer: number): Promise<void> {
    await this.store.block(layer);
  }

  /** Frees block l's GPU weights (they are re-read, with overrides, when next used). */
  releaseBlock(layer: number): void {
    this.store.releaseBlock(layer);
  }

  residentBlocks(): number[] {
    return this.store.residentBlocks();
  }

  /** Replaces a linear layer's weight (nn.Linear [out, in]) for every later forward pass; see WeightStore.setLinear. */
  setLinear(layer: number, name: string, weight: Float32Array, options: LinearReplacement = {}): void {
    this.store.setLinear(layer, name, weight, options);
  }

  /** The current weight of a linear (override, else the checkpoint's), as nn.Linear [out, in]. */
  getLinear(layer: number, name: string): Promise<Float32Array> {
    return this.store.getLinear(layer, name);
  }

  /** The replacements made so far, keyed by tensor name (for export). */
  linearOverrides(): ReadonlyMap<string, LinearOverride> {
    return this.store.linearOverrides();
  }

  /** Forgets all replacements; resident blocks are reloaded from the checkpoint when next used. */
  clearOverrides(): void {
    this.store.clearOverrides();
  }

  /** Frees the token (and position) embedding tables. With a tied head this frees the head too. */
  releaseEmbedding(): void {
    this.store.releaseEmbedding();
  }

  /** Frees the final norm and lm_head. With a tied head this frees the token embedding too. */
  releaseHead(): void {
    this.store.releaseHead();
  }

  /** Frees every GPU buffer this runner holds. */
  dispose(): void {
    this.store.dispose();
  }

  // ------------------------------------------------------------------ stages

  /** Largest window this model can evaluate (position table, sliding window). */
  maxSeqlen(): number {
    return maxSeqlen(this.arch);
  }

  /** GPU memory per row of a batch in block() (hidden, normed, q|k|v, attention, MLP). */
  bytesPerRow(): number {
    return bytesPerRow(this.arch);
  }

  /** Most rows (windows × seqlen) one batch may have: every activation must fit one storage binding. */
  maxBatchRows(): number {
    return maxBatchRows(this.arch, this.bufferLimit);
  }

  /** Token (+ learned position) embeddings of `windows` windows of `seqlen` tokens, row-major; each window's first row at position `start`. */
  async embed(tokens: ArrayLike<number>, windows: number, seqlen: number, start = 0): Promise<Hidden> {
    if (start > 0 && start + seqlen > this.maxSeqlen()) throw new ForwardError(`Positions up to ${start + seqlen} exceed this model's ${this.maxSeqlen()} learned positions; use a shorter sequence.`);
    const ids = batchIds(this.arch, tokens, windows, seqlen, this.maxBatchRows());
    const table = await this.store.vocabTable(this.arch.embed);
    const positions = await this.store.positions();
    return embed(this.gpu, this.config, ids, table, positions, windows, seqlen, start);
  }

  /**
   * Runs block `layer` on the batch, in place (or into options.out). With `capture`, hands out the
   * input of each linear group as it becomes available; with `stopAfter`, returns right after that
   * capture and leaves the hidden state untouched (for true-sequential re-capture).
   */
  async block(layer: number, h: Hidden, options: BlockOptions = {}): Promise<void> {
    const w = await this.store.block(layer);
    // setLinear may have changed one MLP layer's width and not yet the others.
    checkBlockShapes(this.config, layer, w);
    const rotary = this.config.positions === 'rotary' ? this.store.rotaryTable(h.seqlen, layer) : null;
    await runBlock(this.gpu, this.arch, layer, w, h, rotary, options);
  }

  private async headWeights(): Promise<HeadWeights> {
    const norm = await this.store.finalNorm();
    return { norm, table: await this.store.vocabTable(this.arch.lmHead) };
  }

  /**
   * Negative log-likelihood of `targets[r]` after row r (float64 per row; NaN where the target is
   * IGNORE_TARGET). Targets default to the next token within each window (see nextTokenTargets).
   */
  async headNll(h: Hidden, targets: Uint32Array): Promise<Float64Array> {
    checkTargets(this.config, h, targets);
    return headNll(this.gpu, this.config, await this.headWeights(), h, targets, this.logitsBudget);
  }

  /** All logits [rows, vocab] read back to the CPU (tests, small vocabularies). */
  async logits(h: Hidden): Promise<Float32Array> {
    return headLogits(this.gpu, this.config, await this.headWeights(), h, this.logitsBudget);
  }

  /** Embedding, every block and `finish` on the final hidden states, which are then freed. */
  private async through<T>(tokens: ArrayLike<number>, windows: number, seqlen: number, finish: (h: Hidden) => Promise<T>): Promise<T> {
    const h = await this.embed(tokens, windows, seqlen);
    try {
      for (let l = 0; l < this.config.layers; l++) await this.block(l, h);
      return await finish(h);
    } finally {
      h.x.dispose();
    }
  }

  /** Embedding, every block and the head for a batch of windows: NLL of each next token. */
  windowsNll(tokens: ArrayLike<number>, windows: number, seqlen: number): Promise<Float64Array> {
    return this.through(tokens, windows, seqlen, (h) => this.headNll(h, nextTokenTargets(tokens, windows, seqlen)));
  }

  /** Embedding, every block and the head: logits [rows, vocab] of a batch (tests). */
  forwardLogits(tokens: ArrayLike<number>, windows: number, seqlen: number): Promise<Float32Array> {
    return this.through(tokens, windows, seqlen, (h) => this.logits(h));
  }
}
