/**
 * A model folder opened for the studio: the model, its summary for the UI (architecture, sizes,
 * the linear layers in pruning order) and the linears by id.
 */
import type { LinearSpec } from '../model/architectures';
import { filesFolder, ModelFolderError, openModel, type ModelFolder, type OpenedModel } from '../model/loader';
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
  const shown = (name ?? folderOf(files)) || (await configName(folder)) || `${c.modelType}-${compactCount(parameters)}`;
  const summary: ModelSummary = {
    name: shown,
    fingerprint: `${shown}|${c.modelType}|${c.hidden}x${c.layers}|${sizes}`,
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
    kvGroups: c.kvHeads,
    queriesPerGroup: c.heads / c.kvHeads,
    // GPT-2's and OPT's transformers attention derives head_dim from hidden/heads (src/pipeline/structuredHeads.ts).
    headsRemovable: c.family !== 'gpt2' && c.family !== 'opt',
  };
  return { model, summary, specs };
}

/** The folder picked files came from (webkitdirectory paths), or undefined for loose files. */
function folderOf(files: File[]): string | undefined {
  return (files[0] as File & { webkitRelativePath?: string }).webkitRelativePath?.split('/')[0] || undefined;
}

/**
 * Loose picked files have no folder name: the last part of config.json's `_name_or_path` (written by
 * transformers' save_pretrained) names the model instead. The config was validated by openModel.
 */
async function configName(folder: ModelFolder): Promise<string | undefined> {
  try {
    const raw = (JSON.parse(await folder.text('config.json')) as { _name_or_path?: unknown })._name_or_path;
    return typeof raw === 'string' ? raw.split(/[\\/]/).filter(Boolean).pop()?.slice(0, 80) : undefined;
  } catch {
    return undefined;
  }
}

/** 292000 → "292K": the size in a fallback name such as "llama-292K". */
function compactCount(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${Math.round(n / 1e3)}K` : String(n);
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
