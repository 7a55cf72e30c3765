/**
 * The output folder of `prune`: checked (and created) before the long run, written file by file
 * through renames, and taken away again when the run fails.
 */
import { access, mkdir, open, readdir, realpath, rename, rm, rmdir, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describeFsError, InputError } from '../errors';

/** The marker of a folder this command wrote: such a folder may be overwritten by a new run. */
const REPORT_FILE = 'prune_report.json';

/**
 * Fails before the (long) run when the output folder could not be written, is the input folder, or
 * is someone else's non-empty folder. A missing folder is created now, as the only sure test that it
 * can be (permissions, read-only or virtual file systems); returns the first folder created, for
 * removeCreated to take away again when the run fails.
 */
export async function prepareOutDir(out: string, modelDir: string): Promise<string | undefined> {
  let info;
  try {
    info = await stat(out);
  } catch (error) {
    // ENOTDIR: a parent is a file; makeFolders names which one.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw describeFsError(error, out, 'write');
  }
  if (info) {
    if (!info.isDirectory()) throw new InputError(`cannot write ${out}: it exists and is not a folder`);
    if ((await realpath(out)) === (await realpath(modelDir))) {
      throw new InputError(`--out ${out} is the input model folder; write the pruned model to another folder`);
    }
    const entries = await readdir(out);
    if (entries.length > 0 && !entries.includes(REPORT_FILE)) {
      throw new InputError(`--out ${out} is a non-empty folder that prune-studio did not write; choose a new or empty folder`);
    }
    try {
      await access(out, constants.W_OK);
    } catch (error) {
      throw describeFsError(error, out, 'write');
    }
    return undefined;
  }
  return makeFolders(out);
}

/**
 * `mkdir -p` one level at a time, returning the top-most folder created. (Node's recursive mkdir
 * loops forever under /proc, where mkdir fails with ENOENT after the parent "exists".)
 */
async function makeFolders(out: string): Promise<string | undefined> {
  const missing: string[] = [];
  let folder = resolve(out);
  for (;;) {
    try {
      if (!(await stat(folder)).isDirectory()) throw new InputError(`cannot create ${out}: ${folder} is not a folder`);
      break;
    } catch (error) {
      if (error instanceof InputError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(folder) === folder) throw describeFsError(error, out, 'create');
      missing.push(folder);
      folder = dirname(folder);
    }
  }
  missing.reverse();
  for (let i = 0; i < missing.length; i++) {
    try {
      await mkdir(missing[i]!);
    } catch (error) {
      if (i > 0) await removeCreated(missing[i - 1]!, missing[0]!);
      throw describeFsError(error, out, 'create');
    }
  }
  return missing[0];
}

/** Removes the still-empty folders this run created, from `out` up to `created`, after a failure or Ctrl-C. */
export async function removeCreated(out: string, created: string): Promise<void> {
  const top = resolve(created);
  for (let folder = resolve(out); ; folder = dirname(folder)) {
    try {
      await rmdir(folder);
    } catch {
      return; // not empty (or gone): leave it
    }
    if (folder === top || dirname(folder) === folder) return;
  }
}

/** A file of the output, written into a sink chunk by chunk (pipeline/export.ts ExportFile). */
export interface OutputFile {
  name: string;
  write(sink: { write(chunk: Uint8Array): Promise<void> }): Promise<void>;
}

/** Weight files of an earlier run that this one did not write: left behind, an old index would win over a new model.safetensors. */
const isWeightFile = (name: string): boolean => name.endsWith('.safetensors') || name === 'model.safetensors.index.json';

/**
 * Streams each file (into the folder prepareOutDir made) to a temporary name next to its final one,
 * then renames: a crash never leaves a half-written shard, and only one tensor's bytes are in memory
 * at a time. Weight files of an earlier run into the same folder that this run did not write are removed.
 */
export async function writeFolder(out: string, files: readonly OutputFile[]): Promise<void> {
  try {
    for (const f of files) {
      const partial = join(out, `.${f.name}.partial`);
      const handle = await open(partial, 'w');
      try {
        await f.write({
          write: async (chunk) => {
            for (let at = 0; at < chunk.byteLength; ) at += (await handle.write(chunk, at, chunk.byteLength - at)).bytesWritten;
          },
        });
      } catch (error) {
        await handle.close();
        await rm(partial, { force: true });
        throw error;
      }
      await handle.close();
      await rename(partial, join(out, f.name));
    }
    const written = new Set(files.map((f) => f.name));
    for (const name of await readdir(out)) {
      if (isWeightFile(name) && !written.has(name)) await rm(join(out, name), { force: true });
    }
  } catch (error) {
    throw describeFsError(error, out, 'write');
  }
}
