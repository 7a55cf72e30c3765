/** Files the studio writes: the pruned or structured model as a checkpoint folder, and a layer's problem. */
import { writeLayerProblem } from '../../formats/layerProblem';
import { exportModel, modelFiles, prunedEdits, type ExportFile, type ModelEdits } from '../../pipeline/export';
import { linearWeights } from '../../pipeline/compact';
import { structuredEdits } from '../../pipeline/structured';
import type { LoadedModel } from '../loadedModel';
import type { SessionResults } from '../results';
import type { CalibrationSettings, ExportChoice, ExportedFile, SparsityPayoff, WrittenFile } from '../types';
import type { RunContext } from './context';

/** What the finished run changed, to export; an error that says what to run when there is none. */
function runEdits(results: SessionResults, which: 'sparse' | 'structured'): ModelEdits {
  if (which === 'structured') {
    if (!results.structured) throw new Error('There is no structured model yet: choose SPAP and run "Prune the whole model" first.');
    // The smaller gate/up/down tensors and config.json's MLP width, with the channel report.
    return structuredEdits(results.structured.model);
  }
  if (!results.pruned) throw new Error('There is no pruned model yet: run "Prune the whole model" first.');
  return prunedEdits(results.pruned.model);
}

/** The export options a choice gives: compact only for a sparse run (a structured one is dense and smaller). */
const exportOptions = (which: 'sparse' | 'structured', choice: ExportChoice) => ({ compact: choice.compact === true && which === 'sparse', pack: choice.pack === true });

/** The run's files in memory (browsers without a folder picker download them one by one). */
export async function exportRun(loaded: LoadedModel, results: SessionResults, which: 'sparse' | 'structured', choice: ExportChoice = {}): Promise<ExportedFile[]> {
  return exportModel(loaded.model, runEdits(results, which), exportOptions(which, choice));
}

/**
 * The run's files streamed into a folder the person picked (File System Access API): each file
 * through its own FileSystemWritableFileStream, tensor by tensor, so no file — let alone the
 * model — is ever one buffer here. A file is only replaced when its stream closes; a failed one is
 * aborted, leaving what the folder held before.
 */
export async function exportRunToFolder(
  loaded: LoadedModel,
  results: SessionResults,
  which: 'sparse' | 'structured',
  folder: FileSystemDirectoryHandle,
  onFile?: (index: number, count: number, name: string) => void,
  choice: ExportChoice = {},
): Promise<WrittenFile[]> {
  const files = await modelFiles(loaded.model, runEdits(results, which), exportOptions(which, choice));
  const written: WrittenFile[] = [];
  for (const [i, file] of files.entries()) {
    onFile?.(i, files.length, file.name);
    const handle = await folder.getFileHandle(file.name, { create: true });
    const stream = await handle.createWritable();
    let size = 0;
    try {
      await file.write({
        write: async (chunk) => {
          size += chunk.byteLength;
          await stream.write(chunk as Uint8Array<ArrayBuffer>);
        },
      });
      await stream.close();
    } catch (error) {
      await stream.abort().catch(() => undefined);
      throw new Error(`Writing ${file.name} into the folder ${folder.name} failed: ${(error as Error).message}`, { cause: error });
    }
    written.push({ name: file.name, size });
  }
  return written;
}

/** The layer's dense problem under these calibration settings, as a .safetensors file for `prune-layer`. */
export async function exportLayerProblem(ctx: RunContext, layer: string, cal: CalibrationSettings): Promise<ExportedFile> {
  const problem = await ctx.calibration.problem(ctx.gpu, ctx.loaded, layer, cal);
  const bytes = writeLayerProblem({ ...problem, meta: { ...problem.meta, model: ctx.loaded.summary.name, layer } });
  return { name: `${layer}.problem.safetensors`, bytes };
}

const isWeightFile = (name: string): boolean => /\.safetensors(\.pack|\.index\.json)?$/.test(name);

/** Bytes of the export's weight files and of all its files, each file produced and counted, never held. */
async function exportSizes(files: readonly ExportFile[]): Promise<{ weights: number; download: number }> {
  let weights = 0;
  let download = 0;
  for (const file of files) {
    let size = 0;
    await file.write({ write: (chunk) => void (size += chunk.byteLength) });
    download += size;
    if (isWeightFile(file.name)) weights += size;
  }
  return { weights, download };
}

/**
 * The bytes of the run's dense export and (sparse runs) of its compact one, with what the compact one
 * stores compressed, and of the compact one packed (each plane deflated: the whole model is encoded once more).
 */
export async function runExportSizes(loaded: LoadedModel, results: SessionResults, which: 'sparse' | 'structured'): Promise<Pick<SparsityPayoff, 'dense' | 'compact' | 'packed'>> {
  const edits = runEdits(results, which);
  const dense = await exportSizes(await modelFiles(loaded.model, edits));
  if (which === 'structured') return { dense, compact: null, packed: null };
  const written = await modelFiles(loaded.model, edits, { compact: true });
  const sizes = await exportSizes(written);
  const config = JSON.parse(await configText(written)) as { quantization_config?: { sparsity_config?: { format: string; targets: string[] } } };
  const sparsity = config.quantization_config?.sparsity_config;
  const packed = await exportSizes(await modelFiles(loaded.model, edits, { compact: true, pack: true }));
  if (!sparsity) return { dense, compact: null, packed };
  return { dense, compact: { ...sizes, format: sparsity.format, compressed: sparsity.targets.length, linears: linearWeights(loaded.model).size }, packed };
}

async function configText(files: readonly ExportFile[]): Promise<string> {
  const chunks: Uint8Array[] = [];
  await files.find((f) => f.name === 'config.json')?.write({ write: (chunk) => void chunks.push(chunk) });
  return chunks.map((c) => new TextDecoder().decode(c)).join('') || '{}';
}
