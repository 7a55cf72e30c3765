/**
 * `prune --resume <dir>`: the finished blocks of a whole-model run on disk (format in
 * src/pipeline/checkpoint.ts). Opening checks that the folder's checkpoint is this run's and intact
 * and hands its layers to the run; each block the run finishes is written next to its final name and
 * renamed (block file first, then the manifest that names it), so a kill at any moment leaves the
 * last complete checkpoint behind; once the pruned model is written the checkpoint is removed.
 */
import { mkdir, open, readdir, readFile, realpath, rename, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  blockFileName,
  CheckpointError,
  decodeBlock,
  emptyManifest,
  encodeBlock,
  parseManifest,
  runDifference,
  sha256Hex,
  type Manifest,
  type RunIdentity,
} from '../../pipeline/checkpoint';
import type { WeightTable } from '../../formats/weightTable';
import type { OpenedModel } from '../../model/loader';
import type { LayerOutcome } from '../../shared/outcome';
import { describeFsError, InputError } from '../errors';

export const MANIFEST = 'checkpoint.json';
/** Files a checkpoint folder may hold: the manifest, block files, and their half-written versions. */
const OURS = /^(checkpoint\.json|block-\d+\.safetensors)$|^\.(checkpoint\.json|block-\d+\.safetensors)\.partial$/;

export interface FinishedLayers {
  weights: WeightTable;
  report: LayerOutcome[];
}

export interface DiskCheckpoint {
  dir: string;
  /** Blocks read back from the folder when it was opened. */
  restored: number;
  /** Blocks on disk now. */
  blocks(): number;
  /** Writes the finished block `index` (its layers are in `done`), then the manifest naming it. */
  saveBlock(index: number, done: FinishedLayers): Promise<void>;
  /** Removes what the checkpoint wrote (after the pruned model is written). */
  remove(): Promise<void>;
}

/** Writes `bytes` as `dir/name` through a synced temporary file and a rename: the name never points at a partial file. */
async function writeAtomically(dir: string, name: string, bytes: Uint8Array | string): Promise<void> {
  const partial = join(dir, `.${name}.partial`);
  try {
    const handle = await open(partial, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(partial, join(dir, name));
  } catch (error) {
    throw describeFsError(error, join(dir, name), 'write');
  }
}

async function sameFolder(a: string, b: string): Promise<boolean> {
  try {
    return (await realpath(a)) === (await realpath(b));
  } catch {
    return false;
  }
}

/** The folder, created when missing (its parent must exist), checked to be no other folder of the run. */
async function prepareFolder(dir: string, others: { out: string; modelDir: string }): Promise<string[]> {
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) throw new InputError(`--resume ${dir} exists and is not a folder; give a folder for the checkpoint`);
  } catch (error) {
    if (error instanceof InputError) throw error;
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw describeFsError(error, dir, 'open');
    try {
      await mkdir(dir);
    } catch (e) {
      throw describeFsError(e, dir, 'create');
    }
  }
  if (await sameFolder(dir, others.out)) throw new InputError(`--resume ${dir} is the --out folder; give the checkpoint a folder of its own`);
  if (await sameFolder(dir, others.modelDir)) throw new InputError(`--resume ${dir} is the input model folder; give the checkpoint a folder of its own`);
  try {
    return await readdir(dir);
  } catch (error) {
    throw describeFsError(error, dir, 'read');
  }
}

/**
 * Opens (or starts) the checkpoint in `dir` for the run `run`: the finished blocks it holds are
 * checked against their sizes and SHA-256 in the manifest and against the model, and added to `done`.
 * Another run's checkpoint, or a damaged one, is refused with one line; nothing is deleted.
 */
export async function openCheckpoint(
  dir: string,
  o: { model: OpenedModel; run: RunIdentity; done: FinishedLayers; out: string; modelDir: string },
): Promise<DiskCheckpoint> {
  const entries = await prepareFolder(dir, o);
  const refuse = (what: string): never => {
    throw new InputError(`--resume ${dir}: ${what}`);
  };
  let manifest: Manifest;
  if (entries.includes(MANIFEST)) {
    const path = join(dir, MANIFEST);
    try {
      manifest = parseManifest(await readFile(path, 'utf8'), MANIFEST);
    } catch (error) {
      if (error instanceof CheckpointError) refuse(`${error.message}; delete ${dir} to start over`);
      throw describeFsError(error, path, 'read');
    }
    const differs = runDifference(manifest.run, o.run);
    if (differs) refuse(`the checkpoint is of another run: ${differs} differs; run the command it was made with, or give another --resume folder (or delete this one) to start over`);
    for (const entry of manifest.blocks) {
      const path = join(dir, entry.file);
      let bytes: Uint8Array;
      try {
        bytes = await readFile(path);
      } catch (error) {
        return refuse(`${entry.file} cannot be read (${describeFsError(error, path, 'read').message}); delete ${dir} to start over`);
      }
      if (bytes.byteLength !== entry.bytes || (await sha256Hex(bytes)) !== entry.sha256) {
        refuse(`${entry.file} is damaged (its size or SHA-256 differs from ${MANIFEST}); delete ${dir} to start over`);
      }
      try {
        const block = await decodeBlock(o.model, entry.index, bytes, entry.file);
        for (const [name, weight] of block.weights) o.done.weights.setStored(name, weight);
        o.done.report.push(...block.outcomes);
      } catch (error) {
        if (error instanceof CheckpointError) refuse(`${error.message}; delete ${dir} to start over`);
        throw error;
      }
    }
  } else {
    const foreign = entries.filter((e) => !OURS.test(e));
    if (foreign.length) refuse(`a non-empty folder without a prune-studio checkpoint (it holds ${foreign[0]}); give a new or empty folder`);
    manifest = emptyManifest(o.run);
    // Written at once: a second run with other arguments is refused even before the first block finishes.
    await writeAtomically(dir, MANIFEST, JSON.stringify(manifest, null, 1));
  }
  const restored = manifest.blocks.length;
  return {
    dir,
    restored,
    blocks: () => manifest.blocks.length,
    async saveBlock(index, done) {
      if (index !== manifest.blocks.length) throw new Error(`Checkpoint: block ${index} finished after ${manifest.blocks.length} saved blocks.`);
      const bytes = encodeBlock(o.model, index, done.weights, done.report);
      const file = blockFileName(index);
      await writeAtomically(dir, file, bytes);
      const next: Manifest = { ...manifest, blocks: [...manifest.blocks, { index, file, bytes: bytes.byteLength, sha256: await sha256Hex(bytes) }] };
      await writeAtomically(dir, MANIFEST, JSON.stringify(next, null, 1));
      manifest = next;
    },
    async remove() {
      const names = (await readdir(dir).catch(() => [] as string[])).filter((e) => OURS.test(e));
      // The manifest first: a folder left half-removed then holds no checkpoint that names missing files.
      names.sort((a, b) => Number(b === MANIFEST) - Number(a === MANIFEST));
      for (const name of names) await rm(join(dir, name), { force: true });
      await rmdir(dir).catch(() => undefined);
    },
  };
}
