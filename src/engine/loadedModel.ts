/**
 * A model folder opened for the studio: the model, its summary for the UI (architecture, sizes,
 * the linear layers in pruning order) and the linears by id.
 */
import type { LinearSpec } from '../model/architectures';
import { filesFolder, ModelFolderError, openModel, type OpenedModel } from '../model/loader';
import { layerId } from '../pipeline/outcome';
import type { LinearSummary, ModelSummary } from './types';

export interface LoadedModel {
  model: OpenedModel;
  summary: ModelSummary;
  specs: Map<string, { block: number; spec: LinearSpec }>;
}

/** Opens dropped or fetched files as a model (throws, leaving nothing open, when a file is bad). */
export async function openLoadedModel(files: File[], name?: string): Promise<LoadedModel> {
  if (files.length === 0) throw new ModelFolderError('No files were given. Drop a model folder or pick its files.');
  const folder = filesFolder(files, name);
  const model = await openModel(folder);
  const specs = new Map<string, { block: number; spec: LinearSpec }>();
  const linears: LinearSummary[] = [];
  for (const block of model.arch.blocks) {
    for (const spec of block.linears) {
      const id = layerId(spec);
      specs.set(id, { block: block.index, spec });
      linears.push({
        id,
        block: block.index,
        role: spec.role,
        shape: [spec.out, spec.in],
        parts: spec.parts ? spec.parts.map((p) => ({ ...p })) : null,
        slidingWindow: block.slidingWindow,
      });
    }
  }
  let parameters = 0;
  for (const shape of model.weights.shapes.values()) parameters += shape.reduce((a, b) => a * b, 1);
  const dtypes = new Set<string>();
  for (const info of model.file.tensors.values()) dtypes.add(info.dtype);
  const sizes = files
    .map((f) => `${f.name}:${f.size}`)
    .sort()
    .join(',');
  const c = model.config;
  const summary: ModelSummary = {
    name: folder.name,
    fingerprint: `${folder.name}|${c.modelType}|${c.hidden}x${c.layers}|${sizes}`,
    architecture: c.modelType,
    parameters,
    dtype: [...dtypes].sort().join(', '),
    vocabSize: c.vocab,
    contextLength: c.maxPositions,
    hidden: c.hidden,
    blocks: c.layers,
    linears,
    files: folder.files().sort(),
    hasTokenizer: model.tokenizer !== null,
    restoredPruned: false,
    restoredStructured: false,
  };
  return { model, summary, specs };
}

/** The linear `layer` of the loaded model, or an error that names it. */
export function linearOf(loaded: LoadedModel, layer: string): { block: number; spec: LinearSpec } {
  const entry = loaded.specs.get(layer);
  if (!entry) throw new ModelFolderError(`The model has no linear layer named ${layer}.`);
  return entry;
}

/** The model's tokenizer, or an error that says what needed it. */
export function tokenizerOf(loaded: LoadedModel, purpose: string) {
  const tokenizer = loaded.model.tokenizer;
  if (!tokenizer) throw new ModelFolderError(`This model folder has no tokenizer.json, which ${purpose}.`);
  return tokenizer;
}
