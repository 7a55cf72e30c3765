/**
 * Weight residency: which of a model's weights are on the GPU. Blocks are read from the checkpoint
 * lazily and evicted least-recently-used beyond a budget (`maxResidentBlocks: 1` keeps a single
 * block on the GPU). Every weight is cut into row chunks that each fit one storage binding, and one
 * stored as F16/BF16 stays at 2 bytes per value on the GPU (gpuWeights.ts).
 * Replaced linears (pruned, or channel-reduced) are kept on the CPU as overrides, so that a block
 * evicted and reloaded later still has them.
 */
import { sizeClass } from '../gpu/pool';
import type { Gpu, GpuTensor } from '../gpu/runtime';
import { rotaryTable } from '../kernels/rotary';
import { findLinear, fromStored, type Architecture, type LinearSpec, type NormSpec } from './architectures';
import { isSliding, ropeCosSinFactor, ropeInvFreq, type ModelConfig } from './config';
import { readWeight, uploadWeight, weightGpuBytes } from './gpuWeights';
import type { TensorSource } from './loader';
import { ResidentMap } from './resident';
import { ForwardError, freeBlock, freeNorm, freeWeight, type BlockWeights, type Linear, type Norm, type VocabTable, type Weight } from './tensors';

/** A replacement (pruned, or channel-reduced) linear layer, in nn.Linear layout [out, in]. */
export interface LinearOverride {
  weight: Float32Array;
  out: number;
  in: number;
  /** Replacement bias; undefined keeps the checkpoint's, null removes it. */
  bias?: Float32Array | null;
}

export interface LinearReplacement {
  out?: number;
  in?: number;
  bias?: Float32Array | null;
}

export interface WeightStoreOptions {
  /** Keep at most this many blocks' weights on the GPU. Default: all. */
  maxResidentBlocks?: number;
  /** Largest buffer of one weight, in bytes (one storage binding): larger weights are cut into row chunks. */
  bindingBytes: number;
}

/** GPU bytes of the weights a store holds, as the buffer pool counts them. */
export interface WeightBytes {
  /** Token embedding and lm_head (one table when tied). */
  tables: number;
  /** The resident blocks' linears and norms. */
  blocks: number;
  /** Position table, final norm, rotary tables. */
  other: number;
}

/** Checks the dimensions of a block whose MLP width may have been changed by overrides. */
export function checkBlockShapes(config: ModelConfig, layer: number, b: BlockWeights): void {
  const mlpWidths = new Set<number>();
  const kvGroups = new Set<number>();
  const c = config;
  for (const l of b.linears.values()) {
    const role = l.spec.role;
    const bad = (what: string) => new ForwardError(`Block ${layer} ${l.spec.name}: ${what} (weight is ${l.out}×${l.in}).`);
    if (role === 'gate' || role === 'up' || role === 'fc' || role === 'gate_up') {
      if (l.in !== config.hidden) throw bad(`expected ${config.hidden} inputs`);
      // A fused gate|up holds two rows per channel.
      if (role === 'gate_up' && l.out % 2 !== 0) throw bad('a fused gate|up needs an even number of outputs');
      mlpWidths.add(role === 'gate_up' ? l.out / 2 : l.out);
    } else if (role === 'down') {
      if (l.out !== config.hidden) throw bad(`expected ${config.hidden} outputs`);
      mlpWidths.add(l.in);
    } else if (l.in !== l.spec.in && role !== 'o') {
      throw bad(`attention input projections must keep their ${l.spec.in} inputs`);
    } else {
      // Whole key/value groups (with their query heads) may be removed: count the groups each projection holds.
      const rows = { q: c.heads * c.headDim, k: c.kvHeads * c.headDim, v: c.kvHeads * c.headDim, qkv: (c.heads + 2 * c.kvHeads) * c.headDim, o: c.heads * c.headDim }[role];
      const size = role === 'o' ? l.in : l.out;
      const groups = (size * c.kvHeads) / rows;
      if ((role === 'o' && l.out !== l.spec.out) || !Number.isInteger(groups) || groups < 1 || groups > c.kvHeads) {
        throw bad(`attention projections must keep their shape ${l.spec.out}×${l.spec.in} or whole key/value groups of it`);
      }
      kvGroups.add(groups);
    }
  }
  if (kvGroups.size > 1) throw new ForwardError(`Block ${layer}: the attention projections disagree on the number of key/value groups.`);
  if (mlpWidths.size !== 1) {
    throw new ForwardError(`Block ${layer}: the MLP layers disagree on the intermediate width (${[...mlpWidths].join(' vs ')}).`);
  }
}

export class WeightStore {
  readonly config: ModelConfig;
  private readonly blocks = new ResidentMap<number, BlockWeights>(freeBlock);
  private readonly tables = new ResidentMap<string, VocabTable>(freeWeight);
  private readonly norms = new ResidentMap<string, Norm>(freeNorm);
  private readonly positionTables = new ResidentMap<string, Weight>(freeWeight);
  private readonly rotary = new Map<string, GpuTensor>();
  private readonly overrides = new Map<string, LinearOverride>();
  private useClock = 0;
  private readonly maxResident: number;
  private readonly bindingBytes: number;

  constructor(
    readonly gpu: Gpu,
    readonly arch: Architecture,
    readonly source: TensorSource,
    options: WeightStoreOptions,
  ) {
    this.config = arch.config;
    this.maxResident = Math.max(1, options.maxResidentBlocks ?? Infinity);
    this.bindingBytes = options.bindingBytes;
  }

  // ------------------------------------------------------------------ blocks

  private async upload(name: string, expect: number): Promise<GpuTensor> {
    const data = await this.source.readF32(name);
    if (data.length !== expect) throw new ForwardError(`Tensor ${name} has ${data.length} values, expected ${expect}.`);
    return this.gpu.upload(data, [expect]);
  }

  private async loadNorm(spec: NormSpec, d = this.config.hidden): Promise<Norm> {
    return { w: await this.upload(spec.weight, d), b: spec.bias ? await this.upload(spec.bias, d) : null };
  }

  private async loadLinear(layer: number, spec: LinearSpec): Promise<Linear> {
    const o = this.overrides.get(spec.weight);
    const out = o?.out ?? spec.out;
    const inp = o?.in ?? spec.in;
    let bias: Float32Array | null = null;
    if (o && o.bias !== undefined) bias = o.bias;
    else if (spec.bias) bias = await this.source.readF32(spec.bias);
    if (bias && bias.length !== out) {
      throw new ForwardError(`Block ${layer} ${spec.name}: bias has ${bias.length} values for ${out} outputs.`);
    }
    // Overrides (pruned or channel-reduced weights) are f32; checkpoint weights keep their 16-bit values.
    const w = o
      ? this.uploadF32(o.weight, out, inp)
      : await readWeight(this.gpu, this.source, spec.weight, out, inp, this.bindingBytes, { transposed: spec.conv1d });
    return { spec, out, in: inp, w, b: bias ? this.gpu.upload(bias, [out]) : null };
  }

  private uploadF32(weight: Float32Array, rows: number, cols: number): Weight {
    return uploadWeight(this.gpu, weight, 'f32', rows, cols, this.bindingBytes);
  }

  /** Block l's weights on the GPU (checkpoint, or overrides), uploaded unless resident; evicts beyond the budget. */
  async block(layer: number): Promise<BlockWeights> {
    const resident = this.blocks.peek(layer);
    if (resident) {
      resident.lastUse = ++this.useClock;
      return resident;
    }
    const spec = this.arch.blocks[layer];
    if (!spec) throw new RangeError(`Layer ${layer} is outside 0..${this.arch.blocks.length - 1}.`);
    return this.blocks.get(layer, async () => {
      // Evict first, so that a one-block budget never holds two blocks at once.
      this.evict(this.maxResident - 1, layer);
      const attnNorm = await this.loadNorm(spec.attnNorm);
      const mlpNorm = await this.loadNorm(spec.mlpNorm);
      const hd = this.config.headDim;
      const qNorm = spec.qNorm ? await this.loadNorm(spec.qNorm, hd) : null;
      const kNorm = spec.kNorm ? await this.loadNorm(spec.kNorm, hd) : null;
      const postAttnNorm = spec.postAttnNorm ? await this.loadNorm(spec.postAttnNorm) : null;
      const postMlpNorm = spec.postMlpNorm ? await this.loadNorm(spec.postMlpNorm) : null;
      const linears = new Map<string, Linear>();
      for (const lin of spec.linears) linears.set(lin.name, await this.loadLinear(layer, lin));
      const weights: BlockWeights = { attnNorm, mlpNorm, qNorm, kNorm, postAttnNorm, postMlpNorm, linears, lastUse: ++this.useClock };
      checkBlockShapes(this.config, layer, weights);
      return weights;
    });
  }

  private evict(keep: number, except: number): void {
    while (this.blocks.size > keep) {
      let victim = -1;
      let oldest = Infinity;
      for (const [l, b] of this.blocks.entries()) {
        if (l !== except && b.lastUse < oldest) {
          oldest = b.lastUse;
          victim = l;
        }
      }
      if (victim < 0) return;
      this.blocks.release(victim);
    }
  }

  /** Frees block l's GPU weights (they are re-read, with overrides, when next used). */
  releaseBlock(layer: number): void {
    this.blocks.release(layer);
  }

  residentBlocks(): number[] {
    return this.blocks.keys().sort((a, b) => a - b);
  }

  // ------------------------------------------------------------------ overrides

  /**
   * Replaces a linear layer's weight (nn.Linear layout [out, in]) for every later forward pass,
   * updating the GPU copy if the block is resident. Attention projections keep their shape; the
   * MLP's intermediate width may shrink (structured pruning) if all its layers are replaced.
   */
  setLinear(layer: number, name: string, weight: Float32Array, options: LinearReplacement = {}): void {
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
    // The store keeps `weight` (not a copy): later reloads of the block read it again.
    this.overrides.set(spec.weight, { weight, out, in: inp, bias: options.bias });
    const block = this.blocks.peek(layer);
    if (!block) return;
    const old = block.linears.get(name)!;
    if (old.out === out && old.in === inp && keepBias && old.w.format === 'f32') {
      for (const c of old.w.chunks) this.gpu.write(c.t, weight.subarray(c.start * inp, (c.start + c.count) * inp));
      return;
    }
    freeWeight(old.w);
    let b = old.b;
    if (!keepBias) {
      old.b?.dispose();
      b = options.bias ? this.gpu.upload(options.bias, [out]) : null;
    }
    block.linears.set(name, { spec, out, in: inp, w: this.uploadF32(weight, out, inp), b });
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
    this.blocks.releaseAll();
  }

  // ------------------------------------------------------------------ embedding and head

  /** A [vocab, hidden] table (token embedding or lm_head) in row chunks within one binding each. */
  vocabTable(name: string): Promise<VocabTable> {
    const { vocab, hidden } = this.config;
    return this.tables.get(name, () => readWeight(this.gpu, this.source, name, vocab, hidden, this.bindingBytes));
  }

  /** The learned position table [positions, hidden], or null for rotary models. */
  async positions(): Promise<Weight | null> {
    const name = this.arch.positions;
    if (!name) return null;
    const [rows, cols] = this.arch.tensors.get(name)!;
    return this.positionTables.get(name, () => readWeight(this.gpu, this.source, name, rows, cols, this.bindingBytes));
  }

  /** GPU bytes of the weights held now (pool size classes), split into vocabulary tables, blocks and the rest. */
  gpuBytes(): WeightBytes {
    const sum = (ts: Iterable<GpuTensor | null>) => [...ts].reduce((a, t) => a + (t ? sizeClass(t.bytes) : 0), 0);
    const norms = (ns: Iterable<Norm | null>) => [...ns].reduce((a, n) => a + (n ? sum([n.w, n.b]) : 0), 0);
    let tables = 0;
    for (const [, t] of this.tables.entries()) tables += weightGpuBytes(t, sizeClass);
    let blocks = 0;
    for (const [, b] of this.blocks.entries()) {
      blocks += norms([b.attnNorm, b.mlpNorm, b.qNorm, b.kNorm, b.postAttnNorm, b.postMlpNorm]);
      for (const l of b.linears.values()) blocks += weightGpuBytes(l.w, sizeClass) + sum([l.b]);
    }
    let other = sum(this.rotary.values()) + norms([...this.norms.entries()].map(([, n]) => n));
    for (const [, p] of this.positionTables.entries()) other += weightGpuBytes(p, sizeClass);
    return { tables, blocks, other };
  }

  finalNorm(): Promise<Norm> {
    return this.norms.get(this.arch.finalNorm.weight, () => this.loadNorm(this.arch.finalNorm));
  }

  /**
   * cos/sin of every position of a window of `seqlen` for layer l's rope (rotary models), computed
   * once per length and rope (Gemma 3's local layers have their own; LongRoPE's depends on the length).
   */
  rotaryTable(seqlen: number, layer: number): GpuTensor {
    const c = this.config;
    const key = `${seqlen}|${c.localRope && isSliding(c, layer) ? 'local' : 'global'}`;
    let t = this.rotary.get(key);
    if (!t) {
      t = this.gpu.upload(rotaryTable(ropeInvFreq(c, seqlen, layer), seqlen, ropeCosSinFactor(c, layer)));
      this.rotary.set(key, t);
    }
    return t;
  }

  /** Frees the token (and position) embedding tables. With a tied head this frees the head too. */
  releaseEmbedding(): void {
    this.tables.release(this.arch.embed);
    if (this.arch.positions) this.positionTables.release(this.arch.positions);
  }

  /** Frees the final norm and lm_head. With a tied head this frees the token embedding too. */
  releaseHead(): void {
    this.tables.release(this.arch.lmHead);
    this.norms.release(this.arch.finalNorm.weight);
  }

  /** Frees every GPU buffer this store holds; overrides stay. */
  dispose(): void {
    this.blocks.releaseAll();
    this.tables.releaseAll();
    this.norms.releaseAll();
    this.positionTables.releaseAll();
    for (const t of this.rotary.values()) t.dispose();
    this.rotary.clear();
  }
}
