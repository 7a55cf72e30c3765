/**
 * Incremental decoding with a KV cache: each step embeds only the new tokens, runs every block on
 * them with runBlock (the same norms, projections and MLP as the full-sequence pass) and hands
 * runBlock an `attend` hook that rotates the new q and k at their positions, appends k and v to the
 * cache and attends to the cached rows. The linears go through `product` when given (the sparse
 * kernels of decodeLinears.ts). Only the last row goes through the head.
 * Every family: rotary ones (Llama/SmolLM, Mistral, Qwen2, Qwen3, Gemma 3, Phi-3) rotate q and k at
 * the new rows' positions; learned ones (GPT-2, OPT) embed the new rows at their positions.
 */
import type { Gpu, GpuTensor } from '../gpu/runtime';
import { decodeAttention, kvAppend } from '../kernels/decode';
import { applyRotary } from '../kernels/rotary';
import { runBlock, type AttendShape, type LinearProduct } from './block';
import { attentionScale, ropeInvFreq } from './config';
import type { ModelRunner } from './forward';
import { KvCache } from './kvCache';
import type { Hidden } from './tensors';
import { checkBlockShapes } from './weights';

/** Why this model cannot decode incrementally, or null when it can. */
function sameFreq(a: Float64Array, b: Float64Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export class Decoder {
  readonly cache: KvCache;
  private readonly gpu: Gpu;
  /** LongRoPE picks its factors by the sequence length: the table is then taken per step, as the full pass does. */
  private readonly lengthDependentRope: boolean;
  /** The tokens in the cache (re-run when LongRoPE switches factors). */
  private ids: number[] = [];

  constructor(
    readonly runner: ModelRunner,
    capacity: number,
    private readonly product?: LinearProduct,
  ) {
    this.gpu = runner.gpu;
    if (capacity > runner.maxSeqlen()) throw new Error(`Decoder: ${capacity} positions exceed this model's ${runner.maxSeqlen()} learned positions.`);
    this.cache = new KvCache(this.gpu, runner.config.layers, capacity);
    this.lengthDependentRope = runner.config.positions === 'rotary' && !this.sameRope(1, Number.MAX_SAFE_INTEGER);
  }

  /** Whether sequences of `a` and of `b` tokens rotate with the same frequencies in every block. */
  private sameRope(a: number, b: number): boolean {
    const c = this.runner.config;
    for (let l = 0; l < c.layers; l++) if (!sameFreq(ropeInvFreq(c, a, l), ropeInvFreq(c, b, l))) return false;
    return true;
  }

  /** Positions decoded so far. */
  get length(): number {
    return this.cache.length;
  }

  private attend(pos: number) {
    const c = this.runner.config;
    const gpu = this.gpu;
    return (layer: number, qkv: GpuTensor, attn: GpuTensor, s: AttendShape) => {
      if (c.positions === 'rotary') {
        const table = this.runner.store.rotaryTable(this.lengthDependentRope ? pos + s.rows : this.cache.capacity, layer);
        // The new rows sit at positions pos…pos+rows−1 of the table.
        applyRotary(gpu, qkv, table, { rows: s.rows, seqlen: s.rows, ld: s.ld, heads: s.heads + s.kvHeads, headDim: c.headDim, rotaryDim: c.rotaryDim, posOffset: pos });
      }
      const kv = this.cache.layer(layer, s.kvCols);
      const shape = { rows: s.rows, pos, ld: s.ld, qCols: s.qCols, kvCols: s.kvCols };
      kvAppend(gpu, qkv, kv, shape);
      decodeAttention(gpu, qkv, kv, attn, {
        ...shape,
        heads: s.heads,
        kvHeads: s.kvHeads,
        headDim: c.headDim,
        scale: attentionScale(c, layer),
        window: this.runner.arch.blocks[layer].slidingWindow,
      });
    };
  }

  /** Runs the new tokens through every block (appending them to the cache); returns their last hidden row. */
  private async blocks(tokens: readonly number[]): Promise<Hidden> {
    const n = tokens.length;
    const pos = this.cache.length;
    if (n < 1) throw new Error('Decoder: no tokens to decode.');
    if (pos + n > this.cache.capacity) throw new Error(`Decoder: ${pos + n} positions exceed the cache's ${this.cache.capacity}.`);
    const h = await this.runner.embed(tokens, 1, n, pos);
    try {
      const attend = this.attend(pos);
      for (let l = 0; l < this.runner.config.layers; l++) {
        const w = await this.runner.store.block(l);
        checkBlockShapes(this.runner.config, l, w);
        await runBlock(this.gpu, this.runner.arch, l, w, h, null, { attend, product: this.product });
      }
      this.cache.length = pos + n;
      if (n === 1) return h;
      const last = this.gpu.tensor([1, this.runner.config.hidden]);
      this.gpu.copy(h.x, last, 4 * this.runner.config.hidden, 4 * (n - 1) * this.runner.config.hidden, 0);
      h.x.dispose();
      return { x: last, windows: 1, seqlen: 1, rows: 1 };
    } catch (error) {
      h.x.dispose();
      throw error;
    }
  }

  /** Appends `tokens` at the next positions and returns the next-token logits after the last of them. */
  async step(tokens: readonly number[]): Promise<Float32Array> {
    let run = tokens;
    const held = this.cache.length;
    if (this.lengthDependentRope && held > 0 && !this.sameRope(held, held + tokens.length)) {
      // LongRoPE switched factors with the length: the full pass then rotates every position with
      // the new ones, so the cached rows are recomputed rather than kept.
      run = [...this.ids, ...tokens];
      this.cache.length = 0;
      this.ids = [];
    }
    const h = await this.blocks(run);
    this.ids.push(...run);
    try {
      return await this.runner.logits(h);
    } finally {
      h.x.dispose();
    }
  }

  dispose(): void {
    this.cache.dispose();
  }
}
