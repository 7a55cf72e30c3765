/**
 * Sharded checkpoints: `model.safetensors.index.json` maps each tensor to the shard file holding it
 * (`weight_map`); the shards open as one merged SafetensorsFile.
 */
import type { ByteSource } from './byteSource';
import { openWeightFile } from './pack';
import { isPlainObject, MAX_TENSORS, readChecked, tensorLookup, type SafetensorsFile, type TensorInfo } from './reader';
import { fail, SafetensorsError } from './safetensorsError';

/** Index files above this are refused: real ones are kilobytes (a few megabytes for the largest models). */
export const MAX_INDEX_BYTES = 32 * 1024 * 1024;
/** Shards one index may name: the largest public checkpoints have a few hundred. */
export const MAX_SHARDS = 4096;

/** Accepts one of `shards` by the name the index uses, or a function that opens it. */
export type ShardResolver = ByteSource[] | ((fileName: string) => ByteSource | Promise<ByteSource>);

interface ShardIndex {
  /** Shard file name → the tensors the index puts in it, in index order. */
  byShard: Map<string, string[]>;
  metadata: Record<string, string>;
}

/** Parses and validates the index JSON. */
async function readIndex(index: ByteSource): Promise<ShardIndex> {
  const file = index.name;
  if (index.size > MAX_INDEX_BYTES) fail(file, `the index is ${index.size} bytes; a shard index is at most ${MAX_INDEX_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await readChecked(index, 0, index.size)));
  } catch (error) {
    if (error instanceof SafetensorsError) throw error;
    fail(file, `the index is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(json)) fail(file, 'the index is not a JSON object');
  const weightMap = json.weight_map;
  if (!isPlainObject(weightMap)) fail(file, 'the index has no "weight_map" object');
  const mapped = Object.keys(weightMap).length;
  if (mapped > MAX_TENSORS) fail(file, `"weight_map" lists ${mapped} tensors; at most ${MAX_TENSORS} are accepted`);
  const metadata: Record<string, string> = {};
  if (json.metadata !== undefined) {
    if (!isPlainObject(json.metadata)) fail(file, '"metadata" is not an object');
    // HF writes total_size as a number; the merged view keeps the format's string values.
    for (const [key, value] of Object.entries(json.metadata)) metadata[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || shard === '') fail(file, `weight_map entry for "${name}" is not a file name`);
    // The resolver may map names onto a file system: refuse anything but a plain file name.
    if (/[/\\]/.test(shard) || shard === '.' || shard === '..') fail(file, `weight_map entry for "${name}" names "${shard}", which is not a plain file name`);
    if (!byShard.has(shard)) {
      if (byShard.size === MAX_SHARDS) fail(file, `"weight_map" names more than ${MAX_SHARDS} shard files; at most ${MAX_SHARDS} are accepted`);
      byShard.set(shard, []);
    }
    byShard.get(shard)!.push(name);
  }
  return { byShard, metadata };
}

async function resolveShard(file: string, shards: ShardResolver, shard: string): Promise<ByteSource> {
  if (Array.isArray(shards)) {
    const found = shards.find((s) => s.name === shard || s.name.split(/[/\\]/).pop() === shard);
    if (!found) fail(file, `shard "${shard}" named in weight_map was not provided`);
    return found;
  }
  try {
    return await shards(shard);
  } catch (error) {
    fail(file, `cannot open shard "${shard}": ${(error as Error).message ?? String(error)}`);
  }
}

/**
 * A sharded checkpoint as one merged view. Every shard named in the map is opened and every mapped
 * tensor must be in its shard.
 */
export async function openSharded(index: ByteSource, shards: ShardResolver): Promise<SafetensorsFile> {
  const file = index.name;
  const { byShard, metadata } = await readIndex(index);
  const opened = new Map<string, SafetensorsFile>();
  const tensors = new Map<string, TensorInfo>();
  const owner = new Map<string, SafetensorsFile>();
  for (const [shard, names] of byShard) {
    const st = await openWeightFile(await resolveShard(file, shards, shard));
    opened.set(shard, st);
    for (const name of names) {
      const t = st.tensors.get(name);
      if (!t) fail(file, `weight_map puts "${name}" in "${shard}", but that shard has no such tensor`);
      tensors.set(name, t);
      owner.set(name, st);
    }
  }
  const first = opened.values().next().value as SafetensorsFile | undefined;
  for (const [key, value] of Object.entries(first?.metadata ?? {})) if (!(key in metadata)) metadata[key] = value;
  const info = tensorLookup(file, tensors);
  return {
    name: file,
    tensors,
    metadata,
    info,
    readRaw: (name, start, length) => {
      info(name);
      return owner.get(name)!.readRaw(name, start, length);
    },
    readF32: (name) => {
      info(name);
      return owner.get(name)!.readF32(name);
    },
  };
}
