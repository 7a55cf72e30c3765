/** Parsing of the options several commands share: the method and the sparsity pattern. */
import { CHANNEL_SELECTIONS, METHOD_INFO, METHODS, SELECTION_INFO, type ChannelSelection, type Method } from '../shared/methods';
import type { Pattern } from '../shared/pattern';
import { InputError, UsageError } from './errors';

/** The structured method `prune` accepts besides METHODS: SPAP, whose baselines are the other selections. */
export const STRUCTURED_METHOD = SELECTION_INFO.spap.id;

/** "<a|b|c>": a placeholder for --help, from the registry's ids. */
export function choices(ids: readonly string[]): string {
  return `<${ids.join('|')}>`;
}

/** "ALPS, SparseGPT, Wanda, Magnitude or SPAP": the methods by their labels, for the help text. */
export function methodLabels(): string {
  const labels = [...METHODS.map((id) => METHOD_INFO[id].label), SELECTION_INFO[STRUCTURED_METHOD].label];
  return `${labels.slice(0, -1).join(', ')} or ${labels[labels.length - 1]}`;
}

export function parseMethod(value: string | boolean | undefined): Method {
  if (value === undefined || value === true) throw new UsageError(`--method is required (one of ${METHODS.join(', ')})`);
  const method = String(value).toLowerCase();
  if (!(METHODS as readonly string[]).includes(method)) {
    throw new UsageError(`unknown method "${String(value)}"; choose one of ${METHODS.join(', ')}`);
  }
  return method as Method;
}

/** --selection of a structured run (default spap). */
export function parseSelection(value: string | boolean | undefined): ChannelSelection {
  const selection = value ?? STRUCTURED_METHOD;
  if (typeof selection !== 'string' || !(CHANNEL_SELECTIONS as readonly string[]).includes(selection)) {
    throw new UsageError(`--selection "${String(value)}" is not one of ${CHANNEL_SELECTIONS.join(', ')}`);
  }
  return selection as ChannelSelection;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** "0.7" or "70%": a fraction of weights to remove, in [0, 1). */
export function parseSparsity(text: string): number {
  const trimmed = text.trim();
  const percent = trimmed.endsWith('%');
  const body = percent ? trimmed.slice(0, -1).trim() : trimmed;
  if (!DECIMAL.test(body)) throw new UsageError(`--sparsity "${text}" is not a number; give a fraction like 0.7 or a percentage like 70%`);
  const s = Number(body) / (percent ? 100 : 1);
  if (!(s >= 0 && s < 1)) {
    throw new UsageError(`--sparsity ${text} is impossible: it must be at least 0 and below 1 (the fraction of weights removed)`);
  }
  return s;
}

/** "N:M", e.g. 2:4: keep N of every M consecutive inputs of each output. */
export function parseNM(text: string): { n: number; m: number } {
  const match = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(text);
  if (!match) throw new UsageError(`--pattern "${text}" is not of the form N:M (for example 2:4)`);
  const n = Number(match[1]);
  const m = Number(match[2]);
  if (n < 1 || n >= m) throw new UsageError(`--pattern ${text} is impossible: it needs 1 ≤ N < M (for example 2:4 or 4:8)`);
  return { n, m };
}

/** Exactly one of --sparsity and --pattern. */
export function parsePattern(options: Record<string, string | boolean | undefined>): Pattern {
  const { sparsity, pattern } = options;
  if (sparsity !== undefined && pattern !== undefined) throw new UsageError('give either --sparsity or --pattern, not both');
  if (typeof sparsity === 'string') return { kind: 'unstructured', sparsity: parseSparsity(sparsity) };
  if (typeof pattern === 'string') {
    if (pattern.trim().toLowerCase() === 'unstructured') {
      throw new UsageError('--pattern unstructured needs a target: use --sparsity <s> instead');
    }
    return { kind: 'nm', ...parseNM(pattern) };
  }
  throw new UsageError('give a target: --sparsity <s> (unstructured, e.g. 0.7) or --pattern <N:M> (e.g. 2:4)');
}

/** Checks that the pattern can apply to an m×n layer, before any GPU work. */
export function checkPatternFits(pattern: Pattern, m: number, n: number, what = 'the layer'): void {
  if (pattern.kind === 'nm' && n % pattern.m !== 0) {
    throw new InputError(
      `the ${pattern.n}:${pattern.m} pattern needs the input width to be a multiple of ${pattern.m}, but ${what} is ${m}×${n}`,
    );
  }
}
