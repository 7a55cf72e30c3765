/**
 * Strict safetensors reader and writer for the browser and Node: the public face of this folder.
 *
 * Format: u64 little-endian header length N, N bytes of UTF-8 JSON, then the data region. The JSON
 * maps tensor names to {dtype, shape, data_offsets: [begin, end)} relative to the data region, plus an
 * optional "__metadata__" of string → string.
 *
 * dtypes.ts: element types and the f32 ↔ F16/BF16/stored-bytes conversions. reader.ts: one file,
 * strict header parsing, lazy per-tensor reads. shards.ts: sharded checkpoints (index.json).
 * writer.ts: serialisation. safetensorsError.ts: the error type.
 */
export type { ByteSource } from './byteSource';
export {
  bf16ToF32,
  bf16ToF32Array,
  DTYPE_SIZE,
  f16ToF32,
  f16ToF32Array,
  f32ToBf16,
  f32ToBf16Array,
  f32ToF16,
  f32ToF16Array,
  halfBits,
  isHalfDType,
  toF32,
  type HalfDType,
  type SafetensorsDType,
  type WritableDType,
} from './dtypes';
export { MAX_HEADER_BYTES, MAX_RANK, MAX_TENSORS, openSafetensors, parseHeader, type SafetensorsFile, type SingleSafetensorsFile, type TensorInfo } from './reader';
export { openSharded, type ShardResolver } from './shards';
export { SafetensorsError } from './safetensorsError';
export { writeSafetensors, type TensorToWrite } from './writer';
