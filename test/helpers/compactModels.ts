/**
 * Whole models for the compact and packed export tests: in-memory folders (as the studio's dropped
 * files), linear weights pruned on the CPU by magnitude, and an export collected into memory.
 */
import { blobSource } from '../../src/formats/byteSource';
import type { ModelFolder, OpenedModel } from '../../src/model/loader';
import { collectFiles, modelFiles, type ExportOptions, type ModelEdits } from '../../src/pipeline/export';
import type { Files } from './hostile';
import { magnitudePrune } from './magnitude';

/** A folder over in-memory files (as the studio's dropped files). */
export function memFolder(files: Files, name = 'model'): ModelFolder {
  const blob = (f: string) => {
    const bytes = files[f];
    if (!bytes) throw new Error(`missing ${f}`);
    return new Blob([bytes as Uint8Array<ArrayBuffer>]);
  };
  return { name, files: () => Object.keys(files), text: async (f) => blob(f).text(), bytes: async (f) => blobSource(blob(f), f), size: async (f) => blob(f).size };
}

/** The model's linear weights pruned on the CPU by magnitude (per row at `sparsity`, or N:M along the inputs), in nn.Linear layout. */
export async function pruneEdits(model: OpenedModel, rule: { sparsity: number } | { n: number; m: number }): Promise<ModelEdits> {
  const weights = new Map<string, Float32Array>();
  for (const block of model.arch.blocks) {
    for (const spec of block.linears) {
      const raw = await model.weights.readF32(spec.weight);
      const w = new Float32Array(spec.out * spec.in);
      for (let o = 0; o < spec.out; o++) for (let i = 0; i < spec.in; i++) w[o * spec.in + i] = spec.conv1d ? raw[i * spec.out + o] : raw[o * spec.in + i];
      weights.set(spec.weight, magnitudePrune(w, spec.out, spec.in, 'n' in rule ? rule : { ...rule, per: 'row' }));
    }
  }
  return { weights, metadata: { method: 'magnitude' }, report: { layers: weights.size } };
}

/** The export's files in memory: compact or not, and with `more` options (packed, resharded). */
export async function written(model: OpenedModel, edits: ModelEdits, compact: boolean, maxShardSize?: number, more: ExportOptions = {}): Promise<Files> {
  const files: Files = {};
  for (const f of await collectFiles(await modelFiles(model, edits, { compact, maxShardSize, ...more }))) files[f.name] = f.bytes;
  return files;
}

