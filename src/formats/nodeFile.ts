/** Node-only: a ByteSource over a file on disk. Browser code must not import this module. */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { checkRange, type ByteSource } from './byteSource';

export interface NodeFileSource extends ByteSource {
  /** The absolute or given path. */
  path: string;
  close(): Promise<void>;
}

/**
 * Opens `path` for positional reads. The handle stays open until close() (reads of a large model
 * would otherwise reopen the file per tensor); the name is the base name, as a sharded index
 * refers to its shards.
 */
export async function openFileSource(path: string): Promise<NodeFileSource> {
  // Before opening: opening a FIFO for reading blocks until something writes to it.
  if (!(await stat(path)).isFile()) throw new Error(`${path} is not a regular file`);
  const handle: FileHandle = await open(path, 'r');
  let size: number;
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error(`${path} is not a regular file`);
    size = stat.size;
  } catch (error) {
    await handle.close();
    throw error;
  }
  const name = basename(path);
  let closed = false;
  return {
    name,
    path,
    size,
    async read(offset, length) {
      checkRange(name, size, offset, length);
      if (closed) throw new Error(`${name}: the file was closed`);
      const out = new Uint8Array(length);
      let done = 0;
      // A positional read may return fewer bytes than asked for; loop until the range is filled.
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) throw new RangeError(`${name}: unexpected end of file at byte ${offset + done}; did the file change?`);
        done += bytesRead;
      }
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}
