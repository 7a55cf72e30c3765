/**
 * The loaded model's finished runs, as the engine keeps them: the last whole-model run, the last
 * structured run and single-layer runs' pruned weights, mirrored to storage (persistence.ts) so a
 * reload finds them again.
 */
import type { Method } from '../shared/methods';
import type { RunKind } from '../shared/outcome';
import { EnginePersistence, type PrunedRun, type StructuredRun } from './persistence';

export class SessionResults {
  pruned: PrunedRun | null = null;
  structured: StructuredRun | null = null;
  /** Pruned weights of finished single-layer runs, `${layer}|${method}` → [out, in]. */
  private readonly layerWeights = new Map<string, Float32Array>();
  private fingerprint: string | null = null;

  constructor(private readonly store: EnginePersistence) {}

  /** Switches to another model's results: forgets the current ones and restores what storage has. */
  async restore(fingerprint: string): Promise<{ pruned: boolean; structured: boolean }> {
    this.reset(fingerprint);
    this.pruned = (await this.store.loadPruned(fingerprint)) ?? null;
    this.structured = (await this.store.loadStructured(fingerprint)) ?? null;
    return { pruned: this.pruned !== null, structured: this.structured !== null };
  }

  /** Only a finished run replaces the pruned model: a cancelled or failed one leaves it as it was. */
  setPruned(run: PrunedRun): void {
    this.pruned = run;
    if (this.fingerprint) this.store.savePruned(this.fingerprint, run);
  }

  setStructured(run: StructuredRun): void {
    this.structured = run;
    if (this.fingerprint) this.store.saveStructured(this.fingerprint, run);
  }

  setLayerWeight(layer: string, method: Method, weight: Float32Array): void {
    this.layerWeights.set(`${layer}|${method}`, weight);
    if (this.fingerprint) this.store.saveLayerWeight(this.fingerprint, layer, method, weight);
  }

  /** The pruned weight of `tensor`'s layer from a run of `method`, or undefined when it is not kept. */
  async weight(layer: string, tensor: string, method: Method, run: RunKind): Promise<Float32Array | undefined> {
    if (run === 'model') return this.pruned?.model.method === method ? this.pruned.model.weights.get(tensor) : undefined;
    const key = `${layer}|${method}`;
    let weight = this.layerWeights.get(key);
    if (!weight && this.fingerprint) {
      weight = await this.store.loadLayerWeight(this.fingerprint, layer, method);
      if (weight) this.layerWeights.set(key, weight);
    }
    return weight;
  }

  /** Forgets every run of the model, here and in storage. */
  async forget(): Promise<void> {
    const fingerprint = this.fingerprint;
    this.reset(fingerprint);
    if (fingerprint) await this.store.forget(fingerprint);
  }

  private reset(fingerprint: string | null): void {
    this.fingerprint = fingerprint;
    this.pruned = null;
    this.structured = null;
    this.layerWeights.clear();
  }
}
