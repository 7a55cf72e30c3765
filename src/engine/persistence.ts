/**
 * What the engine keeps in the browser's storage per model fingerprint, so that evaluation,
 * downloads and layer views work after a reload: the last whole-model run, the last structured
 * run, and each single-layer run's pruned weight. Best-effort: a refused write is ignored and a
 * failed read counts as "not stored".
 */
import { WeightTable, type StoredWeights } from '../formats/weightTable';
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

interface StoredPrunedRun extends Omit<PrunedRun, 'model'> {
  model: Omit<PrunedModel, 'weights'> & { weights: StoredWeights | Map<string, Float32Array> };
}

export class EnginePersistence {
  constructor(private readonly kv: KvStore) {}

  async loadPruned(fingerprint: string): Promise<PrunedRun | undefined> {
    const stored = await this.read<StoredPrunedRun>(`${fingerprint}|model`);
    if (!stored) return undefined;
    // Runs stored before the weights kept their dtype hold a Map of float32 arrays.
    const w = stored.model.weights;
    const weights = w instanceof Map ? WeightTable.fromStored([...w].map(([name, data]) => [name, { dtype: 'F32', data }])) : WeightTable.fromStored(w);
    return { ...stored, model: { ...stored.model, weights } };
  }

  /** The weights as stored (2 bytes per weight for F16/BF16 models): a class does not survive structured cloning. */
  savePruned(fingerprint: string, run: PrunedRun): void {
    const stored: StoredPrunedRun = { ...run, model: { ...run.model, weights: run.model.weights.toStored() } };
    this.write(`${fingerprint}|model`, stored);
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
