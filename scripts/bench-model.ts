/**
 * `npm run bench:model -- --shape smollm-135m|qwen2.5-0.5b|llama-3.2-1b [--blocks N] [--dtype bf16|f16|f32]
 *    [--methods magnitude,wanda,sparsegpt,alps] [--layers q_proj,down_proj] [--alps-iters 20] [--alps-max-inputs 576]
 *    [--windows 2] [--seqlen 128] [--sparsity 0.5] [--out bench-results/model-<shape>.json]`
 *
 * A real model's exact shapes at real-size cost: writes a random-init checkpoint (seeded; the
 * project's safetensors writer; config.json as the public one, `num_hidden_layers` cut to --blocks)
 * into a temporary folder, then measures with the project's own APIs
 *   load         openModelDir (config, strict header, architecture)
 *   forward      perplexityOfTokens over `windows` × `seqlen` random token ids (cold: includes shader
 *                compilation and reading the weights from disk, as a first evaluation does)
 *   calibration  block 0's grams XᵀX at its four input sites (walkBlocks, the block driver)
 *   prune        solveLayer of each method on each linear of block 0, with those grams
 * and the peak RSS (process.resourceUsage().maxRSS), the GPU buffer pool's peak bytes, and the GPU
 * bytes of the weights held after the evaluation, split into vocabulary table and blocks.
 * There is no tokenizer.json: the token ids are drawn at random, so no text tokenizer is involved.
 * The checkpoint is written by a child process so that the writer's memory is not in the peak RSS.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { f32ToBf16Array, f32ToF16Array, type WritableDType } from '../src/formats/dtypes';
import { writeSafetensors, type TensorToWrite } from '../src/formats/writer';
import { openNodeGpu } from '../src/gpu/node';
import type { Gpu } from '../src/gpu/runtime';
import { SITES } from '../src/model/architectures';
import { ModelRunner } from '../src/model/forward';
import type { WeightBytes } from '../src/model/weights';
import { openModelDir } from '../src/model/nodeFolder';
import { perplexityOfTokens } from '../src/model/perplexity';
import { seededRandom } from '../src/pipeline/calibration';
import { walkBlocks } from '../src/pipeline/blocks';
import { METHODS, type Method } from '../src/shared/methods';
import { solveLayer } from '../src/solvers';

/** Shapes from the public config.json of each model (hidden, depth, heads, MLP, vocabulary, rotary). */
interface Shape {
  modelType: 'llama' | 'qwen2';
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  vocab: number;
  /** q/k/v biases (Qwen2 always has them). */
  qkvBias: boolean;
  extra: Record<string, unknown>;
}

export const SHAPES: Record<string, Shape> = {
  'smollm-135m': {
    modelType: 'llama', hidden: 576, layers: 30, heads: 9, kvHeads: 3, intermediate: 1536, vocab: 49152, qkvBias: false,
    extra: { rope_theta: 100000, rms_norm_eps: 1e-5, max_position_embeddings: 8192 },
  },
  'qwen2.5-0.5b': {
    modelType: 'qwen2', hidden: 896, layers: 24, heads: 14, kvHeads: 2, intermediate: 4864, vocab: 151936, qkvBias: true,
    extra: { rope_theta: 1000000, rms_norm_eps: 1e-6, max_position_embeddings: 32768, sliding_window: 32768, use_sliding_window: false },
  },
  'llama-3.2-1b': {
    modelType: 'llama', hidden: 2048, layers: 16, heads: 32, kvHeads: 8, intermediate: 8192, vocab: 128256, qkvBias: false,
    extra: {
      head_dim: 64, rope_theta: 500000, rms_norm_eps: 1e-5, max_position_embeddings: 131072,
      rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
    },
  },
  // Same structure at toy widths, for the test that keeps this script honest.
  tiny: {
    modelType: 'qwen2', hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 96, vocab: 300, qkvBias: true,
    extra: { rope_theta: 10000, rms_norm_eps: 1e-6, max_position_embeddings: 256 },
  },
};

const DTYPES: Record<string, WritableDType> = { bf16: 'BF16', f16: 'F16', f32: 'F32' };

export interface BenchModelOptions {
  shape: string;
  /** Depth to write (default: the model's). */
  blocks?: number;
  dtype?: 'bf16' | 'f16' | 'f32';
  methods?: Method[];
  /** Only these linears of block 0 (module names such as 'self_attn.q_proj' or just 'q_proj'); default all. */
  layers?: string[];
  alpsIters?: number;
  /** Skip ALPS on layers wider than this many inputs (its eigendecomposition is O(n³); n = 1536 takes ~20 min on SwiftShader). */
  alpsMaxInputs?: number;
  windows?: number;
  seqlen?: number;
  sparsity?: number;
  out?: string;
  seed?: number;
  /** Print the tables (default true). */
  print?: boolean;
}

export interface PruneTiming {
  layer: string;
  shape: [number, number];
  method: Method;
  ms: number;
  relError: number;
  iterations: number;
}

export interface BenchModelResult {
  shape: string;
  blocks: number;
  dtype: string;
  parameters: number;
  fileBytes: number;
  adapter: string;
  swiftshader: boolean;
  writeMs: number;
  writerPeakRssBytes: number;
  loadMs: number;
  forward: { tokens: number; ms: number; tokensPerSecond: number; perplexity: number };
  calibration: { tokens: number; ms: number };
  prune: PruneTiming[];
  /** Layer × method pairs not run (ALPS beyond --alps-max-inputs). */
  skipped: string[];
  alpsMaxIterations: number;
  peakRssBytes: number;
  peakGpuLiveBytes: number;
  peakGpuHeldBytes: number;
  /** GPU bytes of the weights the runner held after the evaluation (one resident block). */
  gpuWeightBytes: WeightBytes;
  date: string;
}

function configJson(shape: Shape, blocks: number, dtype: WritableDType): Record<string, unknown> {
  return {
    architectures: [shape.modelType === 'qwen2' ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'],
    model_type: shape.modelType,
    hidden_size: shape.hidden,
    intermediate_size: shape.intermediate,
    num_hidden_layers: blocks,
    num_attention_heads: shape.heads,
    num_key_value_heads: shape.kvHeads,
    vocab_size: shape.vocab,
    hidden_act: 'silu',
    tie_word_embeddings: true,
    torch_dtype: { BF16: 'bfloat16', F16: 'float16', F32: 'float32' }[dtype],
    ...shape.extra,
  };
}

/** The checkpoint's tensors (name, shape, init scale) in the order HF writes them. */
function tensorList(shape: Shape, blocks: number): { name: string; shape: number[]; scale: number }[] {
  const { hidden: d, intermediate: f, vocab } = shape;
  const headDim = Number(shape.extra.head_dim ?? d / shape.heads);
  const q = shape.heads * headDim;
  const kv = shape.kvHeads * headDim;
  const list = [{ name: 'model.embed_tokens.weight', shape: [vocab, d], scale: 0.02 }];
  for (let l = 0; l < blocks; l++) {
    const p = `model.layers.${l}.`;
    list.push({ name: `${p}input_layernorm.weight`, shape: [d], scale: 0 });
    for (const [name, rows] of [['q_proj', q], ['k_proj', kv], ['v_proj', kv]] as const) {
      list.push({ name: `${p}self_attn.${name}.weight`, shape: [rows, d], scale: 0.02 });
      if (shape.qkvBias) list.push({ name: `${p}self_attn.${name}.bias`, shape: [rows], scale: 0.02 });
    }
    list.push({ name: `${p}self_attn.o_proj.weight`, shape: [d, q], scale: 0.02 });
    list.push({ name: `${p}post_attention_layernorm.weight`, shape: [d], scale: 0 });
    list.push({ name: `${p}mlp.gate_proj.weight`, shape: [f, d], scale: 0.02 });
    list.push({ name: `${p}mlp.up_proj.weight`, shape: [f, d], scale: 0.02 });
    list.push({ name: `${p}mlp.down_proj.weight`, shape: [d, f], scale: 0.02 });
  }
  list.push({ name: 'model.norm.weight', shape: [d], scale: 0 });
  return list;
}

/**
 * Seeded values (uniform with standard deviation `scale`, as initializer_range; norms 1 ± scale/…)
 * converted chunk by chunk so that a tensor never exists as float32 next to its 16-bit copy.
 */
function randomTensor(count: number, scale: number, dtype: WritableDType, random: () => number): Float32Array | Uint16Array {
  const half = scale * Math.sqrt(3);
  const fill = (out: Float32Array) => {
    if (scale === 0) for (let i = 0; i < out.length; i++) out[i] = 1 + 0.1 * (random() - 0.5);
    else for (let i = 0; i < out.length; i++) out[i] = (2 * random() - 1) * half;
    return out;
  };
  if (dtype === 'F32') return fill(new Float32Array(count));
  const bits = new Uint16Array(count);
  const chunk = new Float32Array(Math.min(count, 1 << 20));
  for (let at = 0; at < count; at += chunk.length) {
    const part = chunk.subarray(0, Math.min(chunk.length, count - at));
    bits.set(dtype === 'F16' ? f32ToF16Array(fill(part)) : f32ToBf16Array(fill(part)), at);
  }
  return bits;
}

/** Writes config.json and model.safetensors into `dir` (the child process's work). */
export function writeCheckpoint(dir: string, shapeName: string, blocks: number, dtypeName: string, seed: number): { parameters: number; fileBytes: number } {
  const shape = SHAPES[shapeName];
  const dtype = DTYPES[dtypeName];
  const random = seededRandom(seed);
  const tensors: TensorToWrite[] = [];
  let parameters = 0;
  for (const t of tensorList(shape, blocks)) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    parameters += count;
    tensors.push({ name: t.name, dtype, shape: t.shape, data: randomTensor(count, t.scale, dtype, random) });
  }
  // The writer builds the whole file in memory (no streaming variant yet): its peak is about twice the file.
  const bytes = writeSafetensors(tensors, { format: 'pt' });
  tensors.length = 0;
  writeFileSync(join(dir, 'model.safetensors'), bytes);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(configJson(shape, blocks, dtype), null, 2));
  return { parameters, fileBytes: bytes.byteLength };
}

function table(title: string, rows: Record<string, string | number>[]): void {
  console.log(`\n${title}`);
  if (!rows.length) return;
  const cols = Object.keys(rows[0]);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(width[i])).join(' | ')} |`;
  console.log(line(cols));
  console.log(`|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(cols.map((c) => String(r[c] ?? ''))));
}

const MB = 1e6;

function randomIds(count: number, vocab: number, seed: number): Uint32Array {
  const random = seededRandom(seed);
  return Uint32Array.from({ length: count }, () => Math.floor(random() * vocab) % vocab);
}

async function timed<T>(gpu: Gpu, fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const value = await fn();
  await gpu.sync();
  return [value, performance.now() - t0];
}

export async function benchModel(o: BenchModelOptions): Promise<BenchModelResult> {
  const shape = SHAPES[o.shape];
  if (!shape) throw new Error(`--shape must be one of ${Object.keys(SHAPES).join(', ')}; got "${o.shape}".`);
  const dtype = o.dtype ?? 'bf16';
  if (!DTYPES[dtype]) throw new Error(`--dtype must be bf16, f16 or f32; got "${dtype}".`);
  const blocks = o.blocks ?? shape.layers;
  if (!Number.isInteger(blocks) || blocks < 1 || blocks > shape.layers) throw new Error(`--blocks must be 1..${shape.layers} for ${o.shape}; got ${blocks}.`);
  const methods = o.methods ?? [...METHODS].reverse();
  for (const m of methods) if (!METHODS.includes(m)) throw new Error(`--methods: unknown method "${m}"; use ${METHODS.join(', ')}.`);
  const windows = o.windows ?? 2;
  const seqlen = o.seqlen ?? 128;
  const alpsIters = o.alpsIters ?? 20;
  const seed = o.seed ?? 1;
  const print = o.print ?? true;

  const dir = mkdtempSync(join(tmpdir(), `bench-model-${o.shape}-`));
  let gpu: Gpu | null = null;
  try {
    const t0 = performance.now();
    const child = spawnSync(
      process.execPath,
      [resolve(dirname(fileURLToPath(import.meta.url)), '../bin/run-ts.mjs'), fileURLToPath(import.meta.url), '--write-checkpoint', dir, '--shape', o.shape, '--blocks', String(blocks), '--dtype', dtype, '--seed', String(seed)],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    if (child.status !== 0) throw new Error(`Writing the checkpoint failed: ${child.stderr || child.error?.message}`);
    const written = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { parameters: number; fileBytes: number; peakRssBytes: number };
    const writeMs = performance.now() - t0;

    gpu = await openNodeGpu();
    const g = gpu;
    const adapter = `${gpu.adapter.vendor} ${gpu.adapter.architecture} ${gpu.adapter.description}`.trim();

    const [model, loadMs] = await timed(g, () => openModelDir(dir));
    try {
      const ids = randomIds(windows * seqlen, shape.vocab, seed + 1);
      const runner = new ModelRunner(g, model.arch, model.weights, { maxResidentBlocks: 1 });
      let perplexity: number;
      let forwardMs: number;
      let gpuWeightBytes: WeightBytes;
      try {
        const [ppl, ms] = await timed(g, () => perplexityOfTokens(runner, ids, { seqlen }));
        perplexity = ppl.perplexity;
        forwardMs = ms;
        gpuWeightBytes = runner.store.gpuBytes();
      } finally {
        runner.dispose();
      }

      const calibration = randomIds(windows * seqlen, shape.vocab, seed + 2);
      let calibrationMs = 0;
      const prune: PruneTiming[] = [];
      const skipped: string[] = [];
      const pattern = { kind: 'unstructured' as const, sparsity: o.sparsity ?? 0.5 };
      await walkBlocks(g, model, {
        windows: calibration,
        seqlen,
        onBlock: async ({ runner: r, block, grams }) => {
          const [captured, ms] = await timed(g, () => grams(SITES));
          calibrationMs = ms;
          const linears = block.linears.filter((l) => !o.layers || o.layers.some((name) => l.name === name || l.name.endsWith(`.${name}`)));
          if (!linears.length) throw new Error(`--layers matched none of block 0's linears (${block.linears.map((l) => l.name).join(', ')}).`);
          for (const spec of linears) {
            const weight = await r.getLinear(block.index, spec.name);
            const problem = { m: spec.out, n: spec.in, weight, gram: captured.get(spec.site)!, rows: calibration.length };
            for (const method of methods) {
              if (method === 'alps' && spec.in > (o.alpsMaxInputs ?? Infinity)) {
                skipped.push(`${spec.name} (alps: ${spec.in} inputs > --alps-max-inputs ${o.alpsMaxInputs})`);
                continue;
              }
              const [result, solveMs] = await timed(g, () => solveLayer(g, problem, method, pattern, { alps: { maxIterations: alpsIters, minIterations: Math.min(alpsIters, 30) } }));
              prune.push({ layer: spec.name, shape: [spec.out, spec.in], method, ms: solveMs, relError: result.relError, iterations: result.iterations });
              if (print) console.error(`  ${spec.name} [${spec.out}×${spec.in}] ${method}: ${(solveMs / 1000).toFixed(2)} s`);
            }
          }
          return 'stop' as const;
        },
      });

      const pool = g.poolStats;
      const result: BenchModelResult = {
        shape: o.shape,
        blocks,
        dtype,
        parameters: written.parameters,
        fileBytes: written.fileBytes,
        adapter,
        swiftshader: g.isSwiftShader,
        writeMs,
        writerPeakRssBytes: written.peakRssBytes,
        loadMs,
        forward: { tokens: ids.length, ms: forwardMs, tokensPerSecond: ids.length / (forwardMs / 1000), perplexity },
        calibration: { tokens: calibration.length, ms: calibrationMs },
        prune,
        skipped,
        alpsMaxIterations: alpsIters,
        // maxRSS is in kilobytes.
        peakRssBytes: process.resourceUsage().maxRSS * 1024,
        peakGpuLiveBytes: pool.peakLiveBytes,
        peakGpuHeldBytes: pool.peakHeldBytes,
        gpuWeightBytes,
        date: new Date().toISOString(),
      };
      if (print) report(result);
      const out = o.out ?? `bench-results/model-${o.shape}${o.blocks ? `-${blocks}b` : ''}.json`;
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, JSON.stringify(result, null, 2));
      if (print) console.log(`\nwrote ${out}`);
      return result;
    } finally {
      await model.close();
    }
  } finally {
    gpu?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(r: BenchModelResult): void {
  console.log(`\n${r.shape}, ${r.blocks} blocks, ${r.dtype}: ${(r.parameters / 1e6).toFixed(2)} M parameters, file ${(r.fileBytes / MB).toFixed(1)} MB; adapter: ${r.adapter}`);
  table('Model', [
    { step: 'write checkpoint (child process)', value: `${(r.writeMs / 1000).toFixed(2)} s, writer peak RSS ${(r.writerPeakRssBytes / MB).toFixed(0)} MB` },
    { step: 'load (openModelDir)', value: `${r.loadMs.toFixed(0)} ms` },
    { step: `forward, ${r.forward.tokens} tokens (cold)`, value: `${(r.forward.ms / 1000).toFixed(2)} s, ${r.forward.tokensPerSecond.toFixed(1)} tokens/s, perplexity ${r.forward.perplexity.toFixed(1)}` },
    { step: `calibration, block 0, ${r.calibration.tokens} tokens`, value: `${(r.calibration.ms / 1000).toFixed(2)} s` },
    { step: 'peak RSS', value: `${(r.peakRssBytes / MB).toFixed(0)} MB` },
    { step: 'peak GPU bytes (pool: live / held)', value: `${(r.peakGpuLiveBytes / MB).toFixed(0)} / ${(r.peakGpuHeldBytes / MB).toFixed(0)} MB` },
  ]);
  const w = r.gpuWeightBytes;
  table('GPU bytes of the weights after the evaluation (MB)', [
    { part: 'vocabulary table(s)', MB: (w.tables / MB).toFixed(1) },
    { part: 'blocks (1 resident)', MB: (w.blocks / MB).toFixed(1) },
    { part: 'final norm, rotary, positions', MB: (w.other / MB).toFixed(1) },
    { part: 'total', MB: ((w.tables + w.blocks + w.other) / MB).toFixed(1) },
    { part: 'checkpoint file', MB: (r.fileBytes / MB).toFixed(1) },
  ]);
  const methods = [...new Set(r.prune.map((p) => p.method))];
  const layers = [...new Set(r.prune.map((p) => p.layer))];
  table(
    `Prune time per layer, block 0, 50 % unstructured (s; ALPS capped at ${r.alpsMaxIterations} iterations)`,
    layers.map((layer) => {
      const row: Record<string, string> = { layer, shape: r.prune.find((p) => p.layer === layer)!.shape.join('×') };
      for (const m of methods) {
        const p = r.prune.find((x) => x.layer === layer && x.method === m);
        row[m] = p ? (p.ms / 1000).toFixed(2) : 'skipped';
      }
      return row;
    }),
  );
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// Main only when bin/run-ts.mjs runs this file; tests and other scripts import it for its writer and shapes.
if (process.env.RUN_TS_ENTRY === fileURLToPath(import.meta.url)) {
  const num = (name: string) => (arg(name) === undefined ? undefined : Number(arg(name)));
  const writeDir = arg('write-checkpoint');
  try {
    if (writeDir) {
      const written = writeCheckpoint(writeDir, arg('shape')!, Number(arg('blocks')), arg('dtype')!, Number(arg('seed')));
      console.log(JSON.stringify({ ...written, peakRssBytes: process.resourceUsage().maxRSS * 1024 }));
    } else {
      await benchModel({
        shape: arg('shape') ?? 'smollm-135m',
        blocks: num('blocks'),
        dtype: arg('dtype') as BenchModelOptions['dtype'],
        methods: arg('methods')?.split(',') as Method[] | undefined,
        layers: arg('layers')?.split(','),
        alpsIters: num('alps-iters'),
        alpsMaxInputs: num('alps-max-inputs'),
        windows: num('windows'),
        seqlen: num('seqlen'),
        sparsity: num('sparsity'),
        out: arg('out'),
      });
    }
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  }
}
