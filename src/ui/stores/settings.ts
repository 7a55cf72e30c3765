/**
 * Every setting of a run, kept in the URL's query string so that a link reproduces a run's
 * settings. Texts the person pasted or dropped are too large for a URL: they are marked as
 * "custom" there and kept only in this tab.
 */
import { create } from 'zustand';
import { CHANNEL_SELECTIONS, DEFAULT_ALPS, DEFAULT_SPAP, METHODS, type AlpsOptions, type ChannelSelection, type Method } from '../../shared/methods';
import { OWL_DEFAULTS, type SparsityProfile } from '../../shared/budget';
import { budgetProfile } from './budget';
import type { Pattern } from '../../shared/pattern';
import type { CalibrationSettings, PruneSettings, StructuredSettings } from '../../worker/protocol';

export type PatternKind = 'unstructured' | '2:4' | '4:8';
const PATTERN_KINDS: readonly PatternKind[] = ['unstructured', '2:4', '4:8'];
/** The four unstructured methods plus SPAP, which removes whole MLP channels instead of single weights. */
export type StudioMethod = Method | 'spap';
export const STUDIO_METHODS: readonly StudioMethod[] = [...METHODS, 'spap'];
export type TextSource = 'default' | 'custom';
/** Whole-model runs: every layer at the target, or OWL's per-block sparsities at the same overall count. */
export type ProfileKind = 'uniform' | 'owl' | 'custom';
/** 'custom': the per-layer budget of the editor (stores/budget.ts). */
export const PROFILE_KINDS: readonly ProfileKind[] = ['uniform', 'owl', 'custom'];
const CUSTOM_TEXT: readonly TextSource[] = ['custom'];
/** Swap moves after the method (local search, src/solvers/swaps.ts), or none. */
export type RefineKind = 'off' | 'swaps';
const REFINE_KINDS: readonly RefineKind[] = ['off', 'swaps'];
/** Compare: each method once, or with and without the swap refinement side by side. */
export type CompareRefine = 'off' | 'both';
const COMPARE_REFINE: readonly CompareRefine[] = ['off', 'both'];
/** The swaps budget's bounds: rounds of at most one swap per output row (the CLI's default is 100). */
export const REFINE_SWAPS = { min: 1, max: 100000, default: 100 };

export interface AlpsSettings {
  rho0: number;
  maxIterations: number;
  updateEvery: number;
  pcgSteps: number;
}

export interface SpapSettings {
  rho0: number;
  growth: number;
  maxSteps: number;
}

export interface Settings {
  method: StudioMethod;
  patternKind: PatternKind;
  sparsity: number;
  profile: ProfileKind;
  refine: RefineKind;
  /** Rounds of swap moves at most (each makes at most one swap per output row). */
  refineSwaps: number;
  compareRefine: CompareRefine;
  alps: AlpsSettings;
  /** Structured (SPAP) runs: fraction of each block's MLP channels to remove, and how they are chosen. */
  channelFraction: number;
  /** Structured runs: fraction of each block's attention key/value groups removed too (0: attention kept). */
  headFraction: number;
  selection: ChannelSelection;
  spap: SpapSettings;
  layer: string | null;
  calSource: TextSource;
  calText: string;
  calFileName: string | null;
  nsamples: number;
  seqlen: number;
  seed: number;
  evalSource: TextSource;
  evalText: string;
  evalSeqlen: number;
  evalMaxTokens: number;
  prompt: string;
  genTokens: number;
}

export const DEFAULT_SETTINGS: Settings = {
  method: 'alps',
  patternKind: 'unstructured',
  // 70 %: on the bundled model magnitude's perplexity rises 26 % and ALPS's 5 %, a gap a first visit sees (README, "Demo").
  sparsity: 0.7,
  profile: 'uniform',
  refine: 'off',
  refineSwaps: REFINE_SWAPS.default,
  compareRefine: 'off',
  alps: { rho0: DEFAULT_ALPS.rho0, maxIterations: DEFAULT_ALPS.maxIterations, updateEvery: DEFAULT_ALPS.updateEvery, pcgSteps: DEFAULT_ALPS.pcgSteps },
  channelFraction: 0.2,
  headFraction: 0,
  selection: 'spap',
  spap: { rho0: DEFAULT_SPAP.rho0, growth: DEFAULT_SPAP.growth, maxSteps: DEFAULT_SPAP.maxSteps },
  layer: null,
  calSource: 'default',
  calText: '',
  calFileName: null,
  nsamples: 16,
  seqlen: 128,
  seed: 0,
  evalSource: 'default',
  evalText: '',
  evalSeqlen: 128,
  evalMaxTokens: 4096,
  // A prompt from mid-story: every method continues "Once upon a time" alike; here magnitude at 70 % loses the plot.
  prompt: 'Lily was scared. "Who is there?" she asked.',
  genTokens: 24,
};

interface SettingsStore extends Settings {
  set(patch: Partial<Settings>): void;
  setAlps(patch: Partial<AlpsSettings>): void;
  setSpap(patch: Partial<SpapSettings>): void;
}

export function patternOf(s: Pick<Settings, 'patternKind' | 'sparsity'>): Pattern {
  if (s.patternKind === '2:4') return { kind: 'nm', n: 2, m: 4 };
  if (s.patternKind === '4:8') return { kind: 'nm', n: 4, m: 8 };
  return { kind: 'unstructured', sparsity: s.sparsity };
}

/** Settings of an unstructured run; `method` is passed in because the chosen one may be SPAP (see structuredSettings). */
export function pruneSettings(s: Settings, method: Method): PruneSettings {
  const alps: AlpsOptions = { ...DEFAULT_ALPS, ...s.alps };
  const pattern = patternOf(s);
  // OWL needs an unstructured target (an N:M pattern fixes every layer's count); its M and λ are the paper's.
  let profile: SparsityProfile | undefined = s.profile === 'owl' && pattern.kind === 'unstructured' ? { kind: 'owl' as const, ...OWL_DEFAULTS } : undefined;
  // The editor's budget; nothing edited is uniform.
  if (s.profile === 'custom' && pattern.kind === 'unstructured') profile = budgetProfile();
  if (profile?.kind === 'uniform') profile = undefined;
  return { method, pattern, alps, ...(profile ? { profile } : {}), ...(s.refine === 'swaps' ? { refine: refineOptions(s) } : {}) };
}

/** The swap refinement's budget as the engine takes it. */
export function refineOptions(s: Pick<Settings, 'refineSwaps'>): NonNullable<PruneSettings['refine']> {
  return { swaps: s.refineSwaps };
}

export function structuredSettings(s: Settings): StructuredSettings {
  return { selection: s.selection, fraction: s.channelFraction, ...(s.headFraction > 0 ? { heads: s.headFraction } : {}), spap: { ...s.spap } };
}

/** The sliders' range: removing more than 60% of a small model's MLP leaves little to study. */
export const CHANNEL_FRACTION = { min: 0.05, max: 0.6, step: 0.05 };
/** Key/value groups: 0 keeps attention; at least one group always stays (rounded per model). */
export const HEAD_FRACTION = { min: 0, max: 0.75, step: 0.05 };

export function calibrationSettings(s: Settings): CalibrationSettings {
  return { text: s.calSource === 'custom' && s.calText.trim() ? s.calText : undefined, nsamples: s.nsamples, seqlen: s.seqlen, seed: s.seed };
}

// ---------------------------------------------------------------- URL query string

type TopField = Exclude<keyof Settings, 'alps' | 'spap'>;
/** Where a URL parameter lands: a top-level setting, or a field of the ALPS or SPAP group. */
type Target = { group?: undefined; field: TopField } | { group: 'alps'; field: keyof AlpsSettings } | { group: 'spap'; field: keyof SpapSettings };
type Kind =
  | { type: 'enum'; values: readonly string[] }
  /** Counts are rounded; values are clamped to [min, max]; a value not above `above` is ignored (defaults stay). */
  | { type: 'number'; integer?: boolean; min?: number; max?: number; above?: number }
  /** `allowEmpty`: an empty value is a value (the prompt), not an absent one (the layer). */
  | { type: 'string'; allowEmpty?: boolean };
export type UrlSetting = { key: string } & Target & Kind;

/**
 * Every setting the URL carries: its query key, where it lands, its type and bounds. Parsing and
 * serialisation both read this table (defaults come from DEFAULT_SETTINGS and are left out of the
 * URL). Pasted or dropped texts are too large for a URL and are not in it.
 */
export const URL_SETTINGS: readonly UrlSetting[] = [
  { key: 'method', field: 'method', type: 'enum', values: STUDIO_METHODS },
  { key: 'pattern', field: 'patternKind', type: 'enum', values: PATTERN_KINDS },
  { key: 'sparsity', field: 'sparsity', type: 'number', min: 0, max: 0.99 },
  { key: 'profile', field: 'profile', type: 'enum', values: PROFILE_KINDS },
  { key: 'refine', field: 'refine', type: 'enum', values: REFINE_KINDS },
  { key: 'swaps', field: 'refineSwaps', type: 'number', integer: true, min: REFINE_SWAPS.min, max: REFINE_SWAPS.max },
  { key: 'compareSwaps', field: 'compareRefine', type: 'enum', values: COMPARE_REFINE },
  { key: 'channels', field: 'channelFraction', type: 'number', min: CHANNEL_FRACTION.min, max: CHANNEL_FRACTION.max },
  { key: 'heads', field: 'headFraction', type: 'number', min: HEAD_FRACTION.min, max: HEAD_FRACTION.max },
  { key: 'samples', field: 'nsamples', type: 'number', integer: true, min: 1 },
  { key: 'seqlen', field: 'seqlen', type: 'number', integer: true, min: 2 },
  { key: 'seed', field: 'seed', type: 'number', integer: true, min: 0 },
  { key: 'evalSeqlen', field: 'evalSeqlen', type: 'number', integer: true, min: 2 },
  { key: 'evalTokens', field: 'evalMaxTokens', type: 'number', integer: true, min: 2 },
  { key: 'genTokens', field: 'genTokens', type: 'number', integer: true, min: 1 },
  { key: 'rho0', group: 'alps', field: 'rho0', type: 'number', above: 0 },
  { key: 'iters', group: 'alps', field: 'maxIterations', type: 'number', integer: true, min: 1 },
  { key: 'every', group: 'alps', field: 'updateEvery', type: 'number', integer: true, min: 1 },
  { key: 'pcg', group: 'alps', field: 'pcgSteps', type: 'number', integer: true, min: 0 },
  { key: 'selection', field: 'selection', type: 'enum', values: CHANNEL_SELECTIONS },
  { key: 'spapRho0', group: 'spap', field: 'rho0', type: 'number', above: 0 },
  // ρ must grow for the selection to become integral.
  { key: 'spapGrowth', group: 'spap', field: 'growth', type: 'number', above: 1 },
  { key: 'spapSteps', group: 'spap', field: 'maxSteps', type: 'number', integer: true, min: 1 },
  { key: 'layer', field: 'layer', type: 'string' },
  // Only "custom" is ever written: the text itself stays in this tab.
  { key: 'cal', field: 'calSource', type: 'enum', values: CUSTOM_TEXT },
  { key: 'eval', field: 'evalSource', type: 'enum', values: CUSTOM_TEXT },
  { key: 'prompt', field: 'prompt', type: 'string', allowEmpty: true },
];

/** A parameter's value under its setting's rules, or undefined when it is malformed (the default stays). */
function parseValue(setting: UrlSetting, raw: string): string | number | undefined {
  if (setting.type === 'string') return raw !== '' || setting.allowEmpty ? raw : undefined;
  if (setting.type === 'enum') return setting.values.includes(raw) ? raw : undefined;
  if (raw.trim() === '') return undefined;
  let v = Number(raw);
  if (!Number.isFinite(v) || (setting.above !== undefined && v <= setting.above)) return undefined;
  if (setting.integer) v = Math.round(v);
  return Math.min(setting.max ?? Infinity, Math.max(setting.min ?? -Infinity, v));
}

/** The setting's value in `s` (its group's field for grouped ones). */
function valueOf(s: Settings, setting: UrlSetting): unknown {
  return setting.group ? (s[setting.group] as unknown as Record<string, unknown>)[setting.field] : s[setting.field];
}

/** Settings named in a query string; unknown or malformed values are ignored (defaults stay). */
export function settingsFromQuery(search: string): Partial<Settings> {
  const q = new URLSearchParams(search);
  const out: Record<string, unknown> = {};
  const groups: Record<string, Record<string, unknown>> = {};
  for (const setting of URL_SETTINGS) {
    const raw = q.get(setting.key);
    const value = raw === null ? undefined : parseValue(setting, raw);
    if (value === undefined) continue;
    if (setting.group) (groups[setting.group] ??= {})[setting.field] = value;
    else out[setting.field] = value;
  }
  // A group named at all comes back whole: the named fields over its defaults.
  for (const [group, patch] of Object.entries(groups)) out[group] = { ...DEFAULT_SETTINGS[group as 'alps' | 'spap'], ...patch };
  return out as Partial<Settings>;
}

/** The query string for the current settings (defaults left out, so links stay short). */
export function settingsToQuery(s: Settings): string {
  const q = new URLSearchParams();
  for (const setting of URL_SETTINGS) {
    const value = valueOf(s, setting);
    if (value === null || value === valueOf(DEFAULT_SETTINGS, setting) || (value === '' && !(setting.type === 'string' && setting.allowEmpty))) continue;
    q.set(setting.key, String(value));
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}

/** Mirrors every settings change into the address bar (replaceState: no history entry per keystroke). */
export function syncSettingsToUrl(): () => void {
  return useSettings.subscribe((s) => {
    const query = settingsToQuery(s);
    if (query !== location.search) history.replaceState(null, '', `${location.pathname}${query}${location.hash}`);
  });
}

// Created after the query helpers above: its initial state reads the URL through them.
export const useSettings = create<SettingsStore>((set) => ({
  ...DEFAULT_SETTINGS,
  ...settingsFromQuery(typeof location === 'undefined' ? '' : location.search),
  set: (patch) => set(patch),
  setAlps: (patch) => set((s) => ({ alps: { ...s.alps, ...patch } })),
  setSpap: (patch) => set((s) => ({ spap: { ...s.spap, ...patch } })),
}));
