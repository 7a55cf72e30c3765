/**
 * `prune --method spap`: the structured half of `prune`. Removes a fraction of every block's MLP
 * channels (chosen by SPAP or one of its baselines), refits down_proj and writes the smaller model.
 */
import { cancelOnly } from '../../shared/control';
import type { ParsedArgs } from '../args';
import { EXIT_OK, InputError, UsageError } from '../errors';
import { parseSelection, parseSparsity } from '../options';
import { CancelledError } from '../../gpu/errors';
import type { OpenedModel } from '../../model/loader';
import type { StructuredModel } from '../../pipeline/structured';
import type { ChannelSelection } from '../../shared/methods';
import { deviceName, seconds } from './eval';
import { onDevice } from './device';
import { prepareOutDir, removeCreated, writeFolder, type OutputFile } from './outputFolder';
import type { CliContext } from './types';

/** --sparsity as the fraction of MLP channels and --selection, for --method spap. */
export function parseChannelOptions(options: ParsedArgs['options']): { fraction: number; selection: ChannelSelection } {
  if (options.pattern !== undefined) throw new UsageError('--method spap removes whole MLP channels: give --sparsity <fraction of channels>, not --pattern');
  if (typeof options.sparsity !== 'string') throw new UsageError('--method spap needs --sparsity <fraction of MLP channels to remove>, e.g. 0.2');
  return { fraction: parseSparsity(options.sparsity), selection: parseSelection(options.selection) };
}

/** What --json prints for a structured run. */
export interface StructuredReport {
  model: string;
  method: 'spap';
  selection: ChannelSelection;
  /** Fraction of each block's MLP channels removed. */
  fraction: number;
  intermediate: { before: number; after: number };
  parameters: { before: number; after: number };
  calib: string;
  nsamples: number;
  seqlen: number;
  seed: number;
  blocks: { block: number; layer: string; channels: number; kept: number; relError: number; steps: number; ms: number }[];
  ms: number;
  device: string;
  out: string;
  files: string[];
}

export async function runStructured(
  ctx: CliContext,
  o: {
    model: OpenedModel;
    dir: string;
    out: string;
    calibPath: string;
    nsamples: number;
    seqlen: number;
    seed: number;
    windows: Uint32Array;
    quiet: boolean;
    json: boolean;
    maxShardSize: number | undefined;
    fraction: number;
    selection: ChannelSelection;
  },
): Promise<number> {
  const { model } = o;
  const before = model.config.intermediate;
  const remove = Math.round(o.fraction * before);
  if (remove >= before) throw new InputError(`--sparsity ${o.fraction} would remove all ${before} MLP channels of ${o.dir}`);
  const [{ pruneMlpChannels, structuredEdits }, { modelFiles }] = await Promise.all([import('../../pipeline/structured'), import('../../pipeline/export')]);
  const created = await prepareOutDir(o.out, o.dir);
  if (!o.quiet) {
    ctx.stderr(`prune: ${o.dir}, spap (${o.selection}), removing ${remove} of ${before} MLP channels per block; ${o.nsamples} windows of ${o.seqlen} tokens from ${o.calibPath}\n`);
  }
  let result: StructuredModel;
  let files: OutputFile[];
  let device = '';
  try {
    const started = performance.now();
    // A lost device is reopened and the channel selection starts again from the first block.
    result = await onDevice(ctx, {
      command: 'prune',
      onOpen: (gpu) => (device = deviceName(gpu)),
      resumeNote: () => 'selecting the channels again from the first block',
      run: (gpu) =>
        pruneMlpChannels(gpu, model, {
          selection: o.selection,
          fraction: o.fraction,
          windows: o.windows,
          seqlen: o.seqlen,
          control: cancelOnly(ctx.signal),
          onProgress: (p) => {
            if (!o.quiet) ctx.stderr(`block ${p.block + 1} of ${p.blocks} ${p.layer} spap ${seconds(performance.now() - started)}\n`);
          },
        }),
    });
    files = await modelFiles(model, structuredEdits(result), { maxShardSize: o.maxShardSize });
    if (ctx.signal.aborted) throw new CancelledError();
    await writeFolder(o.out, files);
  } catch (error) {
    if (created) await removeCreated(o.out, created);
    throw error;
  }
  const report: StructuredReport = {
    model: o.dir,
    method: 'spap',
    selection: o.selection,
    fraction: o.fraction,
    intermediate: { before, after: before - remove },
    parameters: result.parameters,
    calib: o.calibPath,
    nsamples: o.nsamples,
    seqlen: o.seqlen,
    seed: o.seed,
    blocks: result.report.map((b) => ({ block: b.block, layer: b.layer, channels: b.channels, kept: b.kept.length, relError: b.relError, steps: b.steps.length, ms: Math.round(b.ms) })),
    ms: Math.round(result.ms),
    device,
    out: o.out,
    files: files.map((f) => f.name),
  };
  if (o.json) {
    ctx.stdout(JSON.stringify(report) + '\n');
  } else {
    const lines = [
      `${report.model}: spap (${report.selection}), MLP width ${before} → ${before - remove}, parameters ${report.parameters.before} → ${report.parameters.after}`,
      ...report.blocks.map((b) => `  block ${b.block}: kept ${b.kept} of ${b.channels} channels, rel error ${b.relError.toPrecision(4)}, ${b.steps} penalty steps, ${b.ms} ms`),
      `  wrote ${report.out}`,
    ];
    ctx.stdout(lines.join('\n') + '\n');
  }
  return EXIT_OK;
}
