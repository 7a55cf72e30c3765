/**
 * Writes a pruned model as a Hugging Face folder: the same tensor names, dtypes and shapes as the
 * input checkpoint (pruned weights rounded back to the original dtype, pruned entries exactly
 * zero), config.json and the tokenizer files copied, and the pruning report as JSON. The weights
 * stream: each file is written into a sink tensor by tensor, sharded like the input or at a
 * maximum shard size.
 */
import { concatBytes } from '../formats/byteSource';
import { patchJsonText } from '../formats/jsonText';
import { PACK_SUFFIX, streamPacked } from '../formats/pack';
import type { TensorInfo, WritableDType } from '../formats/safetensors';
import { INDEX_FILE, planShards, shardIndexJson, shardsLike, type PlannedShard } from '../formats/shardPlan';
import { streamSafetensors, type ByteSink, type LazyTensor } from '../formats/streamWriter';
import type { LinearSpec } from '../model/architectures';
import type { OpenedModel } from '../model/loader';
import { HEALTH_CSV_HEADER, healthCsvCells } from '../shared/health';
import type { PrunedModel } from './prune';
import { compactTensors, configForWeights, linearWeights, shardMapFor } from './compact';

export interface ExportedFile {
  name: string;
  bytes: Uint8Array;
}

/** A file of the export, produced only when written: its bytes go to the sink as they are made. */
export interface ExportFile {
  name: string;
  write(sink: ByteSink): Promise<void>;
}

export interface ExportOptions {
  /** Reshard at this many data bytes per shard (as save_pretrained's max_shard_size); otherwise sharded like the input. */
  maxShardSize?: number;
  /** Store the pruned linear weights compressed (compressed-tensors sparse-bitmask / sparse-24-bitmask, docs/compact.md). */
  compact?: boolean;
  /** Write the weight files packed (`*.safetensors.pack`: byte planes deflated, src/formats/pack.ts), readable by this tool only. */
  pack?: boolean;
}

/** Files copied unchanged from the input folder when present. */
const COPIED = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt'];

const WRITABLE = new Set<string>(['F32', 'F16', 'BF16']);

export class ExportError extends Error {
  override name = 'ExportError';
}

/** What a pruning run changed: replaced tensors (linears in nn.Linear layout), new shapes, config fields. */
export interface ModelEdits {
  weights: ReadonlyMap<string, Float32Array>;
  /** New nn.Linear-layout shapes ([out, in], or [n] for a bias) of tensors whose shape changed. */
  shapes?: ReadonlyMap<string, readonly number[]>;
  /** config.json fields to overwrite (e.g. intermediate_size after removing MLP channels). */
  configPatch?: Record<string, number>;
  metadata: Record<string, string>;
  report: object;
  /** The per-layer report as CSV, written as prune_report.csv next to prune_report.json when given. */
  reportCsv?: string;
}

function linearSpec(model: OpenedModel, tensor: string): LinearSpec | null {
  for (const block of model.arch.blocks) {
    const spec = block.linears.find((l) => l.weight === tensor);
    if (spec) return spec;
  }
  return null;
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}

/** A replaced tensor's shape in the checkpoint's stored layout (GPT-2's Conv1D stores [in, out]). */
function storedShape(model: OpenedModel, name: string, shape: readonly number[]): number[] {
  const spec = linearSpec(model, name);
  return spec?.conv1d && shape.length === 2 ? [shape[1], shape[0]] : [...shape];
}

/** A replaced tensor's values in the stored layout, made when the writer reaches it. */
function storedData(model: OpenedModel, name: string, data: Float32Array, shape: readonly number[]): Float32Array {
  const spec = linearSpec(model, name);
  return spec?.conv1d && shape.length === 2 ? transpose(data, shape[0], shape[1]) : data;
}

/** The export's files in writing order, nothing read or encoded yet (shards first, the index after them). */
export async function modelFiles(model: OpenedModel, edits: ModelEdits, options: ExportOptions = {}): Promise<ExportFile[]> {
  const { file: source, folder } = model;
  const present = new Set(folder.files());
  // The loader opened the weights through this index and checked it, so its weight_map is sound.
  const index = present.has(INDEX_FILE) ? (JSON.parse(await folder.text(INDEX_FILE)) as InputIndex) : null;
  const tensors: LazyTensor[] = [];
  for (const [name, info] of index ? storedOrder(source.tensors) : source.tensors) {
    if (!WRITABLE.has(info.dtype)) {
      throw new ExportError(`${source.name}: tensor ${name} has dtype ${info.dtype}; only F32, F16 and BF16 checkpoints can be exported.`);
    }
    const dtype = info.dtype as WritableDType;
    const replacement = edits.weights.get(name);
    if (replacement) {
      const spec = linearSpec(model, name);
      const shape = edits.shapes?.get(name) ?? (spec ? [spec.out, spec.in] : info.shape);
      // Float32 values are rounded to the stored dtype by the writer; a zero stays exactly zero.
      tensors.push({ name, dtype, shape: storedShape(model, name, shape), data: () => storedData(model, name, replacement, shape) });
    } else {
      tensors.push({ name, dtype, shape: info.shape, data: () => source.readRaw(name) });
    }
  }
  const metadata: Record<string, string> = { ...fileMetadata(source.metadata, index), format: 'pt', pruned_by: 'prune-studio', ...edits.metadata };
  const encoder = new TextEncoder();
  // Counted now (a first pass over the weights): the headers need every compressed length.
  const compact = options.compact ? await compactTensors(tensors, linearWeights(model)) : null;
  const files = weightFiles(shardPlan(compact?.tensors ?? tensors, index, options), metadata, options.pack === true);
  const textFile = (name: string, text: () => Promise<string> | string): ExportFile => ({ name, write: async (sink) => sink.write(encoder.encode(await text())) });
  for (const name of COPIED) {
    if (!present.has(name)) continue;
    // Patched in place: the rest of config.json keeps its exact text (e.g. `3.0`, which typed
    // configs in transformers require to stay a float).
    const patch = name === 'config.json' ? edits.configPatch : undefined;
    const copied = async () => (patch ? patchJsonText(await folder.text(name), patch) : folder.text(name));
    files.push(textFile(name, async () => (name === 'config.json' ? configForWeights(await copied(), compact, source) : copied())));
  }
  files.push(textFile('prune_report.json', () => JSON.stringify(edits.report, null, 2)));
  if (edits.reportCsv !== undefined) files.push(textFile('prune_report.csv', () => edits.reportCsv!));
  return files;
}

/**
 * Tensors in the order their files store them: a sharded view lists them in index (alphabetical)
 * order, and a shard written again keeps its original layout. (A single file keeps the reader's
 * order, as the export always wrote it.)
 */
function storedOrder(tensors: ReadonlyMap<string, TensorInfo>): [string, TensorInfo][] {
  const entries = [...tensors];
  const rank = new Map<string, number>();
  for (const [, info] of entries) if (!rank.has(info.file)) rank.set(info.file, rank.size);
  return entries.sort(([, a], [, b]) => rank.get(a.file)! - rank.get(b.file)! || a.begin - b.begin);
}

interface InputIndex {
  metadata?: Record<string, unknown>;
  weight_map: Record<string, string>;
}

/**
 * The input's safetensors metadata without what the merged view took from its index (total_size,
 * total_parameters): those describe the old shards, not a file's contents.
 */
function fileMetadata(metadata: Record<string, string>, index: InputIndex | null): Record<string, string> {
  const out = { ...metadata };
  for (const [key, value] of Object.entries(index?.metadata ?? {})) if (typeof value !== 'string') delete out[key];
  return out;
}

/** How the weights are split: like the input's index, at options.maxShardSize, or one model.safetensors. */
function shardPlan(tensors: LazyTensor[], index: InputIndex | null, options: ExportOptions): { shards: PlannedShard<LazyTensor>[]; indexed: boolean } {
  if (options.maxShardSize !== undefined) {
    const shards = planShards(tensors, options.maxShardSize);
    // As save_pretrained: weights that fit one shard are written as model.safetensors, without an index.
    if (shards.length > 1) return { shards, indexed: true };
  } else if (index) {
    return { shards: shardsLike(tensors, shardMapFor(index.weight_map)), indexed: true };
  }
  return { shards: [{ name: 'model.safetensors', tensors }], indexed: false };
}

/** A weight file's name in the kind written: `.pack` added for packed files, dropped for plain ones (a packed input's index names them so). */
function weightFileName(name: string, pack: boolean): string {
  const plain = name.endsWith(PACK_SUFFIX) ? name.slice(0, -PACK_SUFFIX.length) : name;
  return pack ? plain + PACK_SUFFIX : plain;
}

/** The weight files, each streamed tensor by tensor, and the index after the shards it names. */
function weightFiles(plan: { shards: PlannedShard<LazyTensor>[]; indexed: boolean }, metadata: Record<string, string>, pack: boolean): ExportFile[] {
  const shards = plan.shards.map((shard) => ({ ...shard, name: weightFileName(shard.name, pack) }));
  const files: ExportFile[] = shards.map((shard) => ({
    name: shard.name,
    write: async (sink) => {
      await (pack ? streamPacked : streamSafetensors)(shard.tensors, sink, metadata);
    },
  }));
  if (plan.indexed) {
    const index = new TextEncoder().encode(shardIndexJson(shards));
    files.push({ name: INDEX_FILE, write: async (sink) => sink.write(index) });
  }
  return files;
}

/** Every file written into memory (the studio's download); the CLI writes modelFiles straight to disk instead. */
export async function collectFiles(files: readonly ExportFile[]): Promise<ExportedFile[]> {
  const out: ExportedFile[] = [];
  for (const file of files) {
    const chunks: Uint8Array[] = [];
    await file.write({ write: (chunk) => void chunks.push(chunk) });
    out.push({ name: file.name, bytes: concatBytes(chunks) });
  }
  return out;
}

/** The whole export in memory. */
export async function exportModel(model: OpenedModel, edits: ModelEdits, options: ExportOptions = {}): Promise<ExportedFile[]> {
  return collectFiles(await modelFiles(model, edits, options));
}

/** What a whole-model unstructured run changed, as edits to export. */
export function prunedEdits(pruned: PrunedModel): ModelEdits {
  return { weights: pruned.weights, metadata: { method: pruned.method, pattern: pruned.pattern }, report: reportJson(pruned), reportCsv: reportCsv(pruned) };
}

export async function exportPrunedModel(model: OpenedModel, pruned: PrunedModel, options: ExportOptions = {}): Promise<ExportedFile[]> {
  return exportModel(model, prunedEdits(pruned), options);
}

export function reportJson(pruned: PrunedModel): object {
  return {
    method: pruned.method,
    pattern: pruned.pattern,
    ms: Math.round(pruned.ms),
    layers: pruned.report,
  };
}

/** The per-layer report as CSV (one row per layer, no histories), with each layer's health columns (empty when unknown). */
export function reportCsv(pruned: Pick<PrunedModel, 'report'>): string {
  const header = ['layer', 'block', 'method', 'pattern', 'out', 'in', 'sparsity', 'rel_error', 'rel_error_before_refit', 'iterations', 'ms', ...HEALTH_CSV_HEADER];
  const rows = pruned.report.map((r) =>
    [r.id, r.block, r.method, r.pattern, r.shape[0], r.shape[1], r.sparsity.toFixed(6), r.relError.toExponential(6), r.relErrorBeforeRefit.toExponential(6), r.iterations, Math.round(r.ms), ...healthCsvCells(r.health)].join(','),
  );
  return [header.join(','), ...rows].join('\n') + '\n';
}
