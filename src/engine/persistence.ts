/**
 * What the engine keeps in the browser's storage per model fingerprint, so that evaluation,
 * downloads and layer views work after a reload: the last whole-model run, the last structured
 * run, and each single-layer run's pruned weight. Best-effort: a refused write is ignored and a
 * failed read counts as "not stored".
 */
import type { PrunedModel } from '../pipeline/prune';
import type { StructuredModel } from '../pipeline/structured';
import type { KvStore } from '../shared/kv';
import type { Method } from '../shared/methods';
import type { PruneSettings, StructuredSettings } from './types';

/** A finished whole-model run with the settings that produced it. */
export interface PrunedRun {
  model: PrunedModel;
  settings: PruneSettings;
}

/** A finished structured (MLP-channel) run with its settings. */
export interface StructuredRun {
  model: StructuredModel;
  settings: StructuredSettings;
}

export class EnginePersistence {
  constructor(private readonly kv: KvStore) {}

  loadPruned(fingerprint: string): Promise<PrunedRun | undefined> {
    return this.read(`${fingerprint}|model`);
  }

  savePruned(fingerprint: string, run: PrunedRun): void {
    this.write(`${fingerprint}|model`, run);
  }

  loadStructured(fingerprint: string): Promise<StructuredRun | undefined> {
    return this.read(`${fingerprint}|structured`);
  }

  saveStructured(fingerprint: string, run: StructuredRun): void {
    this.write(`${fingerprint}|structured`, run);
  }

  loadLayerWeight(fingerprint: string, layer: string, method: Method): Promise<Float32Array | undefined> {
    return this.read(`${fingerprint}|layer|${layer}|${method}`);
  }

  saveLayerWeight(fingerprint: string, layer: string, method: Method, weight: Float32Array): void {
    this.write(`${fingerprint}|layer|${layer}|${method}`, weight);
  }

  /** Forgets everything stored for the model. */
  async forget(fingerprint: string): Promise<void> {
    await this.kv.deletePrefix(`${fingerprint}|`).catch(() => undefined);
  }

  private read<T>(key: string): Promise<T | undefined> {
    return this.kv.get<T>(key).catch(() => undefined);
  }

  private write(key: string, value: unknown): void {
    void this.kv.put(key, value).catch(() => undefined);
  }
}
