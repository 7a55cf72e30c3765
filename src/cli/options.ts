/** Parsing of the options several commands share: the method and the sparsity pattern. */
import { CHANNEL_SELECTIONS, METHOD_INFO, METHODS, SELECTION_INFO, type ChannelSelection, type Method } from '../shared/methods';
import { BudgetError, OWL_DEFAULTS, parseLayerRules, type SparsityProfile } from '../shared/budget';
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

export const SPARSITY_PROFILES = ['uniform', 'owl'] as const;

/** A number option in [min, max) (or (min, max) with `open`), else its default. */
function parseBounded(value: string | boolean | undefined, name: string, fallback: number, min: number, max: number, open = false): number {
  if (value === undefined) return fallback;
  const text = String(value).trim();
  const v = Number(text);
  if (!DECIMAL.test(text) || !(open ? v > min : v >= min) || !(v < max)) {
    throw new UsageError(`--${name} ${String(value)} must be a number ${open ? 'above' : 'at least'} ${min} and below ${max}`);
  }
  return v;
}

/**
 * --sparsity-profile uniform|owl (--owl-m, --owl-lambda), or --layer-sparsity globs (with --exact-total
 * shifted to the uniform target's overall count): how the layers' sparsities spread around --sparsity.
 */
export function parseProfile(options: Record<string, string | boolean | undefined>, pattern: Pattern | null): SparsityProfile {
  const name = options['sparsity-profile'] ?? 'uniform';
  if (typeof name !== 'string' || !(SPARSITY_PROFILES as readonly string[]).includes(name)) {
    throw new UsageError(`--sparsity-profile "${String(name)}" is not one of ${SPARSITY_PROFILES.join(', ')}`);
  }
  const rules = options['layer-sparsity'];
  const owlOnly = ['owl-m', 'owl-lambda'].find((o) => options[o] !== undefined);
  if (name !== 'owl' && owlOnly) throw new UsageError(`--${owlOnly} needs --sparsity-profile owl`);
  if (rules === undefined && options['exact-total'] !== undefined) throw new UsageError('--exact-total needs --layer-sparsity');
  if (name === 'owl' && rules !== undefined) throw new UsageError('give either --sparsity-profile owl or --layer-sparsity, not both');
  const flag = name === 'owl' ? '--sparsity-profile owl' : '--layer-sparsity';
  if ((name === 'owl' || rules !== undefined) && !pattern) throw new UsageError(`${flag} works with the unstructured methods (${METHODS.join(', ')}), not spap`);
  if ((name === 'owl' || rules !== undefined) && pattern?.kind !== 'unstructured') {
    throw new UsageError(`${flag} needs --sparsity (unstructured): an N:M pattern fixes every layer's count`);
  }
  if (name === 'owl') {
    return {
      kind: 'owl',
      m: parseBounded(options['owl-m'], 'owl-m', OWL_DEFAULTS.m, 0, Infinity, true),
      lambda: parseBounded(options['owl-lambda'], 'owl-lambda', OWL_DEFAULTS.lambda, 0, 1),
    };
  }
  if (typeof rules === 'string') {
    try {
      return { kind: 'layers', rules: parseLayerRules(rules), exact: options['exact-total'] === true };
    } catch (error) {
      if (error instanceof BudgetError) throw new UsageError(error.message);
      throw error;
    }
  }
  return { kind: 'uniform' };
}

/** Rounds of swap moves `--refine swaps` runs when no count is given. */
export const DEFAULT_REFINE_SWAPS = 100;

/** Rounds allowed under a time budget (`swaps:<seconds>s`): the search stops on time or when no move helps. */
const TIMED_REFINE_ROUNDS = 1_000_000;

/**
 * --refine swaps[:N] or swaps:<T>s: local search after the method, at most N rounds (one swap per
 * output row each) or rounds for T seconds per layer.
 */
export function parseRefine(value: string | boolean | undefined): { swaps: number; ms?: number } | undefined {
  if (value === undefined) return undefined;
  const match = typeof value === 'string' ? /^\s*swaps\s*(?::\s*(\d+(?:\.\d+)?)\s*(s?)\s*)?$/.exec(value) : null;
  if (!match) throw new UsageError(`--refine "${String(value)}" is not of the form swaps, swaps:N (rounds, e.g. swaps:200) or swaps:Ts (seconds per layer, e.g. swaps:2s)`);
  if (match[2] === 's') {
    const seconds = Number(match[1]);
    if (!(seconds > 0)) throw new UsageError(`--refine swaps:${match[1]}s needs a time above 0 seconds (for example swaps:2s)`);
    return { swaps: TIMED_REFINE_ROUNDS, ms: seconds * 1000 };
  }
  const swaps = match[1] === undefined ? DEFAULT_REFINE_SWAPS : Number(match[1]);
  if (!Number.isSafeInteger(swaps) || swaps < 1) throw new UsageError(`--refine swaps:${match[1]} needs a whole number of rounds, at least 1 (for example swaps:100)`);
  return { swaps };
}
