/**
 * Planning a sharded checkpoint as Hugging Face writes one (huggingface_hub's
 * split_state_dict_into_shards, transformers' save_pretrained): tensors taken in order and packed
 * into shards of at most `maxShardSize` data bytes, a tensor larger than that alone in its own shard,
 * shards named model-00001-of-0000N.safetensors, and model.safetensors.index.json mapping each tensor
 * to its shard.
 */
import { elementCount, tensorBytes, type TensorEntry } from './streamWriter';

export const INDEX_FILE = 'model.safetensors.index.json';

export interface PlannedShard<T extends TensorEntry> {
  name: string;
  tensors: T[];
}

/** `model-00002-of-00005.safetensors`: five digits, as transformers names them. */
export function shardFileName(index: number, count: number): string {
  const pad = (n: number): string => String(n).padStart(5, '0');
  return `model-${pad(index + 1)}-of-${pad(count)}.safetensors`;
}

/** Tensors packed in order into shards of at most maxShardSize data bytes (headers not counted, as HF). */
export function planShards<T extends TensorEntry>(tensors: readonly T[], maxShardSize: number): PlannedShard<T>[] {
  if (!(maxShardSize > 0)) throw new RangeError(`max shard size must be positive, got ${maxShardSize}`);
  const groups: T[][] = [];
  let current: T[] = [];
  let currentSize = 0;
  for (const t of tensors) {
    const size = tensorBytes(t);
    if (size > maxShardSize) {
      // As huggingface_hub: an oversized tensor gets a shard of its own; the open shard stays open.
      groups.push([t]);
      continue;
    }
    if (currentSize + size > maxShardSize && current.length > 0) {
      groups.push(current);
      current = [];
      currentSize = 0;
    }
    current.push(t);
    currentSize += size;
  }
  if (current.length > 0 || groups.length === 0) groups.push(current);
  return groups.map((group, i) => ({ name: shardFileName(i, groups.length), tensors: group }));
}

/** Shards named by an existing index (tensor → file), keeping its files and assignment; tensors in the given order. */
export function shardsLike<T extends TensorEntry>(tensors: readonly T[], weightMap: ReadonlyMap<string, string>): PlannedShard<T>[] {
  const byFile = new Map<string, T[]>();
  for (const t of tensors) {
    const file = weightMap.get(t.name);
    if (file === undefined) throw new RangeError(`tensor "${t.name}" is in no shard of the input index`);
    if (!byFile.has(file)) byFile.set(file, []);
    byFile.get(file)!.push(t);
  }
  return [...byFile].map(([name, group]) => ({ name, tensors: group }));
}

/**
 * model.safetensors.index.json as transformers writes it: json.dumps(index, indent=2,
 * sort_keys=True) + "\n", with metadata.total_size (data bytes) and metadata.total_parameters.
 */
export function shardIndexJson(shards: readonly PlannedShard<TensorEntry>[]): string {
  let totalSize = 0;
  let totalParameters = 0;
  const entries: [string, string][] = [];
  for (const shard of shards) {
    for (const t of shard.tensors) {
      totalSize += tensorBytes(t);
      totalParameters += elementCount(t);
      entries.push([t.name, shard.name]);
    }
  }
  // Python sorts keys by code point; for names in the Basic Multilingual Plane that is JS's default order.
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const index = { metadata: { total_parameters: totalParameters, total_size: totalSize }, weight_map: Object.fromEntries(entries) };
  // ensure_ascii: Python escapes every non-ASCII character.
  return JSON.stringify(index, null, 2).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';
}
