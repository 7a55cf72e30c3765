/**
 * `eval <model-dir> --text <file>`: perplexity of a Hugging Face model folder on a text file, exactly
 * as the papers report it (docs/algorithms.md, "Whole-model one-shot pruning"): the whole text tokenized once, consecutive
 * non-overlapping windows of --seqlen tokens, the last partial window dropped, exp(mean NLL) over
 * every predicted token. Also holds the model-folder helpers `prune` shares.
 */
import { cancelOnly } from '../../shared/control';
import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { ParsedArgs } from '../args';
import { describeFsError, EXIT_OK, InputError, oneLine, UsageError } from '../errors';
import { openModel, type ModelFolder, type OpenedModel } from '../../model/loader';
import { nodeFolder } from '../../model/nodeFolder';
import type { TextTokenizer } from '../../model/tokenizer';
import type { Gpu } from '../../gpu/runtime';
import { onDevice } from './device';
import type { CliContext, Command } from './types';

// ------------------------------------------------------------------ helpers shared with `prune`

/** A positive integer option (--seqlen, --nsamples); `min` where fewer makes no sense. */
export function parseCount(value: string | boolean | undefined, name: string, fallback: number | undefined, min = 1): number {
  if (value === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const text = String(value).trim();
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`--${name} "${String(value)}" is not a whole number; give a positive integer`);
  }
  const n = Number(text);
  if (n < min) throw new UsageError(`--${name} ${n} is too small: it must be at least ${min}`);
  return n;
}

/** A required string option. */
export function requireString(value: string | boolean | undefined, name: string, what: string): string {
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} ${what} is required`);
  return value;
}

/** The text of a file, as one sentence naming the file when it cannot be read. */
export async function readTextArg(path: string): Promise<string> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new InputError(`cannot read ${path}: not a regular file`);
    return await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw describeFsError(error, path, 'read');
  }
}

/** The error of opening a model folder, as one line naming the offending file. */
function describeModelError(error: unknown, dir: string, lastText: string): Error {
  const message = oneLine(error);
  const name = (error as Error | undefined)?.name;
  const inDir = (file: string) => join(dir, file);
  // JSON.parse does not say which file it was parsing: it is the one the loader read last.
  if (error instanceof SyntaxError) return new InputError(`${inDir(lastText)} is not valid JSON: ${message}`);
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code) return describeFsError(error, (error as NodeJS.ErrnoException).path ?? dir, 'read');
  switch (name) {
    case 'ConfigError':
      return new InputError(message.startsWith('config.json') ? inDir(message) : `${inDir('config.json')}: ${message}`);
    case 'TokenizerError':
      return new InputError(message.includes('tokenizer.json') ? `${dir}: ${message}` : `${inDir('tokenizer.json')}: ${message}`);
    case 'CheckpointError':
      // The tensors and the config disagree: name the weights file; the message names config.json.
      return new InputError(`${inDir('model.safetensors')}: ${message}`);
    case 'SafetensorsError':
      // "<file>: problem", the file being one of the folder's.
      return new InputError(inDir(message));
    case 'ModelFolderError': {
      const prefix = `${basename(resolve(dir))}: `;
      return new InputError(message.startsWith(prefix) ? `${dir}: ${message.slice(prefix.length)}` : `${dir}: ${message}`);
    }
    default:
      return new InputError(`${dir}: ${message}`);
  }
}

/**
 * Opens a model folder given on the command line. Every failure becomes one InputError naming the
 * folder or the file in it and the problem (missing folder, bad config, corrupt weights, mismatched
 * tokenizer), before any GPU work.
 */
export async function openModelArg(dir: string): Promise<OpenedModel> {
  let info;
  try {
    info = await stat(dir);
  } catch (error) {
    throw describeFsError(error, dir);
  }
  if (!info.isDirectory()) {
    throw new InputError(`cannot open ${dir}: not a folder; give a Hugging Face model folder (config.json, model.safetensors, tokenizer.json)`);
  }
  const folder = nodeFolder(dir);
  let lastText = 'a JSON file';
  const traced: ModelFolder = {
    ...folder,
    name: basename(resolve(dir)),
    text: (file) => {
      lastText = file;
      return folder.text(file);
    },
  };
  try {
    return await openModel(traced);
  } catch (error) {
    throw describeModelError(error, dir, lastText);
  }
}

/** The longest window the model can run: its configured context and learned position table (sliding windows are masked, not a limit). */
export function modelContext(model: OpenedModel): number {
  const { config, arch } = model;
  let max = config.maxPositions;
  if (arch.positions) max = Math.min(max, (arch.tensors.get(arch.positions)?.[0] ?? Infinity) - config.positionOffset);
  return max;
}

export function requireTokenizer(model: OpenedModel, dir: string): TextTokenizer {
  if (!model.tokenizer) throw new InputError(`${dir}: no tokenizer.json; the text cannot be tokenized as the model was trained`);
  return model.tokenizer;
}

export function checkSeqlen(seqlen: number, model: OpenedModel, dir: string): void {
  const context = modelContext(model);
  if (seqlen > context) throw new InputError(`--seqlen ${seqlen} is longer than the context of ${dir} (${context} tokens)`);
}

export function deviceName(gpu: Gpu): string {
  const a = gpu.adapter;
  return [a.vendor, a.architecture].filter(Boolean).join(' ') || a.description || 'WebGPU';
}

export function seconds(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Whole model resident on the GPU when small (one upload per run); else a block at a time. */
export function residentBlocks(model: OpenedModel): number | undefined {
  let bytes = 0;
  for (const shape of model.weights.shapes.values()) bytes += 4 * shape.reduce((a, b) => a * b, 1);
  return bytes <= 1024 * 2 ** 20 ? undefined : 1;
}

// ------------------------------------------------------------------ the command

/** What --json prints as the last stdout line. */
export interface EvalReport {
  model: string;
  text: string;
  perplexity: number;
  /** Mean NLL (nats) per predicted token. */
  nll: number;
  /** Tokens in the evaluated windows (windows × seqlen). */
  tokens: number;
  /** Predicted tokens the mean is over (windows × (seqlen − 1)). */
  predicted: number;
  windows: number;
  seqlen: number;
  /** Length of the whole tokenized text. */
  textTokens: number;
  ms: number;
  device: string;
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'Perplexity of a model folder on a text file (consecutive windows, as the papers report it).',
  args: '<model-dir>',
  options: {
    text: { type: 'string', short: 't', value: '<file>', description: 'evaluation text, UTF-8 (required)' },
    seqlen: { type: 'string', value: '<n>', description: 'window length in tokens (default: min(512, the model context))' },
    'max-windows': { type: 'string', value: '<n>', description: 'evaluate only the first n windows (quick estimates)' },
    json: { type: 'boolean', description: 'print the result as one JSON object on the last line of stdout' },
    quiet: { type: 'boolean', short: 'q', description: 'no progress on stderr' },
    help: { type: 'boolean', short: 'h', description: 'show this help' },
  },
  details: [
    'The whole text is tokenized once with the model tokenizer (BOS where its post-processor adds one),',
    'cut into consecutive non-overlapping windows of --seqlen tokens (the last partial one dropped), and',
    'the perplexity is exp(mean NLL) over every predicted token of every window.',
    '',
    'Example:',
    '  prune-studio eval pruned-model/ --text tinystories-val.txt --seqlen 512 --json',
  ].join('\n'),

  async run(args: ParsedArgs, ctx: CliContext): Promise<number> {
    const { options, positionals } = args;
    if (positionals.length === 0) throw new UsageError('eval needs a model folder: eval <model-dir> --text <file>');
    if (positionals.length > 1) throw new UsageError(`eval takes one model folder, got ${positionals.length}: ${positionals.join(' ')}`);
    const dir = positionals[0]!;
    const textPath = requireString(options.text, 'text', '<file> (the evaluation text)');
    const seqlenOption = options.seqlen === undefined ? undefined : parseCount(options.seqlen, 'seqlen', undefined, 2);
    const maxWindows = options['max-windows'] === undefined ? undefined : parseCount(options['max-windows'], 'max-windows', undefined);
    const quiet = options.quiet === true;

    // Every check that needs no GPU comes first: bad input fails fast, with one line.
    const text = await readTextArg(textPath);
    const model = await openModelArg(dir);
    try {
      const tokenizer = requireTokenizer(model, dir);
      const seqlen = seqlenOption ?? Math.min(512, modelContext(model));
      checkSeqlen(seqlen, model, dir);
      if (!text.trim()) throw new InputError(`${textPath} is empty`);
      const ids = tokenizer.encode(text);
      if (ids.length < seqlen) {
        throw new InputError(`${textPath} has ${ids.length} tokens, fewer than one window of ${seqlen}; use a longer text or a smaller --seqlen`);
      }
      const total = Math.min(Math.floor(ids.length / seqlen), maxWindows ?? Infinity);
      if (!quiet) ctx.stderr(`eval: ${dir} on ${textPath}: ${ids.length} tokens, ${total} window${total === 1 ? '' : 's'} of ${seqlen}\n`);

      const [{ ModelRunner }, { perplexityOfTokens }] = await Promise.all([import('../../model/forward'), import('../../model/perplexity')]);
      let device = '';
      const started = performance.now();
      // A lost device is reopened and the evaluation runs again (it keeps nothing between windows worth resuming).
      const result = await onDevice(ctx, {
        command: 'eval',
        onOpen: (gpu) => {
          device = deviceName(gpu);
          if (!quiet) ctx.stderr(`  device: ${device}\n`);
        },
        resumeNote: () => 'evaluating again from the first window',
        run: async (gpu) => {
          const runner = new ModelRunner(gpu, model.arch, model.weights, { maxResidentBlocks: residentBlocks(model) });
          let last = 0;
          try {
            return await perplexityOfTokens(runner, ids, {
              seqlen,
              maxWindows,
              control: cancelOnly(ctx.signal),
              onProgress: (done, all, ppl) => {
                const now = performance.now();
                if (quiet || (now - last < 1000 && done < all)) return;
                last = now;
                ctx.stderr(`  window ${done} of ${all}, running perplexity ${ppl.toFixed(4)}, ${seconds(now - started)}\n`);
              },
            });
          } finally {
            runner.dispose();
          }
        },
      });
      const report: EvalReport = {
        model: dir,
        text: textPath,
        perplexity: result.perplexity,
        nll: result.nll,
        tokens: result.tokens,
        predicted: result.predicted,
        windows: result.windows,
        seqlen,
        textTokens: result.textTokens,
        ms: Math.round(performance.now() - started),
        device,
      };
      if (options.json === true) ctx.stdout(JSON.stringify(report) + '\n');
      else {
        ctx.stdout(
          `${dir} on ${textPath}: perplexity ${report.perplexity.toFixed(4)} (mean NLL ${report.nll.toFixed(5)} nats)\n` +
            `  ${report.windows} windows of ${seqlen} tokens (${report.predicted} predicted of ${report.textTokens} text tokens), ${seconds(report.ms)} on ${device}\n`,
        );
      }
      return EXIT_OK;
    } finally {
      await model.close();
    }
  },
};
