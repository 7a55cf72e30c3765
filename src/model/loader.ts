/**
 * Opening a Hugging Face model folder (config.json, safetensors weights single or sharded,
 * tokenizer files) from any file provider: the browser's picked/dropped files here, the disk in
 * Node (nodeFolder.ts). Weights stay in their files; tensors are read one at a time when a block
 * is loaded.
 */
import { blobSource, type ByteSource } from '../formats/byteSource';
import { openPacked, PACK_SUFFIX } from '../formats/pack';
import { halfBits, isHalfDType, openSafetensors, openSharded, type HalfDType, type SafetensorsFile } from '../formats/safetensors';
import { declaredCompactFormat, openCompactView } from '../formats/compactView';
import { resolveArchitecture, type Architecture } from './architectures';
import { ConfigError, parseConfig, type ModelConfig } from './config';
import { loadTokenizer, TokenizerError, type TextTokenizer } from './tokenizer';
import { JSON_LIMITS, validateAgainstTensors, validateConfigJson } from './validate';

/** Named tensors with their stored shapes, read as f32 on demand. */
export interface TensorSource {
  shapes: ReadonlyMap<string, readonly number[]>;
  readF32(name: string): Promise<Float32Array>;
  /**
   * F16 or BF16 when the tensor is stored at 2 bytes per value (then readHalf reads it as stored);
   * null otherwise. Sources without it (memorySource) hold f32 only.
   */
  halfDType?(name: string): HalfDType | null;
  /** Flat elements start…start+count−1 (default: all) of an F16/BF16 tensor, as their stored 16-bit patterns. */
  readHalf?(name: string, start?: number, count?: number): Promise<Uint16Array>;
}

export function safetensorsSource(file: SafetensorsFile): TensorSource {
  const shapes = new Map<string, number[]>();
  for (const [name, info] of file.tensors) shapes.set(name, info.shape);
  const halfDType = (name: string): HalfDType | null => {
    const dtype = file.info(name).dtype;
    return isHalfDType(dtype) ? dtype : null;
  };
  return {
    shapes,
    readF32: (name) => file.readF32(name),
    halfDType,
    async readHalf(name, start = 0, count) {
      const t = file.info(name);
      if (!halfDType(name)) throw new Error(`${name} is stored as ${t.dtype}, not F16 or BF16`);
      return halfBits(await file.readRaw(name, 2 * start, count === undefined ? undefined : 2 * count));
    },
  };
}

/** Tensors already in memory (tests, converted checkpoints). */
export function memorySource(tensors: Iterable<[string, { shape: readonly number[]; data: Float32Array }]> | Map<string, { shape: readonly number[]; data: Float32Array }>): TensorSource {
  const map = new Map(tensors);
  const shapes = new Map<string, readonly number[]>();
  for (const [name, t] of map) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) throw new Error(`tensor ${name}: shape [${t.shape.join(', ')}] needs ${size} values, got ${t.data.length}`);
    shapes.set(name, t.shape);
  }
  return {
    shapes,
    async readF32(name) {
      const t = map.get(name);
      if (!t) throw new Error(`no tensor named ${name}`);
      return t.data;
    },
  };
}

/** A folder of model files, whatever holds them. */
export interface ModelFolder {
  name: string;
  files(): string[];
  text(file: string): Promise<string>;
  bytes(file: string): Promise<ByteSource>;
  /** The file's size in bytes, so that a huge JSON file is refused before it is read (else checked after). */
  size?(file: string): Promise<number>;
  /** Releases what bytes() opened (file handles in Node). */
  close?(): Promise<void>;
}

export interface OpenedModel {
  name: string;
  config: ModelConfig;
  arch: Architecture;
  weights: TensorSource;
  /** Null when the folder has no tokenizer.json. */
  tokenizer: TextTokenizer | null;
  /** The checkpoint as opened (dtypes, raw bytes, metadata), for export. */
  file: SafetensorsFile;
  /** Where the files came from, to copy config and tokenizer files on export. */
  folder: ModelFolder;
  /** Closes the weight files; the weights must not be read afterwards. */
  close(): Promise<void>;
}

export class ModelFolderError extends Error {
  override name = 'ModelFolderError';
}

/** Reads config.json, opens the weights (model.safetensors or a sharded index), checks them against the config, loads the tokenizer. */
export async function openModel(folder: ModelFolder): Promise<OpenedModel> {
  try {
    return await openFolder(folder);
  } catch (error) {
    await folder.close?.();
    throw error;
  }
}

/** A JSON file of the folder, refused in one line naming it when it is too large or not JSON. */
async function readJson(folder: ModelFolder, file: string): Promise<unknown> {
  const limit = JSON_LIMITS[file] ?? JSON_LIMITS['config.json'];
  const refuse = (problem: string) =>
    file === 'config.json'
      ? new ConfigError(`${file} ${problem}`)
      : file === 'tokenizer.json'
        ? new TokenizerError(`${file} ${problem}`)
        : new ModelFolderError(`${folder.name}: ${file} ${problem}`);
  const tooLarge = (size: number) => refuse(`is ${size} bytes; it must be at most ${limit} bytes (real ones are far smaller)`);
  const size = await folder.size?.(file);
  if (size !== undefined && size > limit) throw tooLarge(size);
  const text = await folder.text(file);
  if (text.length > limit) throw tooLarge(text.length);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw refuse(`is not valid JSON: ${(error as Error).message}`);
  }
}

/** parseConfig, its refusals naming config.json (the studio shows them as they are). */
function parseConfigJson(json: unknown): ModelConfig {
  try {
    return parseConfig(json);
  } catch (error) {
    if (error instanceof ConfigError && !error.message.startsWith('config.json')) throw new ConfigError(`config.json: ${error.message}`);
    throw error;
  }
}

async function openFolder(folder: ModelFolder): Promise<OpenedModel> {
  const files = new Set(folder.files());
  if (!files.has('config.json')) {
    throw new ModelFolderError(`${folder.name}: no config.json. Choose a Hugging Face model folder (config.json, *.safetensors, tokenizer.json).`);
  }
  // Sizes and counts are checked before parseConfig, which builds per-layer tables from them.
  const json = await readJson(folder, 'config.json');
  validateConfigJson(json);
  const config = parseConfigJson(json);
  let file: SafetensorsFile;
  let weightsFile = 'model.safetensors';
  if (files.has('model.safetensors.index.json')) {
    weightsFile = 'the shards of model.safetensors.index.json';
    file = await openSharded(await folder.bytes('model.safetensors.index.json'), (shard) => {
      if (!files.has(shard)) throw new ModelFolderError(`${folder.name}: the shard ${shard} named by model.safetensors.index.json is missing.`);
      return folder.bytes(shard);
    });
  } else if (files.has('model.safetensors')) {
    file = await openSafetensors(await folder.bytes('model.safetensors'));
  } else if (files.has(`model.safetensors${PACK_SUFFIX}`)) {
    // A packed checkpoint (docs/compact.md): the same file with its tensors deflated by byte plane.
    weightsFile = `model.safetensors${PACK_SUFFIX}`;
    file = await openPacked(await folder.bytes(weightsFile));
  } else {
    const single = [...files].filter((f) => f.endsWith('.safetensors'));
    if (single.length !== 1) {
      const hint = [...files].some((f) => f.endsWith('.bin')) ? ' PyTorch .bin checkpoints are not read; convert to safetensors.' : '';
      throw new ModelFolderError(`${folder.name}: no model.safetensors (or model.safetensors.index.json, or a packed model.safetensors.pack).${hint}`);
    }
    weightsFile = single[0];
    file = await openSafetensors(await folder.bytes(single[0]));
  }
  // A compact sparse checkpoint (docs/compact.md) reads as the dense one it stores.
  file = await openCompactView(file, declaredCompactFormat(json));
  validateAgainstTensors(json as Record<string, unknown>, config.layers, file, weightsFile);
  const weights = safetensorsSource(file);
  const arch = resolveArchitecture(config, weights.shapes);
  let tokenizer: TextTokenizer | null = null;
  if (files.has('tokenizer.json')) {
    const tokenizerConfig = files.has('tokenizer_config.json') ? await readJson(folder, 'tokenizer_config.json') : {};
    tokenizer = loadTokenizer(await readJson(folder, 'tokenizer.json'), tokenizerConfig, config);
  }
  return { name: folder.name, config, arch, weights, tokenizer, file, folder, close: async () => folder.close?.() };
}

/** A folder from picked or dropped browser files (webkitRelativePath or plain names). */
export function filesFolder(files: readonly File[], name?: string): ModelFolder {
  const byName = new Map<string, File>();
  for (const f of files) byName.set(f.name, f);
  const first = files[0] as (File & { webkitRelativePath?: string }) | undefined;
  const folderName = name ?? (first?.webkitRelativePath?.split('/')[0] || 'model');
  const get = (file: string): File => {
    const f = byName.get(file);
    if (!f) throw new ModelFolderError(`${folderName}: missing ${file}`);
    return f;
  };
  return {
    name: folderName,
    files: () => [...byName.keys()],
    text: (file) => get(file).text(),
    bytes: async (file) => blobSource(get(file), file),
    size: async (file) => get(file).size,
  };
}
