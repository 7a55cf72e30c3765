/**
 * Writes a pruned model as a Hugging Face folder: the same tensor names, dtypes and shapes as the
 * input checkpoint (pruned weights rounded back to the original dtype, pruned entries exactly
 * zero), config.json and the tokenizer files copied, and the pruning report as JSON.
 */
import { patchJsonText } from '../formats/jsonText';
import { writeSafetensors, type TensorToWrite, type WritableDType } from '../formats/safetensors';
import type { LinearSpec } from '../model/architectures';
import type { OpenedModel } from '../model/loader';
import type { PrunedModel } from './prune';

export interface ExportedFile {
  name: string;
  bytes: Uint8Array;
}

/** Files copied unchanged from the input folder when present. */
const COPIED = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt'];

const WRITABLE = new Set<string>(['F32', 'F16', 'BF16']);

export class ExportError extends Error {
  override name = 'ExportError';
}

/** What a pruning run changed: replaced tensors (linears in nn.Linear layout), new shapes, config fields. */
export interface ModelEdits {
  weights: ReadonlyMap<string, Float32Array>;
  /** New nn.Linear-layout shapes ([out, in], or [n] for a bias) of tensors whose shape changed. */
  shapes?: ReadonlyMap<string, readonly number[]>;
  /** config.json fields to overwrite (e.g. intermediate_size after removing MLP channels). */
  configPatch?: Record<string, number>;
  metadata: Record<string, string>;
  report: object;
}

function linearSpec(model: OpenedModel, tensor: string): LinearSpec | null {
  for (const block of model.arch.blocks) {
    const spec = block.linears.find((l) => l.weight === tensor);
    if (spec) return spec;
  }
  return null;
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}

/** A replaced tensor in the checkpoint's stored layout (GPT-2's Conv1D stores [in, out]). */
function stored(model: OpenedModel, name: string, data: Float32Array, shape: readonly number[]): { data: Float32Array; shape: number[] } {
  const spec = linearSpec(model, name);
  if (!spec || !spec.conv1d || shape.length !== 2) return { data, shape: [...shape] };
  return { data: transpose(data, shape[0], shape[1]), shape: [shape[1], shape[0]] };
}

export async function exportModel(model: OpenedModel, edits: ModelEdits): Promise<ExportedFile[]> {
  const { file: source, folder } = model;
  const tensors: TensorToWrite[] = [];
  for (const [name, info] of source.tensors) {
    if (!WRITABLE.has(info.dtype)) {
      throw new ExportError(`${source.name}: tensor ${name} has dtype ${info.dtype}; only F32, F16 and BF16 checkpoints can be exported.`);
    }
    const dtype = info.dtype as WritableDType;
    const replacement = edits.weights.get(name);
    if (replacement) {
      const spec = linearSpec(model, name);
      const shape = edits.shapes?.get(name) ?? (spec ? [spec.out, spec.in] : info.shape);
      const out = stored(model, name, replacement, shape);
      // Float32 values are rounded to the stored dtype by the writer; a zero stays exactly zero.
      tensors.push({ name, dtype, shape: out.shape, data: out.data });
    } else {
      tensors.push({ name, dtype, shape: info.shape, data: await source.readRaw(name) });
    }
  }
  const metadata: Record<string, string> = { ...source.metadata, format: 'pt', pruned_by: 'prune-studio', ...edits.metadata };
  const files: ExportedFile[] = [{ name: 'model.safetensors', bytes: writeSafetensors(tensors, metadata) }];
  const present = new Set(folder.files());
  const encoder = new TextEncoder();
  for (const name of COPIED) {
    if (!present.has(name)) continue;
    let text = await folder.text(name);
    // Patched in place: the rest of config.json keeps its exact text (e.g. `3.0`, which typed
    // configs in transformers require to stay a float).
    if (name === 'config.json' && edits.configPatch) text = patchJsonText(text, edits.configPatch);
    files.push({ name, bytes: encoder.encode(text) });
  }
  files.push({ name: 'prune_report.json', bytes: encoder.encode(JSON.stringify(edits.report, null, 2)) });
  return files;
}

export async function exportPrunedModel(model: OpenedModel, pruned: PrunedModel): Promise<ExportedFile[]> {
  return exportModel(model, { weights: pruned.weights, metadata: { method: pruned.method, pattern: pruned.pattern }, report: reportJson(pruned) });
}

export function reportJson(pruned: PrunedModel): object {
  return {
    method: pruned.method,
    pattern: pruned.pattern,
    ms: Math.round(pruned.ms),
    layers: pruned.report,
  };
}

/** The per-layer report as CSV (one row per layer, no histories). */
export function reportCsv(pruned: Pick<PrunedModel, 'report'>): string {
  const header = ['layer', 'block', 'method', 'pattern', 'out', 'in', 'sparsity', 'rel_error', 'rel_error_before_refit', 'iterations', 'ms'];
  const rows = pruned.report.map((r) =>
    [r.id, r.block, r.method, r.pattern, r.shape[0], r.shape[1], r.sparsity.toFixed(6), r.relError.toExponential(6), r.relErrorBeforeRefit.toExponential(6), r.iterations, Math.round(r.ms)].join(','),
  );
  return [header.join(','), ...rows].join('\n') + '\n';
}
