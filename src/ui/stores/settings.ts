/**
 * Every setting of a run, kept in the URL's query string so that a link reproduces a run's
 * settings. Texts the person pasted or dropped are too large for a URL: they are marked as
 * "custom" there and kept only in this tab.
 */
import { create } from 'zustand';
import { CHANNEL_SELECTIONS, DEFAULT_SPAP, type ChannelSelection } from '../../solvers/spap';
import { DEFAULT_ALPS, METHODS, type AlpsOptions, type Method, type Pattern } from '../../solvers/types';
import type { CalibrationSettings, PruneSettings, StructuredSettings } from '../../worker/protocol';

export type PatternKind = 'unstructured' | '2:4' | '4:8';
/** The four unstructured methods plus SPAP, which removes whole MLP channels instead of single weights. */
export type StudioMethod = Method | 'spap';
export const STUDIO_METHODS: readonly StudioMethod[] = [...METHODS, 'spap'];
export type TextSource = 'default' | 'custom';

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
  alps: AlpsSettings;
  /** Structured (SPAP) runs: fraction of each block's MLP channels to remove, and how they are chosen. */
  channelFraction: number;
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
  sparsity: 0.5,
  alps: { rho0: DEFAULT_ALPS.rho0, maxIterations: DEFAULT_ALPS.maxIterations, updateEvery: DEFAULT_ALPS.updateEvery, pcgSteps: DEFAULT_ALPS.pcgSteps },
  channelFraction: 0.2,
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
  prompt: 'Once upon a time',
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
  return { method, pattern: patternOf(s), alps };
}

export function structuredSettings(s: Settings): StructuredSettings {
  return { selection: s.selection, fraction: s.channelFraction, spap: { ...s.spap } };
}

/** The sliders' range: removing more than 60% of a small model's MLP leaves little to study. */
export const CHANNEL_FRACTION = { min: 0.05, max: 0.6, step: 0.05 };

export function calibrationSettings(s: Settings): CalibrationSettings {
  return { text: s.calSource === 'custom' && s.calText.trim() ? s.calText : undefined, nsamples: s.nsamples, seqlen: s.seqlen, seed: s.seed };
}

// ---------------------------------------------------------------- URL query string

const NUMBER_KEYS: [keyof Settings, string][] = [
  ['sparsity', 'sparsity'],
  ['channelFraction', 'channels'],
  ['nsamples', 'samples'],
  ['seqlen', 'seqlen'],
  ['seed', 'seed'],
  ['evalSeqlen', 'evalSeqlen'],
  ['evalMaxTokens', 'evalTokens'],
  ['genTokens', 'genTokens'],
];
const MIN_COUNT: Partial<Record<keyof Settings, number>> = { nsamples: 1, seqlen: 2, seed: 0, evalSeqlen: 2, evalMaxTokens: 2, genTokens: 1 };
const SPAP_KEYS: [keyof SpapSettings, string][] = [
  ['rho0', 'spapRho0'],
  ['growth', 'spapGrowth'],
  ['maxSteps', 'spapSteps'],
];
const ALPS_KEYS: [keyof AlpsSettings, string][] = [
  ['rho0', 'rho0'],
  ['maxIterations', 'iters'],
  ['updateEvery', 'every'],
  ['pcgSteps', 'pcg'],
];

function finite(value: string | null): number | null {
  if (value === null || value.trim() === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/** Settings named in a query string; unknown or malformed values are ignored (defaults stay). */
export function settingsFromQuery(search: string): Partial<Settings> {
  const q = new URLSearchParams(search);
  const out: Partial<Settings> = {};
  const method = q.get('method');
  if (method && (STUDIO_METHODS as readonly string[]).includes(method)) out.method = method as StudioMethod;
  const selection = q.get('selection');
  if (selection && (CHANNEL_SELECTIONS as readonly string[]).includes(selection)) out.selection = selection as ChannelSelection;
  const pattern = q.get('pattern');
  if (pattern === 'unstructured' || pattern === '2:4' || pattern === '4:8') out.patternKind = pattern;
  for (const [key, name] of NUMBER_KEYS) {
    const v = finite(q.get(name));
    if (v === null) continue;
    // Everything but the two fractions is a count: a whole number, at least its minimum.
    (out as Record<string, number>)[key] =
      key === 'sparsity'
        ? Math.min(0.99, Math.max(0, v))
        : key === 'channelFraction'
          ? Math.min(CHANNEL_FRACTION.max, Math.max(CHANNEL_FRACTION.min, v))
          : Math.max(MIN_COUNT[key] ?? 0, Math.round(v));
  }
  const alps: Partial<AlpsSettings> = {};
  for (const [key, name] of ALPS_KEYS) {
    const v = finite(q.get(name));
    if (v === null) continue;
    if (key === 'rho0') {
      if (v > 0) alps.rho0 = v;
    } else alps[key] = Math.max(key === 'pcgSteps' ? 0 : 1, Math.round(v));
  }
  if (Object.keys(alps).length) out.alps = { ...DEFAULT_SETTINGS.alps, ...alps };
  const spap: Partial<SpapSettings> = {};
  for (const [key, name] of SPAP_KEYS) {
    const v = finite(q.get(name));
    if (v === null) continue;
    if (key === 'rho0' && v > 0) spap.rho0 = v;
    // ρ must grow for the selection to become integral.
    else if (key === 'growth' && v > 1) spap.growth = v;
    else if (key === 'maxSteps') spap.maxSteps = Math.max(1, Math.round(v));
  }
  if (Object.keys(spap).length) out.spap = { ...DEFAULT_SETTINGS.spap, ...spap };
  const layer = q.get('layer');
  if (layer) out.layer = layer;
  if (q.get('cal') === 'custom') out.calSource = 'custom';
  if (q.get('eval') === 'custom') out.evalSource = 'custom';
  const prompt = q.get('prompt');
  if (prompt !== null) out.prompt = prompt;
  return out;
}

/** The query string for the current settings (defaults left out, so links stay short). */
export function settingsToQuery(s: Settings): string {
  const q = new URLSearchParams();
  const d = DEFAULT_SETTINGS;
  if (s.method !== d.method) q.set('method', s.method);
  if (s.patternKind !== d.patternKind) q.set('pattern', s.patternKind);
  for (const [key, name] of NUMBER_KEYS) if (s[key] !== d[key]) q.set(name, String(s[key]));
  for (const [key, name] of ALPS_KEYS) if (s.alps[key] !== d.alps[key]) q.set(name, String(s.alps[key]));
  if (s.selection !== d.selection) q.set('selection', s.selection);
  for (const [key, name] of SPAP_KEYS) if (s.spap[key] !== d.spap[key]) q.set(name, String(s.spap[key]));
  if (s.layer) q.set('layer', s.layer);
  if (s.calSource === 'custom') q.set('cal', 'custom');
  if (s.evalSource === 'custom') q.set('eval', 'custom');
  if (s.prompt !== d.prompt) q.set('prompt', s.prompt);
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
