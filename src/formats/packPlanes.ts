/**
 * The codec of packed checkpoints (pack.ts, docs/compact.md): a tensor's stored bytes split into byte
 * planes (plane b holds byte b of every element) and each plane deflated on its own. Weights in
 * BF16/F16/F32 keep their sign and exponent in the top byte, which takes only a few values; grouped
 * together those bytes compress to about a third, while the mantissa bytes stay near random (ZipNN's
 * observation, Hershcovitch et al. 2024). A plane that deflate does not shrink is stored raw.
 */
import { concatBytes } from './byteSource';
import { SafetensorsError } from './safetensorsError';

export type PlaneCodec = 'raw' | 'deflate-raw';
export const PLANE_CODECS: readonly PlaneCodec[] = ['raw', 'deflate-raw'];

/**
 * Deflate expands at most 1032:1 (a run of 258 bytes per 2-bit code), so a plane that claims to
 * inflate to more than this many times its stored bytes is refused before anything is allocated.
 */
export const MAX_INFLATE_RATIO = 1032;

/** Byte `plane` of every element of `bytes` (elements of `size` bytes). */
export function bytePlane(bytes: Uint8Array, size: number, plane: number): Uint8Array<ArrayBuffer> {
  const n = bytes.byteLength / size;
  const out = new Uint8Array(n);
  for (let i = 0, j = plane; i < n; i++, j += size) out[i] = bytes[j];
  return out;
}

/** Writes `planeBytes` back as byte `plane` of every element of `into`. */
export function scatterPlane(into: Uint8Array, size: number, plane: number, planeBytes: Uint8Array): void {
  for (let i = 0, j = plane; i < planeBytes.byteLength; i++, j += size) into[j] = planeBytes[i];
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return chunks;
    chunks.push(value);
  }
}

/** Planes above this are first probed on their first PROBE_BYTES: mantissa planes (half of a BF16 file) do not shrink, and deflating them whole would double the time of a pack. */
const PROBE_ABOVE = 1 << 20;
const PROBE_BYTES = 1 << 16;
/** A probe that deflates to more than this fraction marks the plane as not worth deflating. */
const PROBE_RATIO = 0.97;

const deflate = async (bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> =>
  concatBytes(await drain(new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate-raw'))));

/** One plane as stored: deflated when that is smaller, else its bytes as they are. */
export async function encodePlane(plane: Uint8Array<ArrayBuffer>): Promise<{ codec: PlaneCodec; bytes: Uint8Array }> {
  if (plane.byteLength === 0) return { codec: 'raw', bytes: plane };
  if (plane.byteLength > PROBE_ABOVE && (await deflate(plane.slice(0, PROBE_BYTES))).byteLength > PROBE_RATIO * PROBE_BYTES) return { codec: 'raw', bytes: plane };
  const deflated = await deflate(plane);
  return deflated.byteLength < plane.byteLength ? { codec: 'deflate-raw', bytes: deflated } : { codec: 'raw', bytes: plane };
}

/**
 * A stored plane decoded into exactly `length` bytes. The stream is read chunk by chunk into a buffer
 * of the expected size, so data that inflates to more is refused as soon as it passes the length.
 */
export async function decodePlane(codec: PlaneCodec, stored: Uint8Array<ArrayBuffer>, length: number): Promise<Uint8Array> {
  if (codec === 'raw') {
    if (stored.byteLength !== length) throw new SafetensorsError(`a raw plane holds ${stored.byteLength} bytes, not the ${length} its tensor needs`);
    return stored;
  }
  if (length > MAX_INFLATE_RATIO * stored.byteLength) {
    throw new SafetensorsError(`a plane of ${stored.byteLength} deflated bytes claims to inflate to ${length}, more than deflate can expand`);
  }
  const out = new Uint8Array(length);
  let at = 0;
  const reader = new Blob([stored]).stream().pipeThrough(new DecompressionStream('deflate-raw')).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (at + value.byteLength > length) throw new SafetensorsError(`a deflated plane inflates to more than the ${length} bytes its tensor needs`);
      out.set(value, at);
      at += value.byteLength;
    }
  } catch (error) {
    void reader.cancel().catch(() => undefined);
    if (error instanceof SafetensorsError) throw error;
    throw new SafetensorsError(`a deflated plane is corrupt (${(error as Error).message ?? String(error)})`);
  }
  if (at !== length) throw new SafetensorsError(`a deflated plane inflates to ${at} bytes, not the ${length} its tensor needs`);
  return out;
}
