/**
 * Reading a compact sparse checkpoint (compactLayout.ts, docs/compact.md) as if it were dense: the
 * weights stored as compressed/bitmask/row_offsets/shape appear under their `.weight` names with
 * their dense dtype and shape, and are decoded when read. Every claim of the header is checked
 * when the folder is opened; the bitmask against the stored values when the weight is read.
 */
import { DTYPE_SIZE, toF32, type SafetensorsDType, type WritableDType } from './dtypes';
import { COMPACT_FORMATS, CompactDataError, decodeCompact, bitmaskRowBytes, type CompactFormat } from './compactLayout';
import { isPlainObject, rangeLength, tensorLookup, type SafetensorsFile, type TensorInfo } from './reader';
import { fail, SafetensorsError } from './safetensorsError';

/** Dense rows and columns a compact weight may claim: each at most 2³¹−1, the product bounded by the safe integers. */
const MAX_DIM = 2 ** 31 - 1;

const INTS = new Set<SafetensorsDType>(['I64', 'I32']);
const VALUES = new Set<SafetensorsDType>(['F32', 'F16', 'BF16']);

/** The compressed-tensors sparsity format config.json declares, or null for an ordinary checkpoint; quantized checkpoints are refused. */
export function declaredCompactFormat(config: unknown): CompactFormat | null {
  if (!isPlainObject(config) || config.quantization_config === undefined || config.quantization_config === null) return null;
  const q = config.quantization_config;
  const where = 'config.json: quantization_config';
  if (!isPlainObject(q)) throw new SafetensorsError(`${where} is not an object`);
  if (q.quant_method !== 'compressed-tensors') {
    throw new SafetensorsError(`${where} has quant_method ${JSON.stringify(q.quant_method)}: quantized weights are not read; give an unquantized checkpoint (or a compressed-tensors sparse one)`);
  }
  if (isPlainObject(q.config_groups) && Object.keys(q.config_groups).length > 0) {
    throw new SafetensorsError(`${where} has config_groups: quantized compressed-tensors weights are not read, only the sparse formats ${COMPACT_FORMATS.join(' and ')}`);
  }
  const s = q.sparsity_config;
  if (s === undefined || s === null || (isPlainObject(s) && Object.keys(s).length === 0)) return null;
  if (!isPlainObject(s)) throw new SafetensorsError(`${where}.sparsity_config is not an object`);
  if (s.format === 'dense') return null;
  if (typeof s.format === 'string' && (COMPACT_FORMATS as readonly string[]).includes(s.format)) return s.format as CompactFormat;
  throw new SafetensorsError(`${where}.sparsity_config.format ${JSON.stringify(s.format)} is not read; the formats read are ${COMPACT_FORMATS.join(' and ')}`);
}

interface CompactWeight {
  prefix: string;
  dtype: WritableDType;
  rows: number;
  cols: number;
  compressed: TensorInfo;
  bitmask: TensorInfo;
  rowOffsets?: TensorInfo;
}

/** The weights a view decodes (their `.weight` names) and its format; null for files that are not compact views. */
const VIEWS = new WeakMap<SafetensorsFile, { format: CompactFormat; weights: ReadonlySet<string> }>();

export function compactWeights(file: SafetensorsFile): { format: CompactFormat; weights: ReadonlySet<string> } | null {
  return VIEWS.get(file) ?? null;
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** Signed integers of an I64 or I32 tensor as numbers (values past ±2⁵³ become unsafe and are refused by the callers' range checks). */
function integers(bytes: Uint8Array, dtype: SafetensorsDType): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i < bytes.byteLength; i += DTYPE_SIZE[dtype]) out.push(dtype === 'I64' ? Number(view.getBigInt64(i, true)) : view.getInt32(i, true));
  return out;
}

/** One group's header checked: every part there, dtypes and shapes consistent with the dense shape its `shape` tensor gives. */
async function checkWeight(file: SafetensorsFile, format: CompactFormat, prefix: string): Promise<CompactWeight> {
  const part = (suffix: string): TensorInfo | undefined => file.tensors.get(`${prefix}.${suffix}`);
  const compressed = part('compressed')!;
  const where = compressed.file;
  const needs = format === 'sparse-bitmask' ? 'compressed, bitmask, row_offsets and shape' : 'compressed, bitmask and shape';
  const missing = (suffix: string): never => fail(where, `tensor "${prefix}.compressed" has no "${prefix}.${suffix}" next to it (${format} stores ${needs})`);
  const bitmask = part('bitmask') ?? missing('bitmask');
  const shapeInfo = part('shape') ?? missing('shape');
  const rowOffsets = format === 'sparse-bitmask' ? (part('row_offsets') ?? missing('row_offsets')) : undefined;
  if (file.tensors.has(`${prefix}.weight`)) fail(where, `"${prefix}.weight" is stored both dense and as "${prefix}.compressed"; keep one`);
  const name = (t: TensorInfo) => `tensor "${t.name}"`;
  if (!INTS.has(shapeInfo.dtype) || shapeInfo.shape.reduce((a, b) => a * b, 1) !== 2) {
    fail(where, `${name(shapeInfo)} must hold the 2 dimensions of the dense weight as I64 (it is ${shapeInfo.dtype} ${JSON.stringify(shapeInfo.shape)})`);
  }
  const [rows, cols] = integers(await file.readRaw(shapeInfo.name), shapeInfo.dtype);
  if (![rows, cols].every((d) => Number.isSafeInteger(d) && d > 0 && d <= MAX_DIM) || !Number.isSafeInteger(rows * cols * 4)) {
    fail(where, `${name(shapeInfo)} gives the dense shape [${rows}, ${cols}]; each dimension must be a whole number from 1 to ${MAX_DIM}`);
  }
  if (!VALUES.has(compressed.dtype)) fail(where, `${name(compressed)} has dtype ${compressed.dtype}; compact weights are read with F32, F16 or BF16 values`);
  if (!(bitmask.dtype === 'U8' || bitmask.dtype === 'I8') || !sameShape(bitmask.shape, [rows, bitmaskRowBytes(cols)])) {
    fail(where, `${name(bitmask)} is ${bitmask.dtype} ${JSON.stringify(bitmask.shape)}; a dense [${rows}, ${cols}] weight needs a U8 bitmask of shape [${rows}, ${bitmaskRowBytes(cols)}]`);
  }
  if (format === 'sparse-24-bitmask') {
    if (cols % 4 !== 0) fail(where, `${name(shapeInfo)} gives ${cols} columns; sparse-24-bitmask needs a multiple of 4`);
    if (!sameShape(compressed.shape, [rows, cols / 2])) fail(where, `${name(compressed)} has shape ${JSON.stringify(compressed.shape)}; two of every four values of [${rows}, ${cols}] are [${rows}, ${cols / 2}]`);
  } else {
    if (compressed.shape.length !== 1 || compressed.shape[0] > rows * cols) {
      fail(where, `${name(compressed)} has shape ${JSON.stringify(compressed.shape)}; it must be 1-D with at most ${rows * cols} values (the dense [${rows}, ${cols}])`);
    }
    if (!INTS.has(rowOffsets!.dtype) || !sameShape(rowOffsets!.shape, [rows])) {
      fail(where, `${name(rowOffsets!)} is ${rowOffsets!.dtype} ${JSON.stringify(rowOffsets!.shape)}; it must be I64 of shape [${rows}], one offset per row`);
    }
  }
  return { prefix, dtype: compressed.dtype as WritableDType, rows, cols, compressed, bitmask, rowOffsets };
}

/**
 * The file with its compact weights shown dense, or the file itself when it has none. `format` is
 * what config.json declares (declaredCompactFormat); compressed tensors without it are refused.
 */
export async function openCompactView(file: SafetensorsFile, format: CompactFormat | null): Promise<SafetensorsFile> {
  const prefixes = new Set<string>();
  const orphans: string[] = [];
  for (const name of file.tensors.keys()) {
    const m = /^(.*)\.(compressed|bitmask|row_offsets|shape)$/.exec(name);
    if (!m) continue;
    if (m[2] === 'compressed') prefixes.add(m[1]);
    else orphans.push(name);
  }
  if (prefixes.size === 0) return file;
  const first = [...prefixes][0];
  if (format === null) {
    fail(file.info(`${first}.compressed`).file, `tensor "${first}.compressed" is a compact sparse weight, but config.json has no quantization_config.sparsity_config saying its format (sparse-bitmask or sparse-24-bitmask)`);
  }
  for (const name of orphans) {
    const prefix = name.slice(0, name.lastIndexOf('.'));
    // A stray part is only an error when it claims a weight that has no compressed values.
    if (!prefixes.has(prefix) && (name.endsWith('.bitmask') || name.endsWith('.row_offsets'))) fail(file.info(name).file, `tensor "${name}" has no "${prefix}.compressed" next to it`);
  }
  const weights = new Map<string, CompactWeight>();
  for (const prefix of prefixes) weights.set(`${prefix}.weight`, await checkWeight(file, format, prefix));
  const tensors = new Map<string, TensorInfo>();
  const hidden = new Set<string>();
  for (const w of weights.values()) for (const t of [w.compressed, w.bitmask, w.rowOffsets]) if (t) hidden.add(t.name);
  for (const prefix of prefixes) hidden.add(`${prefix}.shape`);
  for (const [name, t] of file.tensors) {
    const w = hidden.has(name) && name.endsWith('.compressed') ? weights.get(`${name.slice(0, -'.compressed'.length)}.weight`) : undefined;
    if (w) {
      const name = `${w.prefix}.weight`;
      tensors.set(name, { name, dtype: w.dtype, shape: [w.rows, w.cols], begin: t.begin, end: t.end, file: t.file });
    } else if (!hidden.has(name)) tensors.set(name, t);
  }
  const info = tensorLookup(file.name, tensors);
  // Blocks read a weight once, the vocabulary table in row chunks: one decoded weight is kept.
  let cached: { name: string; bytes: Uint8Array } | null = null;
  const dense = async (w: CompactWeight): Promise<Uint8Array> => {
    const name = `${w.prefix}.weight`;
    if (cached?.name === name) return cached.bytes;
    const rowOffsets = w.rowOffsets ? await file.readRaw(w.rowOffsets.name) : undefined;
    const offsets = rowOffsets && w.rowOffsets ? integers(rowOffsets, w.rowOffsets.dtype) : undefined;
    let bytes: Uint8Array;
    try {
      bytes = decodeCompact(w.dtype, w.rows, w.cols, { compressed: await file.readRaw(w.compressed.name), bitmask: await file.readRaw(w.bitmask.name), rowOffsets: offsets });
    } catch (error) {
      if (error instanceof CompactDataError) fail(w.compressed.file, `compact weight "${w.prefix}": ${error.message}`);
      throw error;
    }
    cached = { name, bytes };
    return bytes;
  };
  const readRaw = async (name: string, start = 0, length?: number): Promise<Uint8Array> => {
    const w = weights.get(name);
    if (!w) return file.readRaw(name, start, length);
    const bytes = await dense(w);
    return bytes.subarray(start, start + rangeLength(file.name, name, bytes.byteLength, start, length));
  };
  const view: SafetensorsFile = {
    name: file.name,
    tensors,
    metadata: file.metadata,
    info,
    readRaw,
    readF32: async (name) => toF32(file.name, info(name), await readRaw(name)),
  };
  VIEWS.set(view, { format, weights: new Set(weights.keys()) });
  return view;
}
