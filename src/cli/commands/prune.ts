/**
 * `prune <model-dir> --calib <text> --method <m> (--sparsity <s> | --pattern <N:M>) --out <dir>`:
 * whole-model one-shot pruning as the papers run it (ALGORITHMS.md): calibration windows sampled
 * from a text, blocks pruned in order with true-sequential re-capture, and the pruned model written
 * as a Hugging Face folder (same tensor names, dtypes and shapes) with its per-layer report.
 */
import { access, mkdir, readdir, realpath, rename, rmdir, stat, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ParsedArgs } from '../args';
import { describeFsError, EXIT_OK, InputError, UsageError } from '../errors';
import { checkPatternFits, describePattern, keptWeights, parseMethod, parsePattern, parseSparsity } from '../options';
import { CHANNEL_SELECTIONS, type ChannelSelection } from '../../solvers/spap';
import type { StructuredModel } from '../../pipeline/structured';
import { CancelledError } from '../../gpu/errors';
import type { Method, Pattern } from '../../solvers/types';
import type { LayerReport, PrunedModel } from '../../pipeline/prune';
import type { OpenedModel } from '../../model/loader';
import type { CliContext, Command } from './types';
import {
  checkSeqlen,
  deviceName,
  modelContext,
  openModelArg,
  parseCount,
  readTextArg,
  requireString,
  requireTokenizer,
  seconds,
} from './eval';

/** One layer as --json prints it: the pipeline's report without the per-iteration histories. */
export type LayerSummary = Omit<LayerReport, 'history' | 'pcg'>;

/** What --json prints as the last stdout line. */
export interface PruneReport {
  model: string;
  method: Method;
  /** "unstructured" or "N:M". */
  pattern: string;
  /** Requested fraction removed (unstructured) or 1 − N/M. */
  targetSparsity: number;
  /** Achieved fraction of zeros over all pruned layers. */
  sparsity: number;
  calib: string;
  nsamples: number;
  seqlen: number;
  seed: number;
  layers: LayerSummary[];
  ms: number;
  device: string;
  out: string;
  files: string[];
}

/** The marker of a folder this command wrote: such a folder may be overwritten by a new run. */
const REPORT_FILE = 'prune_report.json';

/**
 * Fails before the (long) run when the output folder could not be written, is the input folder, or
 * is someone else's non-empty folder. A missing folder is created now, as the only sure test that it
 * can be (permissions, read-only or virtual file systems); returns the first folder created, for
 * removeCreated to take away again when the run fails.
 */
async function prepareOutDir(out: string, modelDir: string): Promise<string | undefined> {
  let info;
  try {
    info = await stat(out);
  } catch (error) {
    // ENOTDIR: a parent is a file; makeFolders names which one.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw describeFsError(error, out, 'write');
  }
  if (info) {
    if (!info.isDirectory()) throw new InputError(`cannot write ${out}: it exists and is not a folder`);
    if ((await realpath(out)) === (await realpath(modelDir))) {
      throw new InputError(`--out ${out} is the input model folder; write the pruned model to another folder`);
    }
    const entries = await readdir(out);
    if (entries.length > 0 && !entries.includes(REPORT_FILE)) {
      throw new InputError(`--out ${out} is a non-empty folder that prune-studio did not write; choose a new or empty folder`);
    }
    try {
      await access(out, constants.W_OK);
    } catch (error) {
      throw describeFsError(error, out, 'write');
    }
    return undefined;
  }
  return makeFolders(out);
}

/**
 * `mkdir -p` one level at a time, returning the top-most folder created. (Node's recursive mkdir
 * loops forever under /proc, where mkdir fails with ENOENT after the parent "exists".)
 */
async function makeFolders(out: string): Promise<string | undefined> {
  const missing: string[] = [];
  let folder = resolve(out);
  for (;;) {
    try {
      if (!(await stat(folder)).isDirectory()) throw new InputError(`cannot create ${out}: ${folder} is not a folder`);
      break;
    } catch (error) {
      if (error instanceof InputError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(folder) === folder) throw describeFsError(error, out, 'create');
      missing.push(folder);
      folder = dirname(folder);
    }
  }
  missing.reverse();
  for (let i = 0; i < missing.length; i++) {
    try {
      await mkdir(missing[i]!);
    } catch (error) {
      if (i > 0) await removeCreated(missing[i - 1]!, missing[0]!);
      throw describeFsError(error, out, 'create');
    }
  }
  return missing[0];
}

/** Removes the still-empty folders this run created, from `out` up to `created`, after a failure or Ctrl-C. */
async function removeCreated(out: string, created: string): Promise<void> {
  const top = resolve(created);
  for (let folder = resolve(out); ; folder = dirname(folder)) {
    try {
      await rmdir(folder);
    } catch {
      return; // not empty (or gone): leave it
    }
    if (folder === top || dirname(folder) === folder) return;
  }
}

/** Every linear layer can take the pattern and keeps at least one weight. */
function checkLayers(model: OpenedModel, pattern: Pattern, dir: string): void {
  for (const block of model.arch.blocks) {
    for (const spec of block.linears) {
      const id = spec.weight.replace(/\.weight$/, '');
      checkPatternFits(pattern, spec.out, spec.in, `${id} of ${dir}`);
      if (keptWeights(pattern, spec.out, spec.in) < 1) {
        throw new InputError(`--sparsity ${pattern.kind === 'unstructured' ? pattern.sparsity : ''} would keep no weight of the ${spec.out}×${spec.in} layer ${id}`);
      }
    }
  }
}

/** Writes each file (into the folder prepareOutDir made) next to its final name, then renames: a crash never leaves a half-written model.safetensors. */
async function writeFolder(out: string, files: { name: string; bytes: Uint8Array }[]): Promise<void> {
  try {
    for (const f of files) {
      const partial = join(out, `.${f.name}.partial`);
      await writeFile(partial, f.bytes);
      await rename(partial, join(out, f.name));
    }
  } catch (error) {
    throw describeFsError(error, out, 'write');
  }
}

function summarize(pruned: PrunedModel): { layers: LayerSummary[]; sparsity: number } {
  let zeros = 0;
  let total = 0;
  const layers = pruned.report.map(({ history: _h, pcg: _p, ...rest }) => {
    const size = rest.shape[0] * rest.shape[1];
    zeros += rest.sparsity * size;
    total += size;
    return { ...rest, ms: Math.round(rest.ms * 10) / 10 };
  });
  return { layers, sparsity: total ? zeros / total : 0 };
}

/** The per-layer table of the human-readable summary. */
function table(r: PruneReport): string {
  const rows = r.layers.map((l) => [
    l.id,
    `${l.shape[0]}×${l.shape[1]}`,
    `${(100 * l.sparsity).toFixed(2)}%`,
    l.relErrorBeforeRefit.toPrecision(4),
    l.relError.toPrecision(4),
    String(l.iterations),
    seconds(l.ms),
  ]);
  const header = ['layer', 'shape', 'sparsity', 'rel err before refit', 'rel err', 'iters', 'time'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const geo = Math.exp(r.layers.reduce((a, l) => a + Math.log(Math.max(l.relError, 1e-30)), 0) / Math.max(1, r.layers.length));
  return [
    `${r.model}: ${r.method}, ${r.pattern === 'unstructured' ? `unstructured ${(100 * r.targetSparsity).toFixed(1)}%` : r.pattern}, ` +
      `${r.nsamples}×${r.seqlen} calibration tokens from ${r.calib} (seed ${r.seed})`,
    line(header),
    ...rows.map(line),
    `${r.layers.length} layers, sparsity ${(100 * r.sparsity).toFixed(2)}%, geometric mean rel error ${geo.toPrecision(4)}, ${seconds(r.ms)} on ${r.device}`,
    `wrote ${r.out} (${r.files.join(', ')})`,
  ].join('\n');
}

export const prune: Command = {
  name: 'prune',
  summary: 'Prune a whole model folder one-shot (calibration text in, pruned Hugging Face folder out).',
  args: '<model-dir>',
  options: {
    calib: { type: 'string', short: 'c', value: '<file>', description: 'calibration text, UTF-8 (required)' },
    method: { type: 'string', short: 'm', value: '<alps|sparsegpt|wanda|magnitude|spap>', description: 'pruning method (required); spap removes whole MLP channels' },
    sparsity: { type: 'string', short: 's', value: '<s>', description: 'unstructured: fraction of weights to remove, in [0, 1) (0.7 or 70%); spap: fraction of MLP channels' },
    selection: { type: 'string', value: '<spap|weight-norm|activation-norm>', description: 'spap only: how channels are chosen (default spap; the others are the baselines, same refit)' },
    pattern: { type: 'string', short: 'p', value: '<N:M>', description: 'semi-structured: keep N of every M consecutive inputs (2:4, 4:8)' },
    nsamples: { type: 'string', value: '<n>', description: 'calibration windows (default 32)' },
    seqlen: { type: 'string', value: '<n>', description: 'tokens per calibration window (default min(256, the model context))' },
    seed: { type: 'string', value: '<n>', description: 'seed of the window sampling (default 0)' },
    out: { type: 'string', short: 'o', value: '<dir>', description: 'folder to write the pruned model to (required; created)' },
    json: { type: 'boolean', description: 'print the result as one JSON object on the last line of stdout' },
    quiet: { type: 'boolean', short: 'q', description: 'no progress on stderr' },
    help: { type: 'boolean', short: 'h', description: 'show this help' },
  },
  details: [
    'Calibration: --nsamples windows of --seqlen consecutive tokens at seeded random offsets of the',
    'tokenized --calib text. Blocks are pruned in order; inside a block {q,k,v}, {o}, {gate,up}, {down},',
    'each group seeing the inputs of the block as pruned so far. The output folder holds model.safetensors',
    '(same tensor names, dtypes and shapes), config.json and the tokenizer files, and prune_report.json.',
    'Exactly one of --sparsity and --pattern is required.',
    '',
    'Structured: --method spap --sparsity <f> removes the fraction f of every block\'s MLP channels',
    '(rows of gate/up, columns of down), refits down on the kept ones, and writes a smaller checkpoint',
    'with config.json\'s intermediate_size (n_inner, ffn_dim) updated.',
    '',
    'Example:',
    '  prune-studio prune stories260K/ --calib tinystories-val.txt --method alps --sparsity 0.7 --out stories260K-alps70/',
  ].join('\n'),

  async run(args: ParsedArgs, ctx: CliContext): Promise<number> {
    const { options, positionals } = args;
    if (positionals.length === 0) throw new UsageError('prune needs a model folder: prune <model-dir> --calib <file> --method <m> --sparsity <s> --out <dir>');
    if (positionals.length > 1) throw new UsageError(`prune takes one model folder, got ${positionals.length}: ${positionals.join(' ')}`);
    const dir = positionals[0]!;
    const structured = options.method === 'spap';
    const method: Method | 'spap' = structured ? 'spap' : parseMethod(options.method);
    const pattern: Pattern | null = structured ? null : parsePattern(options);
    const channels = structured ? parseChannelOptions(options) : null;
    const calibPath = requireString(options.calib, 'calib', '<file> (the calibration text)');
    const out = requireString(options.out, 'out', '<dir> (where to write the pruned model)');
    const nsamples = parseCount(options.nsamples, 'nsamples', 32);
    const seqlenOption = options.seqlen === undefined ? undefined : parseCount(options.seqlen, 'seqlen', undefined, 2);
    const seed = parseCount(options.seed, 'seed', 0, 0);
    const quiet = options.quiet === true;

    // Every check that needs no GPU comes first, so bad input fails fast and with one line.
    const model = await openModelArg(dir);
    try {
      const tokenizer = requireTokenizer(model, dir);
      const seqlen = seqlenOption ?? Math.min(256, modelContext(model));
      checkSeqlen(seqlen, model, dir);
      if (pattern) checkLayers(model, pattern, dir);
      const text = await readTextArg(calibPath);
      if (!text.trim()) throw new InputError(`${calibPath} is empty`);
      const ids = tokenizer.encode(text);
      if (ids.length < seqlen) {
        throw new InputError(`${calibPath} has ${ids.length} tokens, fewer than one calibration window of ${seqlen}; use a longer text or a smaller --seqlen`);
      }
      const [{ sampleWindows }, { pruneModel }, { exportPrunedModel }, { openNodeGpu }] = await Promise.all([
        import('../../pipeline/calibration'),
        import('../../pipeline/prune'),
        import('../../pipeline/export'),
        import('../../gpu/node'),
      ]);
      const windows = sampleWindows(ids, { nsamples, seqlen, seed });
      if (channels) {
        return await runStructured(ctx, { model, dir, out, calibPath, nsamples, seqlen, seed, windows, quiet, json: options.json === true, ...channels });
      }
      if (!pattern || method === 'spap') throw new Error('unreachable: unstructured run without a pattern');
      // The output folder is checked (and created) before anything is printed or run.
      const created = await prepareOutDir(out, dir);
      if (!quiet) {
        ctx.stderr(
          `prune: ${dir}, ${method}, ${describePattern(pattern)}${pattern.kind === 'unstructured' ? ` ${(100 * pattern.sparsity).toFixed(1)}%` : ''}; ` +
            `${nsamples} windows of ${seqlen} tokens from ${calibPath} (${ids.length} tokens)\n`,
        );
      }

      let pruned: PrunedModel;
      let files: { name: string; bytes: Uint8Array }[];
      let device: string;
      try {
        const gpu = await openNodeGpu();
        device = deviceName(gpu);
        if (!quiet) ctx.stderr(`  device: ${device}\n`);
        const started = performance.now();
        try {
          pruned = await pruneModel(gpu, model, {
            method,
            pattern,
            windows,
            seqlen,
            signal: ctx.signal,
            onProgress: (p) => {
              if (!quiet) ctx.stderr(`layer ${p.layerIndex + 1} of ${p.layerCount} ${p.layer} ${method} ${seconds(performance.now() - started)}\n`);
            },
          });
        } finally {
          gpu.destroy();
        }
        files = await exportPrunedModel(model, pruned);
        // Ctrl-C after the last layer: still nothing written.
        if (ctx.signal.aborted) throw new CancelledError();
        await writeFolder(out, files);
      } catch (error) {
        if (created) await removeCreated(out, created);
        throw error;
      }
      const { layers, sparsity } = summarize(pruned);
      const report: PruneReport = {
        model: dir,
        method,
        pattern: describePattern(pattern),
        targetSparsity: pattern.kind === 'unstructured' ? pattern.sparsity : 1 - pattern.n / pattern.m,
        sparsity,
        calib: calibPath,
        nsamples,
        seqlen,
        seed,
        layers,
        ms: Math.round(pruned.ms),
        device,
        out,
        files: files.map((f) => f.name),
      };
      if (options.json === true) ctx.stdout(JSON.stringify(report) + '\n');
      else ctx.stdout(table(report) + '\n');
      return EXIT_OK;
    } finally {
      await model.close();
    }
  },
};

/** --sparsity as the fraction of MLP channels and --selection, for --method spap. */
function parseChannelOptions(options: ParsedArgs['options']): { fraction: number; selection: ChannelSelection } {
  if (options.pattern !== undefined) throw new UsageError('--method spap removes whole MLP channels: give --sparsity <fraction of channels>, not --pattern');
  if (typeof options.sparsity !== 'string') throw new UsageError('--method spap needs --sparsity <fraction of MLP channels to remove>, e.g. 0.2');
  const fraction = parseSparsity(options.sparsity);
  const selection = (options.selection ?? 'spap') as ChannelSelection;
  if (typeof selection !== 'string' || !CHANNEL_SELECTIONS.includes(selection)) {
    throw new UsageError(`--selection "${String(options.selection)}" is not one of ${CHANNEL_SELECTIONS.join(', ')}`);
  }
  return { fraction, selection };
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

async function runStructured(
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
    fraction: number;
    selection: ChannelSelection;
  },
): Promise<number> {
  const { model } = o;
  const before = model.config.intermediate;
  const remove = Math.round(o.fraction * before);
  if (remove >= before) throw new InputError(`--sparsity ${o.fraction} would remove all ${before} MLP channels of ${o.dir}`);
  const [{ pruneMlpChannels, structuredEdits }, { exportModel }, { openNodeGpu }] = await Promise.all([
    import('../../pipeline/structured'),
    import('../../pipeline/export'),
    import('../../gpu/node'),
  ]);
  const created = await prepareOutDir(o.out, o.dir);
  if (!o.quiet) {
    ctx.stderr(`prune: ${o.dir}, spap (${o.selection}), removing ${remove} of ${before} MLP channels per block; ${o.nsamples} windows of ${o.seqlen} tokens from ${o.calibPath}\n`);
  }
  let result: StructuredModel;
  let files: { name: string; bytes: Uint8Array }[];
  let device: string;
  try {
    const gpu = await openNodeGpu();
    device = deviceName(gpu);
    const started = performance.now();
    try {
      result = await pruneMlpChannels(gpu, model, {
        selection: o.selection,
        fraction: o.fraction,
        windows: o.windows,
        seqlen: o.seqlen,
        signal: ctx.signal,
        onProgress: (p) => {
          if (!o.quiet) ctx.stderr(`block ${p.block + 1} of ${p.blocks} ${p.layer} spap ${seconds(performance.now() - started)}\n`);
        },
      });
    } finally {
      gpu.destroy();
    }
    files = await exportModel(model, structuredEdits(result));
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
