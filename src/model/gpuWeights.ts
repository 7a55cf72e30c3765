/**
 * Weights as the forward pass holds them on the GPU: cut into row chunks that each fit one storage
 * binding (any weight, not only vocabulary tables, may exceed an adapter's limit), and kept in the
 * checkpoint's 16-bit values (BF16/F16, two per u32) when it stores them so: a 2-byte checkpoint
 * then takes about its file size of GPU memory, and its values are read from the file chunk by
 * chunk and uploaded as they are, with no f32 copy on the CPU. Products with a weight run chunk by
 * chunk, each writing its columns of the output.
 */
import type { Binding, Gpu, GpuTensor } from '../gpu/runtime';
import { matmul } from '../kernels/matmul';
import { packedLinear, packedWords, type PackedFormat, type WeightFormat } from '../kernels/packed';
import type { HalfDType } from '../formats/safetensors';
import type { TensorSource } from './loader';
import { ForwardError, type RowChunk, type Weight } from './tensors';

const PACKED: Record<HalfDType, PackedFormat> = { BF16: 'bf16', F16: 'f16' };

/** Bytes of the buffer holding `count` values in `format`. */
export function weightBufferBytes(format: WeightFormat, count: number): number {
  return format === 'f32' ? 4 * count : 4 * packedWords(count);
}

/** Rows per chunk of a [rows, cols] weight so that each chunk's buffer fits `bindingBytes` (at least one row). */
export function chunkRows(format: WeightFormat, rows: number, cols: number, bindingBytes: number): number {
  let n = Math.max(1, Math.min(rows, Math.floor(bindingBytes / ((format === 'f32' ? 4 : 2) * cols))));
  // An odd count of 16-bit values takes a whole last word.
  while (n > 1 && weightBufferBytes(format, n * cols) > bindingBytes) n--;
  return n;
}

function chunkStarts(rows: number, per: number): { start: number; count: number }[] {
  const out: { start: number; count: number }[] = [];
  for (let start = 0; start < rows; start += per) out.push({ start, count: Math.min(per, rows - start) });
  return out;
}

/**
 * Writes 16-bit values at word `word` of a packed buffer. Writes move whole, aligned words: an odd
 * count (padded with a zero half) or a view starting mid-word is copied first.
 */
function writePacked(gpu: Gpu, t: GpuTensor, bits: Uint16Array, word = 0): void {
  let whole = bits;
  if (bits.length % 2 !== 0 || bits.byteOffset % 4 !== 0) {
    whole = new Uint16Array(bits.length + (bits.length % 2));
    whole.set(bits);
  }
  gpu.write(t, whole, 4 * word);
}

function uploadPacked(gpu: Gpu, bits: Uint16Array): GpuTensor {
  const t = gpu.tensor([packedWords(bits.length)], 'u32');
  writePacked(gpu, t, bits);
  return t;
}

/** Values read from the file per write into a chunk: the host never holds more than this of a large table (32 MiB). */
const READ_VALUES = 1 << 24;

function check(name: string, got: number, rows: number, cols: number): void {
  if (got !== rows * cols) throw new ForwardError(`Tensor ${name} has ${got} values, expected ${rows}×${cols}.`);
}

/** A weight already in memory (f32, or 16-bit patterns of `format`) in chunks within `bindingBytes`. */
export function uploadWeight(gpu: Gpu, data: Float32Array | Uint16Array, format: WeightFormat, rows: number, cols: number, bindingBytes: number): Weight {
  const chunks: RowChunk[] = [];
  for (const { start, count } of chunkStarts(rows, chunkRows(format, rows, cols, bindingBytes))) {
    const part = data.subarray(start * cols, (start + count) * cols);
    const t = part instanceof Float32Array ? gpu.upload(part, [count, cols]) : uploadPacked(gpu, part);
    chunks.push({ start, count, t });
  }
  return { format, rows, cols, chunks };
}

/** A Conv1D weight as stored, [cols, rows], in nn.Linear layout [rows, cols]; values of either kind as they are. */
function fromConv1d<T extends Float32Array | Uint16Array>(stored: T, rows: number, cols: number): T {
  const out = (stored instanceof Float32Array ? new Float32Array(stored.length) : new Uint16Array(stored.length)) as T;
  for (let i = 0; i < stored.length; i++) out[(i % rows) * cols + Math.floor(i / rows)] = stored[i];
  return out;
}

export interface ReadWeightOptions {
  /** Stored [cols, rows] (GPT-2's Conv1D): transposed to [rows, cols] on the way. */
  transposed?: boolean;
  /** 16-bit values read per piece (even; default 16 Mi). */
  readValues?: number;
}

/**
 * A checkpoint tensor as a [rows, cols] weight on the GPU: F16/BF16 kept at 2 bytes per value, read
 * one chunk at a time; other dtypes converted to f32.
 */
export async function readWeight(
  gpu: Gpu,
  source: TensorSource,
  name: string,
  rows: number,
  cols: number,
  bindingBytes: number,
  options: ReadWeightOptions = {},
): Promise<Weight> {
  const half = source.halfDType?.(name) ?? null;
  if (!half || !source.readHalf) {
    const data = await source.readF32(name);
    check(name, data.length, rows, cols);
    const f32 = options.transposed ? fromConv1d(data, rows, cols) : data;
    return uploadWeight(gpu, f32, 'f32', rows, cols, bindingBytes);
  }
  const format = PACKED[half];
  if (options.transposed) {
    const bits = await source.readHalf(name);
    check(name, bits.length, rows, cols);
    return uploadWeight(gpu, fromConv1d(bits, rows, cols), format, rows, cols, bindingBytes);
  }
  const total = source.shapes.get(name)?.reduce((a, b) => a * b, 1);
  if (total !== undefined) check(name, total, rows, cols);
  const piece = 2 * Math.max(1, Math.floor((options.readValues ?? READ_VALUES) / 2));
  const chunks: RowChunk[] = [];
  try {
    for (const { start, count } of chunkStarts(rows, chunkRows(format, rows, cols, bindingBytes))) {
      const n = count * cols;
      const t = gpu.tensor([packedWords(n)], 'u32');
      chunks.push({ start, count, t });
      // Pieces of an even number of values, so that each starts on a whole word of the chunk.
      for (let done = 0; done < n; done += piece) {
        const bits = await source.readHalf(name, start * cols + done, Math.min(piece, n - done));
        check(`${name} rows ${start}…${start + count - 1}`, bits.length, Math.min(piece, n - done), 1);
        writePacked(gpu, t, bits, done / 2);
      }
    }
  } catch (error) {
    for (const c of chunks) c.t.dispose();
    throw error;
  }
  return { format, rows, cols, chunks };
}

/** GPU bytes of a weight's buffers as the pool counts them (sizes rounded by `round`). */
export function weightGpuBytes(w: Weight, round: (bytes: number) => number): number {
  return w.chunks.reduce((sum, c) => sum + round(c.t.bytes), 0);
}

export interface ProductOptions {
  rows: number;
  /** Element offset of X's first row (rows are w.cols long). */
  offA?: number;
  /** Row length of Y and its column where the weight's row 0 lands (default w.rows, 0). */
  ldc?: number;
  offC?: number;
  /** Add to Y instead of overwriting it. */
  accumulate?: boolean;
}

/** Y[:, offC…offC+count−1] = X·chunkᵀ for one row chunk of a weight (offC: where the chunk's first row lands). */
export function chunkProduct(gpu: Gpu, X: Binding, w: Weight, ch: RowChunk, Y: Binding, o: ProductOptions & { ldc: number }): void {
  const offC = o.offC ?? 0;
  if (w.format === 'f32') {
    matmul(gpu, X, ch.t, Y, { M: o.rows, N: ch.count, K: w.cols, transB: true, offA: o.offA ?? 0, ldc: o.ldc, offC, beta: o.accumulate ? 1 : 0 });
  } else {
    packedLinear(gpu, X, ch.t, Y, { M: o.rows, N: ch.count, K: w.cols, format: w.format, offA: o.offA, ldc: o.ldc, offC, accumulate: o.accumulate });
  }
}

/** Y = X·Wᵀ (nn.Linear), chunk by chunk, each chunk writing its columns of Y. */
export function weightProduct(gpu: Gpu, X: Binding, w: Weight, Y: Binding, o: ProductOptions): void {
  const ldc = o.ldc ?? w.rows;
  for (const ch of w.chunks) chunkProduct(gpu, X, w, ch, Y, { ...o, ldc, offC: (o.offC ?? 0) + ch.start });
}
