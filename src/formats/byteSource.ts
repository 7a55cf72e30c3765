/**
 * Random access to the bytes of a file, so that a multi-gigabyte checkpoint is never read whole:
 * readers fetch the header, then only the tensors they need.
 */
export interface ByteSource {
  /** Shown in error messages; for sharded checkpoints, matched against the index's file names. */
  name: string;
  size: number;
  /** Exactly `length` bytes from `offset`; rejects when the range is not inside the source. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new RangeError(`${name}: read of ${length} bytes at ${offset} is outside the ${size}-byte file`);
  }
}

/** The chunks one after another in one new buffer. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** A source over bytes already in memory; reads are views, not copies. */
export function bytesSource(bytes: Uint8Array, name = 'buffer'): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    async read(offset, length) {
      checkRange(name, bytes.byteLength, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** A source over a Blob or File (a dropped or picked file in the browser); each read slices. */
export function blobSource(blob: Blob, name?: string): ByteSource {
  const label = name ?? ((blob as Partial<File>).name || 'blob');
  return {
    name: label,
    size: blob.size,
    async read(offset, length) {
      checkRange(label, blob.size, offset, length);
      const buffer = await blob.slice(offset, offset + length).arrayBuffer();
      if (buffer.byteLength !== length) {
        throw new RangeError(`${label}: short read (${buffer.byteLength} of ${length} bytes); did the file change?`);
      }
      return new Uint8Array(buffer);
    },
  };
}
