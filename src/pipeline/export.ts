/**
 * Writes a pruned model as a Hugging Face folder: the same tensor names, dtypes and shapes as the
 * input checkpoint (pruned weights rounded back to the original dtype, pruned entries exactly
 * zero), config.json and the tokenizer files copied, and the pruning report as JSON.
 */
import { writeSafetensors, type SafetensorsFile, type TensorToWrite, type WritableDType } from '../formats/safetensors';
import { findLinear, toStored } from '../model/architectures';
import type { ModelFolder, OpenedModel } from '../model/loader';
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

/** Maps every pruned tensor name to its block and module, to turn it back into the stored layout. */
function storedWeight(model: OpenedModel, tensor: string, weight: Float32Array): Float32Array {
  for (const block of model.arch.blocks) {
    const spec = block.linears.find((l) => l.weight === tensor);
    if (spec) return toStored(findLinear(model.arch, block.index, spec.name), weight);
  }
  throw new ExportError(`The pruned tensor ${tensor} is not a linear layer of this model.`);
}

export async function exportPrunedModel(model: OpenedModel, source: SafetensorsFile, folder: ModelFolder, pruned: PrunedModel): Promise<ExportedFile[]> {
  const tensors: TensorToWrite[] = [];
  for (const [name, info] of source.tensors) {
    if (!WRITABLE.has(info.dtype)) {
      throw new ExportError(`${source.name}: tensor ${name} has dtype ${info.dtype}; only F32, F16 and BF16 checkpoints can be exported.`);
    }
    const dtype = info.dtype as WritableDType;
    const replacement = pruned.weights.get(name);
    if (replacement) {
      // Float32 values are rounded to the stored dtype by the writer; a zero stays exactly zero.
      tensors.push({ name, dtype, shape: info.shape, data: storedWeight(model, name, replacement) });
    } else {
      tensors.push({ name, dtype, shape: info.shape, data: await source.readRaw(name) });
    }
  }
  const metadata: Record<string, string> = { ...source.metadata, format: 'pt', pruned_by: 'prune-studio', method: pruned.method, pattern: pruned.pattern };
  const files: ExportedFile[] = [{ name: 'model.safetensors', bytes: writeSafetensors(tensors, metadata) }];
  const present = new Set(folder.files());
  const encoder = new TextEncoder();
  for (const name of COPIED) {
    if (present.has(name)) files.push({ name, bytes: encoder.encode(await folder.text(name)) });
  }
  files.push({ name: 'prune_report.json', bytes: encoder.encode(JSON.stringify(reportJson(pruned), null, 2)) });
  return files;
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
