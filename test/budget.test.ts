/**
 * Non-uniform sparsity at an exact overall budget (src/shared/budget.ts): under OWL and under
 * per-layer budgets the weights pruned over all layers equal the uniform target's exactly, counted
 * the way the solvers count them (keptCount for the whole-layer methods, floor(n·s) per row for
 * Wanda); OWL's block sparsities stay within ±λ; bad --layer-sparsity is one clear line; and a whole
 * stories260K run at 70 % through the CLI keeps exactly the uniform count.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  globMatches,
  owlBlockSparsities,
  outlierRatio,
  parseLayerRules,
  planSparsities,
  uniformPruned,
  keptWeights,
  layerMapProfile,
  prunedWeights,
  type BudgetLayer,
  type Granularity,
  type SparsityProfile,
} from '../src/shared/budget';
import { parseProfile } from '../src/cli/options';
import { runDifference, type RunIdentity } from '../src/pipeline/checkpoint';
import { keptCount } from '../src/shared/pattern';
import { DEFAULT_SETTINGS, pruneSettings, settingsFromQuery, settingsToQuery } from '../src/ui/stores/settings';
import { cli, ROOT } from './helpers/cli';
import { barsPath, blockSeparators, pointAt } from '../src/ui/budget/chart';
import { useBudget } from '../src/ui/stores/budget';

/** Seeded LCG, so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Weights the solvers prune at sparsity s: whole-layer count, or floor(n·s) in each of the m rows. */
function pruned(l: BudgetLayer, s: number, g: Granularity): number {
  return g === 'row' ? l.m * Math.floor(l.n * s) : l.m * l.n - keptCount({ kind: 'unstructured', sparsity: s }, l.m, l.n);
}

/** A model-like list of blocks: the same few shapes in every block (d, kv width, MLP width), some 1-wide. */
function randomModel(r: () => number): BudgetLayer[] {
  const d = 1 + Math.floor(r() * 90);
  const kv = 1 + Math.floor(r() * d);
  const ff = 1 + Math.floor(r() * 200);
  const blocks = 1 + Math.floor(r() * 7);
  const shapes: [string, number, number][] = [
    ['self_attn.q_proj', d, d],
    ['self_attn.k_proj', kv, d],
    ['self_attn.v_proj', kv, d],
    ['self_attn.o_proj', d, d],
    ['mlp.gate_proj', ff, d],
    ['mlp.up_proj', ff, d],
    ['mlp.down_proj', d, ff],
  ];
  return Array.from({ length: blocks }, (_, b) => shapes.map(([name, m, n]) => ({ id: `model.layers.${b}.${name}`, block: b, m, n }))).flat();
}

describe('exact overall budget', () => {
  it('OWL prunes exactly the uniform count, within ±λ, on random shapes and targets', () => {
    const r = rng(13);
    for (let trial = 0; trial < 120; trial++) {
      const layers = randomModel(r);
      const s = 0.05 + 0.9 * r();
      const lambda = r() * 0.15;
      const g: Granularity = trial % 2 ? 'row' : 'layer';
      const blocks = 1 + layers[layers.length - 1].block;
      const ratios = Array.from({ length: blocks }, () => r() * 0.02);
      const sparsities = planSparsities(layers, s, { kind: 'owl', m: 5, lambda }, g, ratios);
      const total = layers.reduce((a, l, i) => a + pruned(l, sparsities[i], g), 0);
      expect(total, `trial ${trial}`).toBe(uniformPruned(layers, s, g));
      expect(total).toBe(layers.reduce((a, l) => a + pruned(l, s, g), 0));
      sparsities.forEach((x, i) => {
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThan(1);
        // Within ±λ, or at the uniform count where rounding puts that a hair outside a band with no integer.
        const size = layers[i].m * layers[i].n;
        const achieved = pruned(layers[i], x, g) / size;
        const uniform = pruned(layers[i], s, g) / size;
        expect(achieved).toBeGreaterThanOrEqual(Math.min(s - lambda, uniform) - 1e-9);
        expect(achieved).toBeLessThanOrEqual(Math.max(s + lambda, uniform) + 1e-9);
      });
    }
  });

  it('per-layer budgets with --exact-total prune exactly the uniform count; without, each layer takes its rule', () => {
    const r = rng(7);
    const rules = parseLayerRules('self_attn.*=0.5,mlp.*=0.75');
    for (let trial = 0; trial < 60; trial++) {
      const layers = randomModel(r);
      const s = 0.1 + 0.8 * r();
      const g: Granularity = trial % 2 ? 'row' : 'layer';
      const exact = planSparsities(layers, s, { kind: 'layers', rules, exact: true }, g);
      expect(layers.reduce((a, l, i) => a + pruned(l, exact[i], g), 0), `trial ${trial}`).toBe(uniformPruned(layers, s, g));
      exact.forEach((x) => expect(x >= 0 && x < 1).toBe(true));
      const given = planSparsities(layers, s, { kind: 'layers', rules, exact: false }, g);
      layers.forEach((l, i) => expect(given[i]).toBe(l.id.includes('self_attn') ? 0.5 : 0.75));
    }
  });

  it('maps outlier ratios linearly onto [s − λ, s + λ], more outliers pruned less', () => {
    expect(owlBlockSparsities([0.01, 0.03, 0.02], 0.7, 0.08).map((x) => +x.toFixed(12))).toEqual([0.78, 0.62, 0.7]);
    expect(owlBlockSparsities([0.02, 0.02], 0.7, 0.08)).toEqual([0.7, 0.7]);
    // One linear, scores 1,1,1,1,10 (mean 2.8): one outlier above 3 × mean? 10 > 8.4, yes.
    const ratio = outlierRatio([{ weight: new Float32Array([1, 1, 1, 1, 10]), n: 5, gramDiag: new Float32Array([1, 1, 1, 1, 1]) }], 3);
    expect(ratio).toBeCloseTo(0.2, 12);
    // ‖X_j‖ = √G_jj weighs the columns: column 0 dead, so its large weight is no outlier.
    expect(outlierRatio([{ weight: new Float32Array([10, 1, 1, 1]), n: 4, gramDiag: new Float32Array([0, 1, 1, 1]) }], 2)).toBe(0);
  });
});

describe('--layer-sparsity and --sparsity-profile parsing', () => {
  it('first match wins; a glob matches the whole name or a dot-separated tail', () => {
    const rules = parseLayerRules('layers.0.*=0.2, q_proj=50%, self_attn.*=0.5');
    expect(rules).toEqual([
      { glob: 'layers.0.*', sparsity: 0.2 },
      { glob: 'q_proj', sparsity: 0.5 },
      { glob: 'self_attn.*', sparsity: 0.5 },
    ]);
    expect(globMatches('mlp.*', 'model.layers.3.mlp.up_proj')).toBe(true);
    expect(globMatches('q_proj', 'model.layers.3.self_attn.q_proj')).toBe(true);
    expect(globMatches('proj', 'model.layers.3.self_attn.q_proj')).toBe(false);
    expect(planSparsities([{ id: 'model.layers.0.self_attn.q_proj', block: 0, m: 4, n: 4 }], 0.7, { kind: 'layers', rules, exact: false }, 'layer')).toEqual([0.2]);
  });

  it('refuses bad input with one clear line', () => {
    const bad: [string, RegExp][] = [
      ['self_attn.*', /is not glob=sparsity/],
      ['=0.5', /is not glob=sparsity/],
      ['mlp.*=1', /must be a number in \[0, 1\)/],
      ['mlp.*=abc', /must be a number in \[0, 1\)/],
      ['mlp.*=-0.1', /must be a number in \[0, 1\)/],
      ['ml(p)=0.5', /may hold only letters/],
      [' , ', /is empty/],
    ];
    for (const [text, message] of bad) {
      expect(() => parseLayerRules(text), text).toThrowError(message);
      try {
        parseLayerRules(text);
      } catch (error) {
        expect((error as Error).message).not.toContain('\n');
      }
    }
    const unstructured = { kind: 'unstructured', sparsity: 0.7 } as const;
    expect(() => parseProfile({ 'sparsity-profile': 'owl' }, { kind: 'nm', n: 2, m: 4 })).toThrowError(/needs --sparsity \(unstructured\)/);
    expect(() => parseProfile({ 'sparsity-profile': 'owls' }, unstructured)).toThrowError(/is not one of uniform, owl/);
    expect(() => parseProfile({ 'owl-m': '5' }, unstructured)).toThrowError(/--owl-m needs --sparsity-profile owl/);
    expect(() => parseProfile({ 'sparsity-profile': 'owl', 'owl-lambda': '1.5' }, unstructured)).toThrowError(/--owl-lambda 1.5 must be/);
    expect(() => parseProfile({ 'sparsity-profile': 'owl', 'layer-sparsity': 'mlp.*=0.5' }, unstructured)).toThrowError(/not both/);
    expect(() => parseProfile({ 'layer-sparsity': 'mlp.*' }, unstructured)).toThrowError(/is not glob=sparsity/);
    expect(() => parseProfile({ 'exact-total': true }, unstructured)).toThrowError(/--exact-total needs --layer-sparsity/);
    expect(parseProfile({ 'sparsity-profile': 'owl', 'owl-m': '7' }, unstructured)).toEqual<SparsityProfile>({ kind: 'owl', m: 7, lambda: 0.08 });
  });
});

describe('studio settings', () => {
  it('the profile travels in the URL and reaches whole-model runs only with an unstructured target', () => {
    expect(settingsFromQuery('?profile=owl')).toEqual({ profile: 'owl' });
    expect(settingsFromQuery('?profile=owls')).toEqual({});
    expect(settingsToQuery({ ...DEFAULT_SETTINGS, profile: 'owl' })).toBe('?profile=owl');
    expect(pruneSettings({ ...DEFAULT_SETTINGS, profile: 'owl' }, 'wanda').profile).toEqual({ kind: 'owl', m: 5, lambda: 0.08 });
    expect(pruneSettings({ ...DEFAULT_SETTINGS, profile: 'owl', patternKind: '2:4' }, 'wanda').profile).toBeUndefined();
    expect(pruneSettings(DEFAULT_SETTINGS, 'wanda').profile).toBeUndefined();
  });
});

describe('resume checkpoint identity', () => {
  it('a checkpoint of another profile is refused, naming the flag; a uniform one matches older checkpoints', () => {
    const base = { model: {}, method: 'wanda', pattern: { kind: 'unstructured', sparsity: 0.7 }, options: {}, calibration: {} } as unknown as RunIdentity;
    const owl: RunIdentity = { ...base, profile: { kind: 'owl', m: 5, lambda: 0.08 } };
    expect(runDifference(base, owl)).toBe('--sparsity-profile/--layer-sparsity (uniform there, owl (M 5, λ 0.08) here)');
    expect(runDifference(owl, { ...base, profile: { kind: 'owl', m: 5, lambda: 0.1 } })).toMatch(/λ 0.08\) there, owl \(M 5, λ 0.1\) here/);
    expect(runDifference(base, { ...base })).toBeNull();
  });
});

describe('studio budget editor', () => {
  it('a per-layer map is a layers profile of exact names; its kept count is exact with the exact total', () => {
    const r = rng(7);
    for (let trial = 0; trial < 20; trial++) {
      const layers = randomModel(r);
      const g: Granularity = trial % 2 ? 'row' : 'layer';
      const s = 0.3 + r() * 0.5;
      const map: Record<string, number> = {};
      for (const l of layers) if (r() < 0.4) map[l.id] = Math.floor(r() * 95) / 100;
      const size = layers.reduce((a, l) => a + l.m * l.n, 0);
      const exact = planSparsities(layers, s, layerMapProfile(map, true), g);
      expect(keptWeights(layers, exact, g)).toBe(size - uniformPruned(layers, s, g));
      const loose = planSparsities(layers, s, layerMapProfile(map, false), g);
      layers.forEach((l, i) => expect(loose[i]).toBe(map[l.id] ?? s));
      layers.forEach((l, i) => expect(prunedWeights(l, loose[i], g)).toBe(pruned(l, loose[i], g)));
    }
    // "model.layers.1.…" must not also match block 11.
    const eleven = [1, 11].map((b) => ({ id: `model.layers.${b}.mlp.up_proj`, block: b, m: 4, n: 4 }));
    expect(planSparsities(eleven, 0.5, layerMapProfile({ 'model.layers.1.mlp.up_proj': 0.25 }, false), 'layer')).toEqual([0.25, 0.5]);
    expect(layerMapProfile({}, true)).toEqual({ kind: 'uniform' });
  });

  it('the custom profile sends the editor\'s map to whole-model runs; nothing edited is uniform', () => {
    useBudget.getState().replace({}, 'uniform');
    expect(pruneSettings({ ...DEFAULT_SETTINGS, profile: 'custom' }, 'magnitude').profile).toBeUndefined();
    useBudget.getState().setLayer('model.layers.0.mlp.up_proj', 0.3);
    expect(pruneSettings({ ...DEFAULT_SETTINGS, profile: 'custom' }, 'magnitude').profile).toEqual({ kind: 'layers', rules: [{ glob: 'model.layers.0.mlp.up_proj', sparsity: 0.3 }], exact: true });
    expect(pruneSettings({ ...DEFAULT_SETTINGS, profile: 'custom', patternKind: '2:4' }, 'magnitude').profile).toBeUndefined();
    expect(settingsFromQuery('?profile=custom').profile).toBe('custom');
    useBudget.getState().replace({}, 'uniform');
  });

  it('an edited budget is part of the run identity; the same budget edited in another order is the same run', () => {
    const base = { model: {}, method: 'magnitude', pattern: { kind: 'unstructured', sparsity: 0.7 }, options: {}, calibration: {} } as unknown as RunIdentity;
    const a: RunIdentity = { ...base, profile: layerMapProfile({ 'model.layers.1.mlp.up_proj': 0.5, 'model.layers.0.mlp.up_proj': 0.6 }, true) };
    const b: RunIdentity = { ...base, profile: layerMapProfile({ 'model.layers.0.mlp.up_proj': 0.6, 'model.layers.1.mlp.up_proj': 0.5 }, true) };
    expect(runDifference(a, b)).toBeNull();
    expect(runDifference(a, { ...base, profile: layerMapProfile({ 'model.layers.0.mlp.up_proj': 0.6 }, true) })).toMatch(/^--sparsity-profile\/--layer-sparsity/);
    expect(runDifference(base, a)).toMatch(/uniform there/);
  });

  it('chart geometry: one bar per layer in one path, separators between blocks, pointer to layer and sparsity', () => {
    expect(barsPath([0.5, 1], 100, 10)).toBe('M0.00 10V5.00h49.00V10ZM50.00 10V0.00h49.00V10Z');
    expect(barsPath([2], 1, 10)).toBe('M0.00 10V0.00h1.00V10Z');
    expect(blockSeparators([0, 0, 1, 1, 2], 50, 10)).toBe('M20.00 0V10M40.00 0V10');
    expect(pointAt(0, 0, 5)).toEqual({ index: 0, sparsity: 0.99 });
    expect(pointAt(0.999, 1, 5)).toEqual({ index: 4, sparsity: 0 });
    expect(pointAt(1.5, 0.3, 5)).toEqual({ index: 4, sparsity: 0.7 });
    expect(pointAt(-1, 0.5, 3)).toEqual({ index: 0, sparsity: 0.5 });
  });
});

const MODEL = resolve(ROOT, '../shared/models/stories260K');
const TEXT = resolve(ROOT, '../shared/data/tinystories-val.txt');
const present = existsSync(join(MODEL, 'model.safetensors')) && existsSync(TEXT);

describe.skipIf(!present)('whole-model run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prune-studio-budget-'));
  beforeAll(() => writeFileSync(join(dir, 'calib.txt'), readFileSync(TEXT, 'utf8').slice(0, 60_000)));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stories260K at 70 % under OWL keeps exactly the uniform count (CLI report and prune_report.json)', async () => {
    const out = join(dir, 'owl');
    const run = await cli(['prune', MODEL, '--calib', join(dir, 'calib.txt'), '--method', 'magnitude', '--sparsity', '0.7', '--sparsity-profile', 'owl', '--nsamples', '4', '--seqlen', '64', '--out', out, '--json', '--quiet'], 300_000);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout.trimEnd().split('\n').pop()!) as { profile: string; layers: { shape: [number, number]; nnz: number; sparsity: number }[] };
    expect(report.profile).toBe('owl (M 5, λ 0.08)');
    const uniformKept = report.layers.reduce((a, l) => a + keptCount({ kind: 'unstructured', sparsity: 0.7 }, l.shape[0], l.shape[1]), 0);
    expect(report.layers.reduce((a, l) => a + l.nnz, 0)).toBe(uniformKept);
    // Not uniform: the blocks differ, each within ±λ.
    expect(new Set(report.layers.map((l) => l.sparsity.toFixed(3))).size).toBeGreaterThan(1);
    for (const l of report.layers) expect(Math.abs(l.sparsity - 0.7)).toBeLessThanOrEqual(0.08 + 1e-9);
    const saved = JSON.parse(readFileSync(join(out, 'prune_report.json'), 'utf8')) as { layers: { nnz: number }[] };
    expect(saved.layers.reduce((a, l) => a + l.nnz, 0)).toBe(uniformKept);
  }, 300_000);

  it('stories260K at 70 % with per-role budgets and --exact-total keeps exactly Wanda\'s uniform count (per-row counts)', async () => {
    const out = join(dir, 'roles');
    const args = ['--method', 'wanda', '--sparsity', '0.7', '--layer-sparsity', 'self_attn.*=0.5,mlp.*=0.75', '--exact-total', '--nsamples', '4', '--seqlen', '64'];
    const run = await cli(['prune', MODEL, '--calib', join(dir, 'calib.txt'), ...args, '--out', out, '--json', '--quiet'], 300_000);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout.trimEnd().split('\n').pop()!) as { layers: { id: string; shape: [number, number]; nnz: number; sparsity: number }[] };
    const uniformKept = report.layers.reduce((a, { shape: [m, n] }) => a + m * (n - Math.floor(n * 0.7)), 0);
    expect(report.layers.reduce((a, l) => a + l.nnz, 0)).toBe(uniformKept);
    // The roles keep their order after the one shift: attention pruned less than the MLP.
    const mean = (role: string) => report.layers.filter((l) => l.id.includes(role)).reduce((a, l, _, all) => a + l.sparsity / all.length, 0);
    expect(mean('self_attn')).toBeLessThan(mean('mlp'));
  }, 300_000);
});
