/**
 * The studio's whole-model checkpoints: every finished block of a sparse run is saved in the
 * browser's storage, so that after a page reload (or a closed tab) the same run continues after its
 * last finished block. The format is the CLI's `prune --resume` (src/pipeline/checkpoint.ts): a
 * manifest with the run's identity and one F32 safetensors per finished block, the layers'
 * outcomes in its metadata. The store is the engine's KvStore (IndexedDB in the worker): one put is
 * one transaction, so a block and the record naming it are each all-or-nothing, the record is
 * written after its block, and Node tests run the same code on the in-memory store. (The origin
 * private file system would give streaming writes, but its synchronous handles exist only in
 * workers and its quota is the same; a block is one block's weights, never the whole model.)
 * One unfinished run is kept per model: a run with another identity replaces it.
 */
import { blockFileName, CheckpointError, emptyManifest, encodeBlock, parseManifest, runDifference, sha256Hex, verifiedBlock, type Manifest, type RunIdentity } from '../../pipeline/checkpoint';
import type { WeightTable } from '../../formats/weightTable';
import type { OpenedModel } from '../../model/loader';
import type { KvStore } from '../../shared/kv';
import type { LayerOutcome } from '../../shared/outcome';
import type { CalibrationSettings, PruneSettings, UnfinishedRunInfo } from '../types';

/** What the store keeps beside the manifest: what the UI offers to continue, and the time spent so far. */
interface StoredRun {
  manifest: Manifest;
  /** SHA-256 of the identity: the block keys carry it, so blocks of two runs never mix. */
  runKey: string;
  settings: PruneSettings;
  calibration: CalibrationSettings;
  layerCount: number;
  layersDone: number;
  /** Wall time of the run's attempts up to its last finished layer. */
  ms: number;
  savedAt: number;
}

export interface FinishedLayersRef {
  weights: WeightTable;
  report: LayerOutcome[];
}

/** One run's checkpoint, open for writing. */
export interface RunCheckpoint {
  /** Blocks read back when it was opened (0 for a new run). */
  readonly restored: number;
  /** Time the restored layers took. */
  readonly restoredMs: number;
  /** Saves every finished block up to `index` not saved yet (their layers are in `done`), then the record naming them. */
  saveBlock(index: number, done: FinishedLayersRef, ms: number): Promise<void>;
  /** Records the time spent so far (after each layer), so a continued run's clock does not go back. */
  saveTime(ms: number): Promise<void>;
  /** Removes the checkpoint (the run finished). */
  remove(): Promise<void>;
  /** Set once storage refused a write: the run goes on without checkpoints; says why. */
  readonly failure: string | null;
  /** Bytes of the run's saved blocks: the restored ones and those this checkpoint wrote. */
  readonly bytesWritten: number;
}

const RECORD = 'run';

/** A refused write as one line: quota first, since that is what people can act on. */
export function storageFailure(error: unknown): string {
  const name = (error as { name?: string } | null)?.name ?? '';
  const message = error instanceof Error ? error.message : String(error);
  const what = name === 'QuotaExceededError' || /quota/i.test(message) ? 'the storage quota is full' : `storage refused the write (${name || 'Error'}: ${message})`;
  return `The finished blocks could not be saved in this browser: ${what}. The run goes on without checkpoints, so a reload would start it over; free space (Download tab: forget stored results) to keep them.`;
}

export class StudioCheckpoints {
  constructor(private readonly kv: KvStore) {}

  private prefix(fingerprint: string): string {
    return `${fingerprint}|checkpoint|`;
  }

  private async record(fingerprint: string): Promise<StoredRun | null> {
    const stored = await this.kv.get<StoredRun>(this.prefix(fingerprint) + RECORD).catch(() => undefined);
    if (!stored) return null;
    try {
      // Checked as the CLI checks its manifest file: a damaged record is no checkpoint.
      return { ...stored, manifest: parseManifest(JSON.stringify(stored.manifest), 'the stored checkpoint') };
    } catch {
      return null;
    }
  }

  /** The model's unfinished run, as the UI offers it; null when there is none. */
  async unfinished(fingerprint: string): Promise<UnfinishedRunInfo | null> {
    const r = await this.record(fingerprint);
    if (!r || r.manifest.blocks.length === 0) return null;
    const { text, ...calibration } = r.calibration;
    return {
      blocksDone: r.manifest.blocks.length,
      blocks: r.manifest.run.model.blocks,
      layersDone: r.layersDone,
      layerCount: r.layerCount,
      settings: r.settings,
      calibration: { ...calibration, textSource: text === undefined ? 'default' : 'custom' },
      ms: r.ms,
      savedAt: r.savedAt,
    };
  }

  /** The settings and calibration (text included) of the model's unfinished run, to continue it. */
  async unfinishedSettings(fingerprint: string): Promise<{ settings: PruneSettings; calibration: CalibrationSettings } | null> {
    const r = await this.record(fingerprint);
    return r && r.manifest.blocks.length ? { settings: r.settings, calibration: r.calibration } : null;
  }

  async discard(fingerprint: string): Promise<void> {
    await this.kv.deletePrefix(this.prefix(fingerprint)).catch(() => undefined);
  }

  /**
   * Opens the checkpoint of the run `run` on this model. When the stored one is this run, its
   * blocks are checked (size, SHA-256, the model's layers) and, if `done` is empty, added to it;
   * a stored run of other settings is replaced. A damaged one is dropped: `damaged` says why.
   */
  async open(
    fingerprint: string,
    model: OpenedModel,
    o: { run: RunIdentity; settings: PruneSettings; calibration: CalibrationSettings; done: FinishedLayersRef },
  ): Promise<RunCheckpoint & { damaged: string | null }> {
    const prefix = this.prefix(fingerprint);
    const runKey = (await sha256Hex(JSON.stringify(o.run))).slice(0, 16);
    const layerCount = model.arch.blocks.reduce((a, b) => a + b.linears.length, 0);
    let stored = await this.record(fingerprint);
    let damaged: string | null = null;
    let restoredMs = 0;
    if (stored && (stored.runKey !== runKey || runDifference(stored.manifest.run, o.run) !== null)) stored = null;
    if (stored && o.done.report.length === 0) {
      try {
        await this.restore(prefix, stored, model, o.done);
        restoredMs = stored.ms;
      } catch (error) {
        if (!(error instanceof CheckpointError)) throw error;
        damaged = error.message;
        o.done.weights.clear();
        o.done.report.length = 0;
        stored = null;
      }
    }
    if (!stored) await this.kv.deletePrefix(prefix).catch(() => undefined);
    let record: StoredRun = stored ?? {
      manifest: emptyManifest(o.run),
      runKey,
      settings: o.settings,
      calibration: o.calibration,
      layerCount,
      layersDone: 0,
      ms: 0,
      savedAt: Date.now(),
    };
    let failure: string | null = null;
    let bytesWritten = stored ? stored.manifest.blocks.reduce((a, b) => a + b.bytes, 0) : 0;
    // Writes go one after another: the record never names a block whose put has not finished.
    let queue: Promise<void> = Promise.resolve();
    const write = (fn: () => Promise<void>): Promise<void> => {
      queue = queue.then(async () => {
        if (failure) return;
        try {
          await fn();
        } catch (error) {
          failure = storageFailure(error);
        }
      });
      return queue;
    };
    const kv = this.kv;
    return {
      restored: stored?.manifest.blocks.length ?? 0,
      restoredMs,
      damaged,
      get failure() {
        return failure;
      },
      get bytesWritten() {
        return bytesWritten;
      },
      saveBlock(index, done, ms) {
        return write(async () => {
          const blocks = [...record.manifest.blocks];
          for (let i = blocks.length; i <= index; i++) {
            const bytes = encodeBlock(model, i, done.weights, done.report);
            const file = blockFileName(i);
            await kv.put(`${prefix}${runKey}|${file}`, bytes);
            bytesWritten += bytes.byteLength;
            blocks.push({ index: i, file, bytes: bytes.byteLength, sha256: await sha256Hex(bytes) });
          }
          const layersDone = model.arch.blocks.slice(0, blocks.length).reduce((a, b) => a + b.linears.length, 0);
          const next: StoredRun = { ...record, manifest: { ...record.manifest, blocks }, layersDone, ms, savedAt: Date.now() };
          await kv.put(prefix + RECORD, next);
          record = next;
        });
      },
      saveTime(ms) {
        // Only the clock: the layers of an unsaved block are redone after a reload.
        if (!record.manifest.blocks.length) return Promise.resolve();
        return write(async () => {
          const next = { ...record, ms, savedAt: Date.now() };
          await kv.put(prefix + RECORD, next);
          record = next;
        });
      },
      async remove() {
        await queue;
        await kv.deletePrefix(prefix).catch(() => undefined);
      },
    };
  }

  /** Reads the stored blocks back into `done`, each checked against the manifest and the model. */
  private async restore(prefix: string, stored: StoredRun, model: OpenedModel, done: FinishedLayersRef): Promise<void> {
    for (const entry of stored.manifest.blocks) {
      const bytes = await this.kv.get<Uint8Array>(`${prefix}${stored.runKey}|${entry.file}`).catch(() => undefined);
      if (!(bytes instanceof Uint8Array)) throw new CheckpointError(`${entry.file} is missing from this browser's storage`);
      const block = await verifiedBlock(model, entry, bytes);
      for (const [name, weight] of block.weights) done.weights.setStored(name, weight);
      done.report.push(...block.outcomes);
    }
  }
}
