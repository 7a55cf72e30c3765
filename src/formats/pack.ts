/**
 * Packed checkpoints (`*.safetensors.pack`, docs/compact.md): a safetensors file with every tensor's
 * bytes stored as deflated byte planes (packPlanes.ts). Unpacking gives back the safetensors file
 * byte for byte (its header is embedded verbatim), so a packed compact checkpoint is the
 * compressed-tensors file, only smaller on disk and over the network.
 *
 *   "PSPACK1\0" | u64 N | the safetensors header JSON (N bytes) | the planes, tensor by tensor |
 *   plane table JSON (M bytes) | u64 M | "PSPACK1\0"
 *
 * The plane table, `{"version": 1, "planes": {name: [[codec, begin, end], …]}}`, gives for each
 * tensor of the header its element-size planes in byte order (absolute offsets). It comes last so
 * that the writer makes one pass, encoding each tensor once. TensorInfo offsets of a packed file are
 * those of the unpacked data region.
 */
import type { ByteSource } from './byteSource';
import { DTYPE_SIZE, toF32 } from './dtypes';
import { bytePlane, decodePlane, encodePlane, MAX_INFLATE_RATIO, PLANE_CODECS, scatterPlane, type PlaneCodec } from './packPlanes';
import { isPlainObject, MAX_HEADER_BYTES, openSafetensors, parseHeader, rangeLength, readChecked, readHeaderJson, tensorLookup, type SafetensorsFile } from './reader';
import { fail, SafetensorsError } from './safetensorsError';
import { encodeTensor, safetensorsHeader, type ByteSink, type LazyTensor } from './streamWriter';

export const PACK_MAGIC = new TextEncoder().encode('PSPACK1\0');
/** What a packed weight file's name ends with: other tools see no `.safetensors` file and say so. */
export const PACK_SUFFIX = '.pack';
const PACK_VERSION = 1;

function u64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, n % 2 ** 32, true);
  view.setUint32(4, Math.floor(n / 2 ** 32), true);
  return out;
}

/**
 * Writes a packed file: the header the safetensors file would have, then each tensor's planes as the
 * tensor is produced (one tensor alive at a time), then the plane table. Returns the bytes written.
 */
export async function streamPacked(tensors: readonly LazyTensor[], sink: ByteSink, metadata?: Record<string, string>): Promise<number> {
  const header = safetensorsHeader(tensors, metadata);
  await sink.write(PACK_MAGIC);
  await sink.write(header.bytes);
  let at = PACK_MAGIC.byteLength + header.bytes.byteLength;
  const planes: Record<string, [PlaneCodec, number, number][]> = {};
  for (const t of tensors) {
    const bytes = encodeTensor(t, await t.data());
    const size = DTYPE_SIZE[t.dtype];
    planes[t.name] = [];
    for (let b = 0; b < size; b++) {
      const stored = await encodePlane(bytePlane(bytes, size, b));
      await sink.write(stored.bytes);
      planes[t.name].push([stored.codec, at, at + stored.bytes.byteLength]);
      at += stored.bytes.byteLength;
    }
  }
  const table = new TextEncoder().encode(JSON.stringify({ version: PACK_VERSION, planes }));
  await sink.write(table);
  await sink.write(u64(table.byteLength));
  await sink.write(PACK_MAGIC);
  return at + table.byteLength + 8 + PACK_MAGIC.byteLength;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);

/** Whether the source starts with the pack magic (a safetensors file cannot: its first 8 bytes are a header length). */
export async function isPacked(src: ByteSource): Promise<boolean> {
  return src.size >= PACK_MAGIC.byteLength && sameBytes(await readChecked(src, 0, PACK_MAGIC.byteLength), PACK_MAGIC);
}

interface PlaneSpan {
  codec: PlaneCodec;
  begin: number;
  end: number;
}

/** The plane table at the end of the file, every claim checked against the file and the header. */
async function readPlaneTable(src: ByteSource, dataBegin: number, tensors: SafetensorsFile['tensors']): Promise<Map<string, PlaneSpan[]>> {
  const file = src.name;
  const tail = PACK_MAGIC.byteLength + 8;
  if (src.size < dataBegin + tail || !sameBytes(await readChecked(src, src.size - PACK_MAGIC.byteLength, PACK_MAGIC.byteLength), PACK_MAGIC)) {
    fail(file, 'the packed file does not end with its closing magic; it is truncated or not a packed checkpoint');
  }
  const lengthBytes = await readChecked(src, src.size - tail, 8);
  const view = new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8);
  const length = view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
  const dataEnd = src.size - tail - length;
  if (length > MAX_HEADER_BYTES || dataEnd < dataBegin) fail(file, `the plane table claims ${length} bytes, more than the file holds after its header`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await readChecked(src, dataEnd, length)));
  } catch (error) {
    if (error instanceof SafetensorsError) throw error;
    fail(file, `the plane table is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(json) || json.version !== PACK_VERSION || !isPlainObject(json.planes)) {
    fail(file, `the plane table is not a version-${PACK_VERSION} table of planes; this studio reads packed checkpoints of version ${PACK_VERSION}`);
  }
  const table = new Map<string, PlaneSpan[]>();
  const spans: [number, number, string][] = [];
  for (const [name, t] of tensors) {
    const entry = json.planes[name];
    const size = DTYPE_SIZE[t.dtype];
    if (!Array.isArray(entry) || entry.length !== size) fail(file, `the plane table has no ${size} planes for tensor "${name}" (${t.dtype} has ${size} bytes an element)`);
    table.set(
      name,
      entry.map((plane: unknown, b) => {
        const [codec, begin, end] = Array.isArray(plane) ? (plane as unknown[]) : [];
        if (!PLANE_CODECS.includes(codec as PlaneCodec)) fail(file, `plane ${b} of tensor "${name}" has codec ${JSON.stringify(codec)}; the codecs read are ${PLANE_CODECS.join(' and ')}`);
        if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || (begin as number) < dataBegin || (end as number) < (begin as number) || (end as number) > dataEnd) {
          fail(file, `plane ${b} of tensor "${name}" spans ${JSON.stringify([begin, end])}, outside the file's data [${dataBegin}, ${dataEnd}]`);
        }
        const stored = (end as number) - (begin as number);
        const count = (t.end - t.begin) / size;
        // Checked before anything is allocated: a hostile table cannot make a small file claim gigabytes.
        if (codec === 'raw' ? stored !== count : count > MAX_INFLATE_RATIO * stored) {
          fail(file, `plane ${b} of tensor "${name}" stores ${stored} ${codec} bytes, which cannot give the ${count} bytes its shape needs`);
        }
        spans.push([begin as number, end as number, name]);
        return { codec: codec as PlaneCodec, begin: begin as number, end: end as number };
      }),
    );
  }
  if (Object.keys(json.planes).length !== tensors.size) fail(file, `the plane table lists ${Object.keys(json.planes).length} tensors, the header ${tensors.size}`);
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][0] < spans[i - 1][1]) fail(file, `planes of tensors "${spans[i - 1][2]}" and "${spans[i][2]}" overlap`);
  }
  return table;
}

/** Opens a packed file: the embedded header and the plane table are checked now, tensors decoded when read. */
export async function openPacked(src: ByteSource): Promise<SafetensorsFile> {
  const file = src.name;
  if (!(await isPacked(src))) fail(file, 'this is not a packed checkpoint (no PSPACK1 magic at its start)');
  const { headerLength, json } = await readHeaderJson(src, PACK_MAGIC.byteLength);
  const { tensors, metadata } = parseHeader(file, json, 0, Number.MAX_SAFE_INTEGER);
  const planes = await readPlaneTable(src, PACK_MAGIC.byteLength + 8 + headerLength, tensors);
  const info = tensorLookup(file, tensors);
  // Blocks read a weight once, the vocabulary table in row chunks: one decoded tensor is kept.
  let cached: { name: string; bytes: Uint8Array } | null = null;
  const decoded = async (name: string): Promise<Uint8Array> => {
    if (cached?.name === name) return cached.bytes;
    const t = info(name);
    const size = DTYPE_SIZE[t.dtype];
    const count = (t.end - t.begin) / size;
    const bytes = new Uint8Array(t.end - t.begin);
    for (const [b, plane] of planes.get(name)!.entries()) {
      const stored = await readChecked(src, plane.begin, plane.end - plane.begin);
      try {
        scatterPlane(bytes, size, b, await decodePlane(plane.codec, stored as Uint8Array<ArrayBuffer>, count));
      } catch (error) {
        if (error instanceof SafetensorsError) fail(file, `tensor "${name}", plane ${b}: ${error.message}`);
        throw error;
      }
    }
    cached = { name, bytes };
    return bytes;
  };
  const readRaw = async (name: string, start = 0, length?: number): Promise<Uint8Array> => {
    const t = info(name);
    const n = rangeLength(file, name, t.end - t.begin, start, length);
    return (await decoded(name)).subarray(start, start + n);
  };
  return { name: file, tensors, metadata, info, readRaw, readF32: async (name) => toF32(file, info(name), await readRaw(name)) };
}

/** A weight file of either kind: packed when it starts with the pack magic, safetensors otherwise. */
export async function openWeightFile(src: ByteSource): Promise<SafetensorsFile> {
  return (await isPacked(src)) ? openPacked(src) : openSafetensors(src);
}
