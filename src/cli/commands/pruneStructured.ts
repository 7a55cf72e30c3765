/**
 * `prune --method spap`: the structured half of `prune`. Removes a fraction of every block's MLP
 * channels and/or of its attention key/value groups (chosen by SPAP or one of its baselines), refits
 * down_proj and o_proj and writes the smaller model. --sparsity alone: a fraction of MLP channels (as
 * before); with --structures: a fraction of the blocks' parameters, split by measured cost
 * (src/pipeline/structuredBudget.ts); --mlp/--heads: the two fractions as given.
 */
import { cancelOnly } from '../../shared/control';
import type { ParsedArgs } from '../args';
import { EXIT_OK, InputError, UsageError } from '../errors';
import { parseSelection, parseSparsity } from '../options';
import { CancelledError } from '../../gpu/errors';
import type { OpenedModel } from '../../model/loader';
import type { StructuredModel } from '../../pipeline/structured';
import type { Structure, StructuredPlan } from '../../pipeline/structuredBudget';
import { assertHeadsRemovable, groupsToRemove, HeadPruningError } from '../../pipeline/structuredHeads';
import type { ChannelSelection } from '../../shared/methods';
import { deviceName, seconds } from './eval';
import { onDevice } from './device';
import { prepareOutDir, removeCreated, writeFolder, type OutputFile } from './outputFolder';
import type { CliContext } from './types';

/** What a structured run removes: fractions per structure, or one parameter budget to split. */
export interface ChannelOptions {
  selection: ChannelSelection;
  fraction: number;
  heads: number;
  budget: { sparsity: number; structures: Structure[] } | null;
}

const STRUCTURES: readonly Structure[] = ['mlp', 'heads'];

/** A fraction option in [0, 1) ("0.3" or "30%"), with the flag's name in the message. */
function parseFraction(value: string | boolean | undefined, flag: string): number {
  if (typeof value !== 'string') throw new UsageError(`--${flag} needs a fraction, e.g. --${flag} 0.3`);
  try {
    return parseSparsity(value);
  } catch {
    throw new UsageError(`--${flag} ${value} is not a fraction in [0, 1) (like 0.3 or 30%)`);
  }
}

/** --sparsity (MLP channels, or with --structures the blocks' parameters), or --mlp/--heads, and --selection, for --method spap. */
export function parseChannelOptions(options: ParsedArgs['options']): ChannelOptions {
  if (options.pattern !== undefined) throw new UsageError('--method spap removes whole MLP channels or heads: give --sparsity <fraction>, not --pattern');
  const selection = parseSelection(options.selection);
  if (options.mlp !== undefined || options.heads !== undefined) {
    if (options.sparsity !== undefined || options.structures !== undefined) throw new UsageError('give either --mlp/--heads (fractions per structure) or --sparsity with --structures (one budget), not both');
    const fraction = options.mlp === undefined ? 0 : parseFraction(options.mlp, 'mlp');
    const heads = options.heads === undefined ? 0 : parseFraction(options.heads, 'heads');
    if (fraction === 0 && heads === 0) throw new UsageError('--mlp 0 --heads 0 removes nothing; give a fraction above 0');
    return { selection, fraction, heads, budget: null };
  }
  if (typeof options.sparsity !== 'string') throw new UsageError('--method spap needs --sparsity <fraction to remove>, e.g. 0.2 (or --mlp <f> --heads <f>)');
  const sparsity = parseSparsity(options.sparsity);
  if (options.structures === undefined) return { selection, fraction: sparsity, heads: 0, budget: null };
  const list = String(options.structures).split(',').map((x) => x.trim()).filter(Boolean);
  const unknown = list.find((x) => !(STRUCTURES as readonly string[]).includes(x));
  if (unknown !== undefined || !list.length) throw new UsageError(`--structures "${String(options.structures)}" must list ${STRUCTURES.join(' and/or ')}, comma-separated (e.g. mlp,heads)`);
  if (sparsity === 0) throw new UsageError('--sparsity 0 removes nothing; give a fraction of the block parameters above 0');
  return { selection, fraction: 0, heads: 0, budget: { sparsity, structures: [...new Set(list)] as Structure[] } };
}

/** What --json prints for a structured run. */
export interface StructuredReport {
  model: string;
  method: 'spap';
  selection: ChannelSelection;
  /** Fraction of each block's MLP channels removed. */
  fraction: number;
  /** Fraction of each block's key/value groups removed. */
  heads: number;
  intermediate: { before: number; after: number };
  /** Key/value groups and query heads per block. */
  kvGroups: { before: number; after: number };
  attentionHeads: { before: number; after: number };
  /** With --structures: the fraction of block parameters asked for and how it was split. */
  budget?: { sparsity: number; structures: Structure[]; blockTarget: number; blockRemoved: number; damage: number[] };
  parameters: { before: number; after: number };
  calib: string;
  nsamples: number;
  seqlen: number;
  seed: number;
  blocks: { block: number; layer: string; channels: number; kept: number; relError: number; steps: number; ms: number }[];
  headBlocks: { block: number; layer: string; groups: number; kept: number[]; relError: number; steps: number; ms: number }[];
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
    pack: boolean;
  } & ChannelOptions,
): Promise<number> {
  const { model } = o;
  const c = model.config;
  const before = c.intermediate;
  if (Math.round(o.fraction * before) >= before) throw new InputError(`--sparsity ${o.fraction} would remove all ${before} MLP channels of ${o.dir}`);
  if (o.heads > 0 || o.budget?.structures.includes('heads')) {
    try {
      assertHeadsRemovable(c);
    } catch (error) {
      throw error instanceof HeadPruningError ? new InputError(`${o.dir}: ${error.message}`) : error;
    }
  }
  if (o.heads > 0 && groupsToRemove(c.kvHeads, o.heads) === 0) throw new InputError(`--heads ${o.heads} rounds to no key/value group of the ${c.kvHeads} in each block of ${o.dir}; give at least ${(0.5 / c.kvHeads).toFixed(3)}`);
  const [{ pruneMlpChannels, structuredEdits }, { planStructures }, { modelFiles }, { channelsToRemove }] = await Promise.all([
    import('../../pipeline/structured'),
    import('../../pipeline/structuredBudget'),
    import('../../pipeline/export'),
    import('../../solvers/spap'),
  ]);
  const created = await prepareOutDir(o.out, o.dir);
  if (!o.quiet) {
    const what = o.budget ? `${(o.budget.sparsity * 100).toFixed(1)} % of the block parameters from ${o.budget.structures.join(' and ')}` : `${channelsToRemove(before, o.fraction)} of ${before} MLP channels and ${groupsToRemove(c.kvHeads, o.heads)} of ${c.kvHeads} key/value groups per block`;
    ctx.stderr(`prune: ${o.dir}, spap (${o.selection}), removing ${what}; ${o.nsamples} windows of ${o.seqlen} tokens from ${o.calibPath}\n`);
  }
  let result: StructuredModel;
  let plan: StructuredPlan | null = null;
  let files: OutputFile[];
  let device = '';
  try {
    const started = performance.now();
    // A lost device is reopened and the channel selection starts again from the first block.
    result = await onDevice(ctx, {
      command: 'prune',
      onOpen: (gpu) => (device = deviceName(gpu)),
      resumeNote: () => 'selecting the channels again from the first block',
      run: async (gpu) => {
        if (o.budget) {
          try {
            plan = await planStructures(gpu, model, { ...o.budget, windows: o.windows, seqlen: o.seqlen });
          } catch (error) {
            throw error instanceof Error && /lower the fraction/.test(error.message) ? new InputError(`${o.dir}: ${error.message}`) : error;
          }
          if (!o.quiet) ctx.stderr(`budget: ${plan.channelsRemoved} MLP channels and ${plan.groupsRemoved} key/value groups per block (${plan.blockRemoved} of the ${Math.round(plan.blockTarget)} parameters asked)\n`);
        }
        return pruneMlpChannels(gpu, model, {
          selection: o.selection,
          fraction: plan ? plan.fraction : o.fraction,
          heads: plan ? plan.heads : o.heads,
          windows: o.windows,
          seqlen: o.seqlen,
          control: cancelOnly(ctx.signal),
          onProgress: (p) => {
            if (!o.quiet) ctx.stderr(`block ${p.block + 1} of ${p.blocks} ${p.layer} spap ${seconds(performance.now() - started)}\n`);
          },
        });
      },
    });
    files = await modelFiles(model, structuredEdits(result), { maxShardSize: o.maxShardSize, pack: o.pack });
    if (ctx.signal.aborted) throw new CancelledError();
    await writeFolder(o.out, files);
  } catch (error) {
    if (created) await removeCreated(o.out, created);
    throw error;
  }
  const removeChannels = channelsToRemove(before, result.fraction);
  const keptGroups = c.kvHeads - groupsToRemove(c.kvHeads, result.heads);
  const perGroup = c.heads / c.kvHeads;
  const chosen = plan as StructuredPlan | null;
  const report: StructuredReport = {
    model: o.dir,
    method: 'spap',
    selection: o.selection,
    fraction: result.fraction,
    heads: result.heads,
    intermediate: { before, after: before - removeChannels },
    kvGroups: { before: c.kvHeads, after: keptGroups },
    attentionHeads: { before: c.heads, after: keptGroups * perGroup },
    ...(o.budget && chosen ? { budget: { ...o.budget, blockTarget: chosen.blockTarget, blockRemoved: chosen.blockRemoved, damage: chosen.damage } } : {}),
    parameters: result.parameters,
    calib: o.calibPath,
    nsamples: o.nsamples,
    seqlen: o.seqlen,
    seed: o.seed,
    blocks: result.report.map((b) => ({ block: b.block, layer: b.layer, channels: b.channels, kept: b.kept.length, relError: b.relError, steps: b.steps.length, ms: Math.round(b.ms) })),
    headBlocks: result.headReport.map((b) => ({ block: b.block, layer: b.layer, groups: b.groups, kept: b.kept, relError: b.relError, steps: b.steps.length, ms: Math.round(b.ms) })),
    ms: Math.round(result.ms),
    device,
    out: o.out,
    files: files.map((f) => f.name),
  };
  if (o.json) {
    ctx.stdout(JSON.stringify(report) + '\n');
  } else {
    const lines = [
      `${report.model}: spap (${report.selection}), MLP width ${before} → ${report.intermediate.after}, attention heads ${c.heads} → ${report.attentionHeads.after} (key/value groups ${c.kvHeads} → ${keptGroups}), parameters ${report.parameters.before} → ${report.parameters.after}`,
      ...report.headBlocks.map((b) => `  block ${b.block}: kept key/value groups ${b.kept.join(',')} of ${b.groups}, o_proj rel error ${b.relError.toPrecision(4)}, ${b.steps} penalty steps, ${b.ms} ms`),
      ...report.blocks.map((b) => `  block ${b.block}: kept ${b.kept} of ${b.channels} channels, rel error ${b.relError.toPrecision(4)}, ${b.steps} penalty steps, ${b.ms} ms`),
      `  wrote ${report.out}`,
    ];
    ctx.stdout(lines.join('\n') + '\n');
  }
  return EXIT_OK;
}
