/**
 * Every setting of a run, kept in the URL's query string so that a link reproduces a run's
 * settings. Texts the person pasted or dropped are too large for a URL: they are marked as
 * "custom" there and kept only in this tab.
 */
import { create } from 'zustand';
import { DEFAULT_ALPS, METHODS, type AlpsOptions, type Method, type Pattern } from '../../solvers/types';
import type { CalibrationSettings, PruneSettings } from '../../worker/protocol';

export type PatternKind = 'unstructured' | '2:4' | '4:8';
export type TextSource = 'default' | 'custom';

export interface AlpsSettings {
  rho0: number;
  maxIterations: number;
  updateEvery: number;
  pcgSteps: number;
}

export interface Settings {
  method: Method;
  patternKind: PatternKind;
  sparsity: number;
  alps: AlpsSettings;
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
}

export function patternOf(s: Pick<Settings, 'patternKind' | 'sparsity'>): Pattern {
  if (s.patternKind === '2:4') return { kind: 'nm', n: 2, m: 4 };
  if (s.patternKind === '4:8') return { kind: 'nm', n: 4, m: 8 };
  return { kind: 'unstructured', sparsity: s.sparsity };
}

export function pruneSettings(s: Settings): PruneSettings {
  const alps: AlpsOptions = { ...DEFAULT_ALPS, ...s.alps };
  return { method: s.method, pattern: patternOf(s), alps };
}

export function calibrationSettings(s: Settings): CalibrationSettings {
  return { text: s.calSource === 'custom' && s.calText.trim() ? s.calText : undefined, nsamples: s.nsamples, seqlen: s.seqlen, seed: s.seed };
}

// ---------------------------------------------------------------- URL query string

const NUMBER_KEYS: [keyof Settings, string][] = [
  ['sparsity', 'sparsity'],
  ['nsamples', 'samples'],
  ['seqlen', 'seqlen'],
  ['seed', 'seed'],
  ['evalSeqlen', 'evalSeqlen'],
  ['evalMaxTokens', 'evalTokens'],
  ['genTokens', 'genTokens'],
];
const MIN_COUNT: Partial<Record<keyof Settings, number>> = { nsamples: 1, seqlen: 2, seed: 0, evalSeqlen: 2, evalMaxTokens: 2, genTokens: 1 };
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
  if (method && (METHODS as readonly string[]).includes(method)) out.method = method as Method;
  const pattern = q.get('pattern');
  if (pattern === 'unstructured' || pattern === '2:4' || pattern === '4:8') out.patternKind = pattern;
  for (const [key, name] of NUMBER_KEYS) {
    const v = finite(q.get(name));
    if (v === null) continue;
    // Everything but the sparsity is a count: a whole number, at least its minimum.
    (out as Record<string, number>)[key] = key === 'sparsity' ? Math.min(0.99, Math.max(0, v)) : Math.max(MIN_COUNT[key] ?? 0, Math.round(v));
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
}));
