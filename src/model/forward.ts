/**
 * The GPU forward pass, stage by stage, so that a calibration pipeline can drive it:
 *   embed(tokens)        → hidden states [windows·seqlen, hidden] (token + learned positions)
 *   block(l, hidden)     → hidden states after block l, in place; optionally hands out the input
 *                          of every linear layer (to accumulate XᵀX) and stops after a given one
 *   headNll(hidden)      → final norm, lm_head and next-token NLL per row
 * A batch holds `windows` independent windows of `seqlen` consecutive rows each: positions restart
 * and attention is causal within each window.
 *
 * Weights are read from the checkpoint lazily, a block at a time, and can be replaced (pruned
 * versions) with setLinear; `maxResidentBlocks: 1` keeps a single block on the GPU.
 */
import type { Gpu, GpuTensor } from '../gpu/runtime';
import { biasAct, activate, gatedAct } from '../kernels/activation';
import { causalAttention } from '../kernels/attention';
import { embedTokens } from '../kernels/embedding';
import { IGNORE_TARGET, lossChunk, nllFromState } from '../kernels/loss';
import { matmul } from '../kernels/matmul';
import { rowNorm } from '../kernels/norm';
import { applyRotary, rotaryTable } from '../kernels/rotary';
import { findLinear, fromStored, type Architecture, type LinearSpec, type NormSpec, type Site } from './architectures';
import { attentionScale, ropeInvFreq, type ModelConfig } from './config';
import type { TensorSource } from './loader';

export interface RunnerOptions {
  /** Keep at most this many blocks' weights on the GPU, least recently used evicted. Default: all. */
  maxResidentBlocks?: number;
  /** Largest chunk of the embedding / lm_head table in bytes; default: what one binding allows. */
  maxTableChunkBytes?: number;
  /** Budget for one chunk of logits [rows, vocab chunk] in the head; default 128 MiB. */
  maxLogitsBytes?: number;
}

/** Hidden states of a batch: `windows` windows of `seqlen` tokens, rows = windows·seqlen. */
export interface Hidden {
  x: GpuTensor;
  windows: number;
  seqlen: number;
  rows: number;
}

/** The input of one or more linear layers of a block, as captured during block(). */
export interface CapturedInput {
  layer: number;
  site: Site;
  /** Names of the linears (module paths in the block) that read this input. */
  linears: string[];
  /** Dense [rows, cols]; valid only during the callback (record GPU work on it, or copy it). */
  input: GpuTensor;
  rows: number;
  cols: number;
}

export interface BlockOptions {
  /** Called when the input of a linear group is ready; GPU work it records runs in order. */
  capture?: (c: CapturedInput) => void | Promise<void>;
  /** Sites to hand to `capture` (default: all four). */
  captureSites?: readonly Site[];
  /** Stop right after capturing this site; the hidden state is then left unchanged. */
  stopAfter?: Site;
  /** Write the block's output here instead of in place (same shape as the input). */
  out?: GpuTensor;
}

/** A replacement (pruned, or channel-reduced) linear layer, in nn.Linear layout [out, in]. */
export interface LinearOverride {
  weight: Float32Array;
  out: number;
  in: number;
  /** Replacement bias; undefined keeps the checkpoint's, null removes it. */
  bias?: Float32Array | null;
}

interface Norm {
  w: GpuTensor;
  b: GpuTensor | null;
}

interface Linear {
  spec: LinearSpec;
  w: GpuTensor;
  b: GpuTensor | null;
  out: number;
  in: number;
}

interface BlockWeights {
  attnNorm: Norm;
  mlpNorm: Norm;
  linears: Map<string, Linear>;
  lastUse: number;
}

interface VocabTable {
  /** Row chunks of a [vocab, hidden] table, each within one storage binding. */
  chunks: { start: number; count: number; t: GpuTensor }[];
}

export class ForwardError extends Error {
  override name = 'ForwardError';
}

const MiB = 1 << 20;

export class ModelRunner {
  readonly config: ModelConfig;
  private readonly blocks = new Map<number, BlockWeights>();
  private readonly loading = new Map<number, Promise<BlockWeights>>();
  private readonly overrides = new Map<string, LinearOverride>();
  private readonly tables = new Map<string, VocabTable>();
  private readonly tableLoading = new Map<string, Promise<VocabTable>>();
  private positions: GpuTensor | null = null;
  private finalNorm: Norm | null = null;
  private readonly rotary = new Map<number, GpuTensor>();
  private useClock = 0;
  private readonly maxResident: number;
  /** Largest storage binding we use (device limits less the pool's rounding). */
  private readonly bufferLimit: number;
  private readonly tableChunkLimit: number;
  private readonly logitsBudget: number;

  constructor(
    readonly gpu: Gpu,
    readonly arch: Architecture,
    readonly source: TensorSource,
    options: RunnerOptions = {},
  ) {
    this.config = arch.config;
    this.maxResident = Math.max(1, options.maxResidentBlocks ?? Infinity);
    const limits = gpu.limits;
    // The pool rounds buffers up to whole MiB: keep one MiB of headroom below the device limits.
    const device = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) - MiB;
    this.bufferLimit = Math.max(4 * this.config.hidden, device);
    this.tableChunkLimit = Math.max(4 * this.config.hidden, Math.min(device, options.maxTableChunkBytes ?? Infinity));
    this.logitsBudget = Math.min(this.bufferLimit, options.maxLogitsBytes ?? 128 * MiB);
  }

  // ------------------------------------------------------------------ weights

  private async upload(name: string, expect: number): Promise<GpuTensor> {
    const data = await this.source.readF32(name);
    if (data.length !== expect) throw new ForwardError(`Tensor ${name} has ${data.length} values, expected ${expect}.`);
    return this.gpu.upload(data, [expect]);
  }

  private async loadNorm(spec: NormSpec): Promise<Norm> {
    const d = this.config.hidden;
    return { w: await this.upload(spec.weight, d), b: spec.bias ? await this.upload(spec.bias, d) : null };
  }

  private async loadLinear(layer: number, spec: LinearSpec): Promise<Linear> {
    const o = this.overrides.get(spec.weight);
    const out = o?.out ?? spec.out;
    const inp = o?.in ?? spec.in;
    const weight = o ? o.weight : fromStored(spec, await this.source.readF32(spec.weight));
    let bias: Float32Array | null = null;
    if (o && o.bias !== undefined) bias = o.bias;
    else if (spec.bias) bias = await this.source.readF32(spec.bias);
    if (bias && bias.length !== out) {
      throw new ForwardError(`Block ${layer} ${spec.name}: bias has ${bias.length} values for ${out} outputs.`);
    }
    return {
      spec,
      out,
      in: inp,
      w: this.gpu.upload(weight, [out, inp]),
      b: bias ? this.gpu.upload(bias, [out]) : null,
    };
  }

  /** Uploads block l's weights (checkpoint, or overrides) unless resident; evicts beyond the budget. */
  async loadBlock(layer: number): Promise<void> {
    await this.block_(layer);
  }

  private async block_(layer: number): Promise<BlockWeights> {
    const resident = this.blocks.get(layer);
    if (resident) {
      resident.lastUse = ++this.useClock;
      return resident;
    }
    let pending = this.loading.get(layer);
    if (!pending) {
      const spec = this.arch.blocks[layer];
      if (!spec) throw new RangeError(`Layer ${layer} is outside 0..${this.arch.blocks.length - 1}.`);
      pending = (async () => {
        // Evict first, so that a one-block budget never holds two blocks at once.
        this.evict(this.maxResident - 1, layer);
        const linears = new Map<string, Linear>();
        const attnNorm = await this.loadNorm(spec.attnNorm);
        const mlpNorm = await this.loadNorm(spec.mlpNorm);
        for (const lin of spec.linears) linears.set(lin.name, await this.loadLinear(layer, lin));
        const weights: BlockWeights = { attnNorm, mlpNorm, linears, lastUse: ++this.useClock };
        this.checkBlockShapes(layer, weights);
        this.blocks.set(layer, weights);
        return weights;
      })();
      this.loading.set(layer, pending);
      pending.finally(() => this.loading.delete(layer)).catch(() => undefined);
    }
    return pending;
  }

  private evict(keep: number, except: number): void {
    while (this.blocks.size > keep) {
      let victim = -1;
      let oldest = Infinity;
      for (const [l, b] of this.blocks) {
        if (l !== except && b.lastUse < oldest) {
          oldest = b.lastUse;
          victim = l;
        }
      }
      if (victim < 0) return;
      this.releaseBlock(victim);
    }
  }

  /** Frees block l's GPU weights (they are re-read, with overrides, when next used). */
  releaseBlock(layer: number): void {
    const b = this.blocks.get(layer);
    if (!b) return;
    this.blocks.delete(layer);
    for (const n of [b.attnNorm, b.mlpNorm]) {
      n.w.dispose();
      n.b?.dispose();
    }
    for (const l of b.linears.values()) {
      l.w.dispose();
      l.b?.dispose();
    }
  }

  residentBlocks(): number[] {
    return [...this.blocks.keys()].sort((a, b) => a - b);
  }

  /** Checks the dimensions of a block whose MLP width may have been changed by overrides. */
  private checkBlockShapes(layer: number, b: BlockWeights): void {
    const c = this.config;
    const mlpWidths = new Set<number>();
    for (const l of b.linears.values()) {
      const role = l.spec.role;
      const bad = (what: string) =>
        new ForwardError(`Block ${layer} ${l.spec.name}: ${what} (weight is ${l.out}×${l.in}).`);
      if (role === 'gate' || role === 'up' || role === 'fc') {
        if (l.in !== c.hidden) throw bad(`expected ${c.hidden} inputs`);
        mlpWidths.add(l.out);
      } else if (role === 'down') {
        if (l.out !== c.hidden) throw bad(`expected ${c.hidden} outputs`);
        mlpWidths.add(l.in);
      } else if (l.out !== l.spec.out || l.in !== l.spec.in) {
        throw bad(`attention projections must keep their shape ${l.spec.out}×${l.spec.in}`);
      }
    }
    if (mlpWidths.size !== 1) {
      throw new ForwardError(`Block ${layer}: the MLP layers disagree on the intermediate width (${[...mlpWidths].join(' vs ')}).`);
    }
  }

  /**
   * Replaces a linear layer's weight (nn.Linear layout [out, in]) for every later forward pass,
   * updating the GPU copy if the block is resident. Attention projections keep their shape; the
   * MLP's intermediate width may shrink (structured pruning) if all its layers are replaced.
   */
  setLinear(layer: number, name: string, weight: Float32Array, options: { out?: number; in?: number; bias?: Float32Array | null } = {}): void {
    const spec = findLinear(this.arch, layer, name);
    const out = options.out ?? spec.out;
    const inp = options.in ?? spec.in;
    if (weight.length !== out * inp) {
      throw new ForwardError(`Block ${layer} ${name}: replacement has ${weight.length} values, expected ${out}×${inp}.`);
    }
    const keepBias = options.bias === undefined;
    if (keepBias && spec.bias && out !== spec.out) {
      throw new ForwardError(`Block ${layer} ${name}: with ${out} outputs instead of ${spec.out}, give the matching bias too.`);
    }
    if (options.bias && options.bias.length !== out) {
      throw new ForwardError(`Block ${layer} ${name}: replacement bias has ${options.bias.length} values for ${out} outputs.`);
    }
    // The runner keeps `weight` (not a copy): later reloads of the block read it again.
    this.overrides.set(spec.weight, { weight, out, in: inp, bias: options.bias });
    const block = this.blocks.get(layer);
    if (!block) return;
    const old = block.linears.get(name)!;
    if (old.out === out && old.in === inp && keepBias) {
      this.gpu.write(old.w, weight);
      return;
    }
    old.w.dispose();
    let b = old.b;
    if (!keepBias) {
      old.b?.dispose();
      b = options.bias ? this.gpu.upload(options.bias, [out]) : null;
    }
    block.linears.set(name, { spec, out, in: inp, w: this.gpu.upload(weight, [out, inp]), b });
  }

  /** The current weight of a linear (override, else the checkpoint's), as nn.Linear [out, in]. */
  async getLinear(layer: number, name: string): Promise<Float32Array> {
    const spec = findLinear(this.arch, layer, name);
    const o = this.overrides.get(spec.weight);
    if (o) return o.weight;
    return fromStored(spec, await this.source.readF32(spec.weight));
  }

  /** The replacements made so far, keyed by tensor name (for export). */
  linearOverrides(): ReadonlyMap<string, LinearOverride> {
    return this.overrides;
  }

  /** Forgets all replacements; resident blocks are reloaded from the checkpoint when next used. */
  clearOverrides(): void {
    this.overrides.clear();
    for (const l of [...this.blocks.keys()]) this.releaseBlock(l);
  }

  private async vocabTable(name: string): Promise<VocabTable> {
    const resident = this.tables.get(name);
    if (resident) return resident;
    let pending = this.tableLoading.get(name);
    if (!pending) {
      pending = (async () => {
        const { vocab, hidden } = this.config;
        const data = await this.source.readF32(name);
        if (data.length !== vocab * hidden) throw new ForwardError(`Tensor ${name} has ${data.length} values, expected ${vocab}×${hidden}.`);
        const rowsPerChunk = Math.max(1, Math.floor(this.tableChunkLimit / (4 * hidden)));
        const chunks: VocabTable['chunks'] = [];
        for (let start = 0; start < vocab; start += rowsPerChunk) {
          const count = Math.min(rowsPerChunk, vocab - start);
          chunks.push({ start, count, t: this.gpu.upload(data.subarray(start * hidden, (start + count) * hidden), [count, hidden]) });
        }
        const table = { chunks };
        this.tables.set(name, table);
        return table;
      })();
      this.tableLoading.set(name, pending);
      pending.finally(() => this.tableLoading.delete(name)).catch(() => undefined);
    }
    return pending;
  }

  private releaseTable(name: string): void {
    const t = this.tables.get(name);
    if (!t) return;
    this.tables.delete(name);
    for (const c of t.chunks) c.t.dispose();
  }

  /** Frees the token (and position) embedding tables. With a tied head this frees the head too. */
  releaseEmbedding(): void {
    this.releaseTable(this.arch.embed);
    this.positions?.dispose();
    this.positions = null;
  }

  /** Frees the final norm and lm_head. With a tied head this frees the token embedding too. */
  releaseHead(): void {
    this.releaseTable(this.arch.lmHead);
    if (this.finalNorm) {
      this.finalNorm.w.dispose();
      this.finalNorm.b?.dispose();
      this.finalNorm = null;
    }
  }

  /** Frees every GPU buffer this runner holds. */
  dispose(): void {
    for (const l of [...this.blocks.keys()]) this.releaseBlock(l);
    this.releaseEmbedding();
    this.releaseHead();
    for (const t of this.rotary.values()) t.dispose();
    this.rotary.clear();
  }

  // ------------------------------------------------------------------ stages

  /** Largest window this model can evaluate (position table, sliding window). */
  maxSeqlen(): number {
    const c = this.config;
    let max = c.positions === 'learned' ? (this.arch.tensors.get(this.arch.positions!)![0] - c.positionOffset) : Infinity;
    if (c.slidingWindow !== null) max = Math.min(max, c.slidingWindow);
    return max;
  }

  private checkSeqlen(seqlen: number): void {
    const c = this.config;
    if (!Number.isInteger(seqlen) || seqlen < 1) throw new ForwardError(`The window length must be a positive integer, got ${seqlen}.`);
    if (c.positions === 'learned') {
      const table = this.arch.tensors.get(this.arch.positions!)![0] - c.positionOffset;
      if (seqlen > table) throw new ForwardError(`Windows of ${seqlen} tokens exceed this model's ${table} learned positions; use a shorter window.`);
    }
    if (c.slidingWindow !== null && seqlen > c.slidingWindow) {
      throw new ForwardError(
        `Windows of ${seqlen} tokens exceed the model's sliding_window=${c.slidingWindow}, and sliding-window attention is not supported here; use windows of at most ${c.slidingWindow} tokens.`,
      );
    }
  }

  /** GPU memory per row of a batch in block() (hidden, normed, q|k|v, attention, MLP). */
  bytesPerRow(): number {
    const c = this.config;
    const qkv = this.arch.qCols + 2 * this.arch.kvCols;
    return 4 * (3 * c.hidden + qkv + this.arch.qCols + (c.gatedMlp ? 2 : 1) * c.intermediate);
  }

  /** Most rows (windows × seqlen) one batch may have: every activation must fit one storage binding. */
  maxBatchRows(): number {
    const c = this.config;
    const widest = Math.max(c.hidden, this.arch.qCols + 2 * this.arch.kvCols, c.intermediate);
    return Math.floor(this.bufferLimit / (4 * widest));
  }

  /** Token (+ learned position) embeddings of `windows` windows of `seqlen` tokens, row-major. */
  async embed(tokens: ArrayLike<number>, windows: number, seqlen: number): Promise<Hidden> {
    const c = this.config;
    this.checkSeqlen(seqlen);
    const rows = windows * seqlen;
    if (rows > this.maxBatchRows()) {
      throw new ForwardError(`A batch of ${rows} tokens is more than this GPU can hold in one buffer (${this.maxBatchRows()}); use fewer windows per batch.`);
    }
    if (tokens.length !== rows) throw new ForwardError(`embed: ${tokens.length} tokens for ${windows} windows of ${seqlen}.`);
    const ids = new Uint32Array(rows);
    for (let i = 0; i < rows; i++) {
      const t = tokens[i];
      if (!Number.isInteger(t) || t < 0 || t >= c.vocab) throw new ForwardError(`Token id ${t} at position ${i} is outside the model's vocabulary (0..${c.vocab - 1}).`);
      ids[i] = t;
    }
    const table = await this.vocabTable(this.arch.embed);
    if (this.arch.positions && !this.positions) {
      const shape = this.arch.tensors.get(this.arch.positions)!;
      this.positions = await this.upload(this.arch.positions, shape[0] * shape[1]);
    }
    const tok = this.gpu.upload(ids, [rows]);
    const x = this.gpu.tensor([rows, c.hidden]);
    for (const chunk of table.chunks) {
      embedTokens(this.gpu, tok, chunk.t, x, {
        rows,
        cols: c.hidden,
        vStart: chunk.start,
        vCount: chunk.count,
        seqlen,
        positions: this.positions,
        posOffset: c.positionOffset,
      });
    }
    tok.dispose();
    return { x, windows, seqlen, rows };
  }

  private rotaryTableFor(seqlen: number): GpuTensor {
    let t = this.rotary.get(seqlen);
    if (!t) {
      t = this.gpu.upload(rotaryTable(ropeInvFreq(this.config), seqlen));
      this.rotary.set(seqlen, t);
    }
    return t;
  }

  /** out = input·Wᵀ (+ bias), written at column `off` of rows `ld` long, or accumulated (beta 1). */
  private linear(lin: Linear, input: GpuTensor, rows: number, out: GpuTensor, o: { ld?: number; off?: number; beta?: number } = {}): void {
    const ld = o.ld ?? lin.out;
    matmul(this.gpu, input, lin.w, out, { M: rows, N: lin.out, K: lin.in, transB: true, ldc: ld, offC: o.off ?? 0, beta: o.beta ?? 0 });
    if (lin.b) biasAct(this.gpu, out, lin.b, { rows, cols: lin.out, ld, off: o.off ?? 0 });
  }

  /**
   * Runs block `layer` on the batch, in place (or into options.out). With `capture`, hands out the
   * input of each linear group as it becomes available; with `stopAfter`, returns right after that
   * capture and leaves the hidden state untouched (for true-sequential re-capture).
   */
  async block(layer: number, h: Hidden, options: BlockOptions = {}): Promise<void> {
    const { gpu, config: c, arch } = this;
    const w = await this.block_(layer);
    // setLinear may have changed one MLP layer's width and not yet the others.
    this.checkBlockShapes(layer, w);
    const rows = h.rows;
    const d = c.hidden;
    const linears = arch.blocks[layer].linears;
    const get = (role: LinearSpec['role']) => {
      const spec = linears.find((l) => l.role === role);
      return spec ? w.linears.get(spec.name)! : undefined;
    };
    const sites = new Set(options.captureSites ?? ['attn_in', 'attn_out', 'mlp_in', 'mlp_mid']);
    const scratch: GpuTensor[] = [];
    const alloc = (shape: number[]) => {
      const t = gpu.tensor(shape);
      scratch.push(t);
      return t;
    };
    // Returns true when the caller asked to stop here.
    const capture = async (site: Site, input: GpuTensor, cols: number): Promise<boolean> => {
      if (options.capture && sites.has(site)) {
        const names = linears.filter((l) => l.site === site).map((l) => l.name);
        await options.capture({ layer, site, linears: names, input, rows, cols });
      }
      return options.stopAfter === site;
    };
    try {
      // The residual stream: in place, into `out`, or into a scratch copy when stopping early.
      let res: GpuTensor;
      if (options.stopAfter) res = options.stopAfter === 'mlp_in' || options.stopAfter === 'mlp_mid' ? alloc([rows, d]) : h.x;
      else res = options.out ?? h.x;
      if (res !== h.x) gpu.copy(h.x, res, rows * d * 4);

      // --- attention
      const normed = alloc([rows, d]);
      rowNorm(gpu, h.x, normed, { rows, cols: d, eps: c.normEps, weight: w.attnNorm.w, bias: w.attnNorm.b });
      if (await capture('attn_in', normed, d)) return;
      const qCols = arch.qCols;
      const kvCols = arch.kvCols;
      const ld = qCols + 2 * kvCols;
      const qkv = alloc([rows, ld]);
      const fused = get('qkv');
      if (fused) this.linear(fused, normed, rows, qkv);
      else {
        this.linear(get('q')!, normed, rows, qkv, { ld, off: 0 });
        this.linear(get('k')!, normed, rows, qkv, { ld, off: qCols });
        this.linear(get('v')!, normed, rows, qkv, { ld, off: qCols + kvCols });
      }
      if (c.positions === 'rotary') {
        applyRotary(gpu, qkv, this.rotaryTableFor(h.seqlen), { rows, seqlen: h.seqlen, ld, heads: c.heads + c.kvHeads, headDim: c.headDim });
      }
      const attn = alloc([rows, qCols]);
      causalAttention(gpu, qkv, attn, {
        windows: h.windows,
        seqlen: h.seqlen,
        heads: c.heads,
        kvHeads: c.kvHeads,
        headDim: c.headDim,
        ld,
        kOff: qCols,
        vOff: qCols + kvCols,
        outLd: qCols,
        scale: attentionScale(c, layer),
      });
      if (await capture('attn_out', attn, qCols)) return;
      this.linear(get('o')!, attn, rows, res, { beta: 1 });

      // --- MLP
      rowNorm(gpu, res, normed, { rows, cols: d, eps: c.normEps, weight: w.mlpNorm.w, bias: w.mlpNorm.b });
      if (await capture('mlp_in', normed, d)) return;
      const down = get('down')!;
      const width = down.in;
      const mid = alloc([rows, width]);
      if (c.gatedMlp) {
        const up = alloc([rows, width]);
        this.linear(get('gate')!, normed, rows, mid);
        this.linear(get('up')!, normed, rows, up);
        gatedAct(gpu, mid, up, rows * width, c.activation);
      } else {
        const fc = get('fc')!;
        matmul(gpu, normed, fc.w, mid, { M: rows, N: fc.out, K: fc.in, transB: true });
        if (fc.b) biasAct(gpu, mid, fc.b, { rows, cols: width }, c.activation);
        else activate(gpu, mid, { rows, cols: width }, c.activation);
      }
      if (await capture('mlp_mid', mid, width)) return;
      this.linear(down, mid, rows, res, { beta: 1 });
    } finally {
      for (const t of scratch) t.dispose();
    }
  }

  private async headWeights(): Promise<{ norm: Norm; table: VocabTable }> {
    if (!this.finalNorm) this.finalNorm = await this.loadNorm(this.arch.finalNorm);
    const table = await this.vocabTable(this.arch.lmHead);
    return { norm: this.finalNorm, table };
  }

  /**
   * Runs the final norm and lm_head over row chunks and vocabulary chunks, handing each logits
   * chunk [rows, count] (vocabulary ids start…start+count−1) to `visit`.
   */
  private async head(h: Hidden, visit: (logits: GpuTensor, r0: number, rows: number, start: number, count: number, ci: number) => void | Promise<void>): Promise<void> {
    const { gpu, config: c } = this;
    const { norm, table } = await this.headWeights();
    const d = c.hidden;
    const normed = gpu.tensor([h.rows, d]);
    rowNorm(gpu, h.x, normed, { rows: h.rows, cols: d, eps: c.normEps, weight: norm.w, bias: norm.b });
    const widest = Math.max(...table.chunks.map((ch) => ch.count));
    const rowChunk = Math.max(1, Math.min(h.rows, Math.floor(this.logitsBudget / (4 * widest))));
    const logits = gpu.tensor([rowChunk, widest]);
    try {
      for (let r0 = 0; r0 < h.rows; r0 += rowChunk) {
        const R = Math.min(rowChunk, h.rows - r0);
        for (let ci = 0; ci < table.chunks.length; ci++) {
          const ch = table.chunks[ci];
          matmul(gpu, normed, ch.t, logits, { M: R, N: ch.count, K: d, transB: true, offA: r0 * d });
          await visit(logits, r0, R, ch.start, ch.count, ci);
        }
      }
    } finally {
      logits.dispose();
      normed.dispose();
    }
  }

  /**
   * Negative log-likelihood of `targets[r]` after row r (float64 per row; NaN where the target is
   * IGNORE_TARGET). Targets default to the next token within each window (see nextTokenTargets).
   */
  async headNll(h: Hidden, targets: Uint32Array): Promise<Float64Array> {
    if (targets.length !== h.rows) throw new ForwardError(`headNll: ${targets.length} targets for ${h.rows} rows.`);
    const vocab = this.config.vocab;
    for (const t of targets) if (t !== IGNORE_TARGET && t >= vocab) throw new ForwardError(`Target id ${t} is outside the vocabulary (0..${vocab - 1}).`);
    const tgt = this.gpu.upload(targets, [h.rows]);
    const state = this.gpu.tensor([h.rows, 3]);
    try {
      await this.head(h, (logits, r0, R, start, count, ci) =>
        lossChunk(this.gpu, logits, tgt, state, { rows: R, cols: count, vStart: start, rowOff: r0, first: ci === 0 }),
      );
      return nllFromState(await this.gpu.read(state), targets);
    } finally {
      tgt.dispose();
      state.dispose();
    }
  }

  /** All logits [rows, vocab] read back to the CPU (tests, small vocabularies). */
  async logits(h: Hidden): Promise<Float32Array> {
    const V = this.config.vocab;
    const out = new Float32Array(h.rows * V);
    await this.head(h, async (logits, r0, R, start, count) => {
      const chunk = await this.gpu.read(logits, R * count);
      for (let r = 0; r < R; r++) out.set(chunk.subarray(r * count, (r + 1) * count), (r0 + r) * V + start);
    });
    return out;
  }

  /** Embedding, every block and the head for a batch of windows: NLL of each next token. */
  async windowsNll(tokens: ArrayLike<number>, windows: number, seqlen: number): Promise<Float64Array> {
    const h = await this.embed(tokens, windows, seqlen);
    try {
      for (let l = 0; l < this.config.layers; l++) await this.block(l, h);
      return await this.headNll(h, nextTokenTargets(tokens, windows, seqlen));
    } finally {
      h.x.dispose();
    }
  }

  /** Embedding, every block and the head: logits [rows, vocab] of a batch (tests). */
  async forwardLogits(tokens: ArrayLike<number>, windows: number, seqlen: number): Promise<Float32Array> {
    const h = await this.embed(tokens, windows, seqlen);
    try {
      for (let l = 0; l < this.config.layers; l++) await this.block(l, h);
      return await this.logits(h);
    } finally {
      h.x.dispose();
    }
  }
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
