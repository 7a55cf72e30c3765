/** Safetensors writer: F32, F16 and BF16 tensors plus string metadata, laid out as HF does, in one buffer. */
import { encodeTensor, safetensorsHeader, type TensorData } from './streamWriter';
import type { WritableDType } from './dtypes';

export interface TensorToWrite {
  name: string;
  dtype: WritableDType;
  shape: number[];
  /**
   * Float32Array: values, converted to `dtype` (round to nearest even). Uint16Array: F16/BF16 bit
   * patterns as they are. Uint8Array: the stored little-endian bytes.
   */
  data: TensorData;
}

/** Serialises tensors in the given order into one buffer (streamWriter.ts writes the same bytes to a sink). */
export function writeSafetensors(tensors: TensorToWrite[], metadata?: Record<string, string>): Uint8Array<ArrayBuffer> {
  const header = safetensorsHeader(tensors, metadata);
  const out = new Uint8Array(header.bytes.byteLength + header.dataBytes);
  out.set(header.bytes);
  let at = header.bytes.byteLength;
  for (const t of tensors) {
    const bytes = encodeTensor(t, t.data);
    out.set(bytes, at);
    at += bytes.byteLength;
  }
  return out;
}
