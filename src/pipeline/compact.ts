/**
 * The compact export (docs/compact.md): the same checkpoint with its pruned linear weights stored as
 * compressed-tensors sparse layouts. Two passes over the weights, one tensor alive at a time: the
 * first counts each weight's kept values (the header must give every length before any data is
 * written), the second encodes each weight as the writer reaches it.
 */
import { COMPACT_PARTS, compactDataBytes, compactEntries, compactPrefix, countKept, encodeCompact, type CompactFormat, type CompactPart } from '../formats/compactLayout';
import { compactWeights } from '../formats/compactView';
import { patchJsonText, removeJsonMember } from '../formats/jsonText';
import type { SafetensorsFile, WritableDType } from '../formats/safetensors';
import { encodeTensor, elementCount, tensorBytes, type LazyTensor } from '../formats/streamWriter';
import type { OpenedModel } from '../model/loader';

export interface CompactTensors {
  format: CompactFormat;
  /** Every tensor to write, the compressed weights replaced by their parts. */
  tensors: LazyTensor[];
  /** The `.weight` names stored compressed. */
  weights: string[];
  /** Zero values over all the checkpoint's values, in percent (compressed-tensors' global_sparsity). */
  globalSparsity: number;
}

/** The linear weights of the model's blocks: what pruning changes, so what may be stored compact. */
export function linearWeights(model: OpenedModel): Set<string> {
  return new Set(model.arch.blocks.flatMap((b) => b.linears.map((l) => l.weight)));
}

const isFloat = (dtype: string): dtype is WritableDType => dtype === 'F32' || dtype === 'F16' || dtype === 'BF16';

/**
 * The tensors with each target weight compressed where that stores fewer bytes. sparse-24-bitmask
 * when every target keeps at most two of every four values along its stored rows, else sparse-bitmask.
 */
export async function compactTensors(tensors: readonly LazyTensor[], targets: ReadonlySet<string>): Promise<CompactTensors> {
  const counts = new Map<string, { kept: number; twoFour: boolean }>();
  let zeros = 0;
  let values = 0;
  for (const t of tensors) {
    values += elementCount(t);
    if (!targets.has(t.name) || t.shape.length !== 2 || !isFloat(t.dtype) || elementCount(t) === 0) {
      continue;
    }
    const count = countKept(encodeTensor(t, await t.data()), t.dtype, t.shape[1]);
    counts.set(t.name, count);
    zeros += elementCount(t) - count.kept;
  }
  const format: CompactFormat = counts.size > 0 && [...counts.values()].every((c) => c.twoFour) ? 'sparse-24-bitmask' : 'sparse-bitmask';
  const out: LazyTensor[] = [];
  const weights: string[] = [];
  // The writer asks for a weight's parts one after another: each weight is encoded once.
  let encoded: { name: string; parts: Map<CompactPart, Uint8Array> } | null = null;
  for (const t of tensors) {
    const count = counts.get(t.name);
    const dtype = t.dtype as WritableDType;
    const [rows, cols] = t.shape;
    if (!count || compactDataBytes(format, dtype, rows, cols, count.kept) >= tensorBytes(t)) {
      out.push(t);
      continue;
    }
    weights.push(t.name);
    for (const entry of compactEntries(format, t.name, dtype, rows, cols, count.kept)) {
      out.push({
        name: entry.name,
        dtype: entry.dtype,
        shape: entry.shape,
        data: async () => {
          if (encoded?.name !== t.name) encoded = { name: t.name, parts: encodeCompact(format, dtype, rows, cols, encodeTensor(t, await t.data())) };
          return encoded.parts.get(entry.part)!;
        },
      });
    }
  }
  return { format, tensors: out, weights, globalSparsity: values > 0 ? (100 * zeros) / values : 0 };
}

/** config.json's quantization_config for a compact checkpoint, as compressed-tensors writes it for a sparse-only model. */
export function compactConfig(compact: CompactTensors): Record<string, unknown> {
  return {
    quant_method: 'compressed-tensors',
    sparsity_config: {
      format: compact.format,
      global_sparsity: compact.globalSparsity,
      ignore: [],
      registry_requires_subclass: false,
      sparsity_structure: compact.format === 'sparse-24-bitmask' ? '2:4' : 'unstructured',
      targets: compact.weights.map(compactPrefix),
    },
  };
}

/**
 * config.json for the written weights: the compact format declared when weights are stored
 * compact; removed when the input was compact and the output is dense.
 */
export function configForWeights(text: string, compact: CompactTensors | null, source: SafetensorsFile): string {
  if (compact && compact.weights.length > 0) return patchJsonText(text, { quantization_config: compactConfig(compact) });
  return compactWeights(source) ? removeJsonMember(text, 'quantization_config') : text;
}

/**
 * An input index's tensor → shard map extended to the names of the other layout: a compressed
 * weight's parts go where its dense tensor was, and a dense weight where its compressed values were.
 */
export function shardMapFor(weightMap: Record<string, string>): Map<string, string> {
  const map = new Map(Object.entries(weightMap));
  for (const [name, shard] of Object.entries(weightMap)) {
    if (name.endsWith('.weight')) for (const part of COMPACT_PARTS) if (!map.has(`${compactPrefix(name)}.${part}`)) map.set(`${compactPrefix(name)}.${part}`, shard);
    const m = /^(.*)\.compressed$/.exec(name);
    if (m && !map.has(`${m[1]}.weight`)) map.set(`${m[1]}.weight`, shard);
  }
  return map;
}
